/**
 * Where the server's time goes during intake: runs the real server with --cpu-prof, posts
 * contacts (half repeats) at N clients for a few seconds, stops it, and prints the CPU profile's
 * self time by package and by function. Not part of `npm run bench`; a tool for finding the
 * next optimisation.
 *
 *   node bench/profile-intake.ts [--engine=postgres|pglite] [--clients=16] [--seconds=10]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDatabase } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { createTenant, createToken } from '../server/modules/tenants/tenants.service.ts';
import { startServerProcess } from '../tests/support/server-process.ts';
import { createClient } from './lib/http.ts';
import { measure } from './lib/measure.ts';
import { messageBody } from './lib/raw-append.ts';
import { benchDatabase, type Engine, fmt } from './lib/setup.ts';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'postgres' },
    clients: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    top: { type: 'string', default: '25' },
    /** Copy the .cpuprofile here (open it in Chrome DevTools → Performance). */
    save: { type: 'string' },
  },
});
const engine = values.engine as Engine;
const bdb = await benchDatabase(engine, 'profile');
const profileDir = path.join(bdb.dataDir, 'profile');
try {
  const database = await openDatabase({ url: bdb.url, dataDir: bdb.url ? null : bdb.dataDir });
  await migrate(database);
  const tenant = await createTenant(database.db, { slug: 'profile', name: 'Profile' });
  const token = await createToken(database.db, tenant.id, { name: 'profile', role: 'admin' });
  await database.close();

  const server = await startServerProcess({
    databaseUrl: bdb.url,
    dataDir: bdb.dataDir,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  });
  const clients = Number(values.clients);
  const client = createClient(server.url, clients);
  const known: string[] = [];
  let fresh = 0;
  const waits = bdb.url ? sampleWaits(bdb.url) : null;
  const result = await measure({
    concurrency: clients,
    warmupMs: 1000,
    durationMs: Number(values.seconds) * 1000,
    op: async () => {
      const repeat = known.length > 0 && Math.random() < 0.5;
      const identity = repeat
        ? known[Math.floor(Math.random() * known.length)]!
        : `p${fresh++}@bench.example`;
      const res = await client.request(
        'POST',
        '/api/v1/contacts',
        { authorization: `Bearer ${token.secret}` },
        JSON.stringify({ channel: 'email', from: { identity }, text: messageBody() }),
      );
      if (res.status !== 201) throw new Error(`${res.status} ${res.body}`);
      if (!repeat) known.push(identity);
    },
  });
  client.close();
  const waitReport = await waits?.stop();
  await server.stop();
  console.log(
    `${engine}, ${clients} clients: ${fmt.int(result.throughput)} contacts/s, p50 ${fmt.ms(result.p50)} ms, p99 ${fmt.ms(result.p99)} ms`,
  );
  const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('the server wrote no CPU profile');
  if (values.save) fs.copyFileSync(path.join(profileDir, file), values.save);
  report(JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')), Number(values.top));
  if (waitReport) console.log(`\n${waitReport}`);
} finally {
  await bdb.dispose();
}

/**
 * Samples what the server's PostgreSQL sessions are doing every 5 ms (pg_stat_activity): running,
 * waiting on a lock (and in which statement), waiting for the client, or flushing WAL.
 */
function sampleWaits(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await pool.query<{ what: string }>(
        `select case when state = 'active' then coalesce(wait_event_type || ':' || wait_event, 'on CPU')
                     else state || coalesce(' (' || wait_event || ')', '') end
                || ' | ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as what
         from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
      );
      samples++;
      for (const r of rows) counts.set(r.what, (counts.get(r.what) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await pool.end();
      const lines = [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25)
        .map(([what, n]) => `  ${(n / samples).toFixed(2).padStart(6)}  ${what}`);
      return `PostgreSQL sessions by state (average number of sessions, ${samples} samples):\n${lines.join('\n')}`;
    },
  };
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function report(profile: Profile, top: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const where = frame.url.replace(/^file:\/\//, '');
    const pkg =
      where.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ??
      (where.includes('/work/') || where.startsWith('/')
        ? path.relative(process.cwd(), where).split('/').slice(0, 2).join('/')
        : '') ??
      '';
    const label = frame.functionName || '(anonymous)';
    const pkgLabel = pkg || (label.startsWith('(') ? label : `node:${label}`);
    byPackage.set(pkgLabel, (byPackage.get(pkgLabel) ?? 0) + us);
    const fn = `${label} ${pkg ? `${where.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  });
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title} (share of ${(total / 1e6).toFixed(1)} s sampled):`);
    for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
    }
  };
  print('Self time by package', byPackage);
  print('Self time by function', byFunction);
}
