/**
 * Intake throughput: contacts per second through POST /api/v1/contacts over real HTTP, at 1 and
 * 16 concurrent clients, half of them from new customers and half repeats from earlier ones, on
 * the real server process (`node server/main.ts`). Beside each cell, the raw baseline measured in
 * the same run: one INSERT + one UPDATE per transaction through the same driver; and that
 * transaction padded with trivial statements to the intake's statement count, which separates
 * what the round trips cost from what the work costs. A cell's time is split into slices in which
 * the three take turns (raw, padded, app, raw, …), so a machine that speeds up or slows down
 * during the run (a VM's neighbours) moves all three alike and their ratio holds.
 *
 *   npm run bench -- contacts [--engines=pglite,postgres] [--seconds=10] [--warmup=2] [--slices=4]
 *                             [--clients=1,16]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../server/app.ts';
import { openDatabase } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { createTenant, createToken } from '../server/modules/tenants/tenants.service.ts';
import { startServerProcess } from '../tests/support/server-process.ts';
import { createClient } from './lib/http.ts';
import { combine, type Measurement, measure, otherCpu, postgresPids } from './lib/measure.ts';
import { messageBody, rawAppendPglite, rawAppendPostgres } from './lib/raw-append.ts';
import { roundTrips } from './lib/round-trips.ts';
import { benchDatabase, benchOptions, type Engine, fmt, serverVersion, table } from './lib/setup.ts';

const options = benchOptions({ seconds: 10, warmup: 2 });
const own = parseArgs({
  options: { slices: { type: 'string', default: '4' }, clients: { type: 'string', default: '1,16' } },
  strict: false,
}).values;
const SLICES = Number(own.slices);
/** Concurrent clients of each cell; the targets are read at 16. */
const CLIENTS = String(own.clients).split(',').map(Number);
/** Before every slice but the first of each kind: the pool and the caches settle after a switch. */
const SLICE_WARMUP_MS = 500;
/** openDatabase's default pool size, which `npm start` uses; the raw pool gets the same. */
const POOL_SIZE = 20;
/** Targets from the issue, on PostgreSQL at 16 clients. */
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 25;

interface Cell {
  engine: Engine;
  clients: number;
  app: Measurement;
  raw: Measurement;
  /** The raw transaction padded to the intake's statement count. */
  padded: Measurement;
  /** Contacts per intake batch (one transaction each) in the app's cell, from /metrics. */
  perBatch: number;
}

/** Statements per contact when PostgreSQL is not part of the run (the last count measured). */
let intakeStatements = 12;

async function arrange(url: string | null, dataDir: string) {
  const database = await openDatabase({ url, dataDir: url ? null : dataDir });
  try {
    await migrate(database);
    const tenant = await createTenant(database.db, {
      slug: `bench-${Date.now().toString(36)}`,
      name: 'Bench Broadband',
    });
    const token = await createToken(database.db, tenant.id, { name: 'bench intake', role: 'admin' });
    return { authorization: `Bearer ${token.secret}` };
  } finally {
    await database.close();
  }
}

/** Statements per contact, counted in-process on the `pg` driver before the load starts. */
async function profileRoundTrips(url: string) {
  const database = await openDatabase({ url, poolSize: 4 });
  try {
    await migrate(database);
    const tenant = await createTenant(database.db, {
      slug: `profile-${Date.now().toString(36)}`,
      name: 'Profile',
    });
    const token = await createToken(database.db, tenant.id, { name: 'profile', role: 'admin' });
    const app = await buildApp({ database, secret: 'x'.repeat(32), webRoot: '/nonexistent' });
    await app.ready();
    const post =
      (identity: string, extra: object = {}) =>
      () =>
        app.inject({
          method: 'POST',
          url: '/api/v1/contacts',
          headers: { authorization: `Bearer ${token.secret}` },
          payload: { channel: 'email', from: { identity }, text: messageBody(), ...extra },
        });
    // The first request of a token also stamps its last use; warm that up first.
    await post('warm@example.com')();
    const fresh = await roundTrips(post('first@example.com'));
    const repeat = await roundTrips(post('first@example.com'));
    const withId = await roundTrips(post('second@example.com', { externalId: 'msg-1' }));
    await app.close();
    return { fresh, repeat, withId };
  } finally {
    await database.close();
  }
}

/** The intake's batch histogram so far (rapport_intake_batch_size on /metrics). */
async function batches(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: value('rapport_intake_batch_size_sum'), count: value('rapport_intake_batch_size_count') };
}

async function runEngine(engine: Engine): Promise<Cell[]> {
  const bdb = await benchDatabase(engine, 'contacts');
  const rawDb = await benchDatabase('pglite', 'contacts-raw');
  const cells: Cell[] = [];
  let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
  let raw: Awaited<ReturnType<typeof rawAppendPostgres>> | null = null;
  try {
    const { authorization } = await arrange(bdb.url, bdb.dataDir);
    raw = bdb.url
      ? await rawAppendPostgres(bdb.url, POOL_SIZE)
      : await rawAppendPglite(path.join(rawDb.dataDir, 'pg'));
    server = await startServerProcess({ databaseUrl: bdb.url, dataDir: bdb.dataDir });
    const serverPid = server.child.pid!;
    const client = createClient(server.url, Math.max(...CLIENTS));
    const watch = () => ({
      server: [serverPid],
      bench: [process.pid],
      ...(engine === 'postgres' ? { postgres: postgresPids() } : {}),
    });

    const known: string[] = [];
    let fresh = 0;
    const run = Date.now().toString(36);
    const postContact = async () => {
      const repeat = known.length > 0 && Math.random() < 0.5;
      const identity = repeat
        ? known[Math.floor(Math.random() * known.length)]!
        : `c${fresh++}.${run}@bench.example`;
      const res = await client.request(
        'POST',
        '/api/v1/contacts',
        { authorization },
        JSON.stringify({ channel: 'email', from: { identity }, text: messageBody() }),
      );
      if (res.status !== 201) throw new Error(`${res.status} ${res.body.slice(0, 300)}`);
      if (!repeat) known.push(identity);
    };

    const padded = raw.padded;
    for (const clients of CLIENTS) {
      const kinds = {
        raw: { op: raw.op, slices: [] as Measurement[], latencies: [] as number[] },
        padded: {
          op: () => padded(intakeStatements),
          slices: [] as Measurement[],
          latencies: [] as number[],
        },
        app: { op: postContact, slices: [] as Measurement[], latencies: [] as number[] },
      };
      const batched = { sum: 0, count: 0 };
      for (let slice = 0; slice < SLICES; slice++) {
        for (const [kind, k] of Object.entries(kinds)) {
          const before = kind === 'app' ? await batches(server.url) : null;
          const m = await measure({
            concurrency: clients,
            warmupMs: slice === 0 ? options.warmupMs : SLICE_WARMUP_MS,
            durationMs: options.durationMs / SLICES,
            watch,
            op: k.op,
            latencies: k.latencies,
          });
          k.slices.push(m);
          if (before) {
            const after = await batches(server.url);
            batched.sum += after.sum - before.sum;
            batched.count += after.count - before.count;
          }
        }
      }
      const [rawResult, paddedResult, appResult] = [kinds.raw, kinds.padded, kinds.app].map((k) =>
        combine(k.slices, k.latencies),
      ) as [Measurement, Measurement, Measurement];
      const perBatch = batched.sum / Math.max(batched.count, 1);
      cells.push({ engine, clients, app: appResult, raw: rawResult, padded: paddedResult, perBatch });
      console.log(
        `${engine} ${clients} client(s): app ${fmt.int(appResult.throughput)}/s p99 ${fmt.ms(appResult.p99)} ms` +
          `, raw ${fmt.int(rawResult.throughput)}/s p99 ${fmt.ms(rawResult.p99)} ms` +
          `, padded ${fmt.int(paddedResult.throughput)}/s p99 ${fmt.ms(paddedResult.p99)} ms` +
          `, ${perBatch.toFixed(1)} contacts per batch` +
          (appResult.errors ? `, ${appResult.errors} errors: ${appResult.firstError}` : ''),
      );
    }
    client.close();
    const code = await server.stop();
    if (code !== 0) console.log(`server exited with ${code}:\n${server.output()}`);
    server = null;
  } finally {
    if (server) await server.kill9();
    await raw?.close();
    await bdb.dispose();
    await rawDb.dispose();
  }
  return cells;
}

const started = Date.now();
const versions: string[] = [`Node ${process.version}`];
const cells: Cell[] = [];
if (options.engines.includes('postgres')) {
  const probe = await benchDatabase('postgres', 'probe');
  try {
    versions.push(`PostgreSQL ${await serverVersion(probe.url!)}`);
    const trips = await profileRoundTrips(probe.url!);
    intakeStatements = Math.round((trips.fresh.request + trips.repeat.request) / 2);
    console.log(
      `\nSQL statements per contact (counted on the pg driver): new customer ${trips.fresh.request}` +
        `, repeat ${trips.repeat.request}, new with externalId ${trips.withId.request}`,
    );
    console.log(`Statements of a new-customer contact:\n  ${trips.fresh.statements.join('\n  ')}`);
    console.log(`Statements of a repeat contact:\n  ${trips.repeat.statements.join('\n  ')}`);
  } finally {
    await probe.dispose();
  }
}
for (const engine of options.engines) cells.push(...(await runEngine(engine)));

console.log(
  `\n## Intake: POST /api/v1/contacts (${options.durationMs / 1000} s per cell in ${SLICES} slices taking turns, after ${options.warmupMs / 1000} s warm-up; ${versions.join(', ')})\n`,
);
console.log(
  table(
    [
      'engine',
      'clients',
      'app contacts/s',
      'raw txn/s',
      'app / raw',
      `raw padded to ${intakeStatements} statements, txn/s`,
      'app / padded',
      'app p50 ms',
      'app p99 ms',
      'raw p50 ms',
      'raw p99 ms',
      'contacts per batch',
      'errors',
      'app CPU cores: server / bench / postgres / other',
    ],
    cells.map((c) => [
      c.engine,
      c.clients,
      fmt.int(c.app.throughput),
      fmt.int(c.raw.throughput),
      fmt.ratio(c.app.throughput / c.raw.throughput),
      fmt.int(c.padded.throughput),
      fmt.ratio(c.app.throughput / c.padded.throughput),
      fmt.ms(c.app.p50),
      fmt.ms(c.app.p99),
      fmt.ms(c.raw.p50),
      fmt.ms(c.raw.p99),
      c.perBatch.toFixed(1),
      c.app.errors,
      `${fmt.cores(c.app.cpu?.server)} / ${fmt.cores(c.app.cpu?.bench)} / ${fmt.cores(c.app.cpu?.postgres)} / ${fmt.cores(otherCpu(c.app))}`,
    ]),
  ),
);
const target = cells.find((c) => c.engine === 'postgres' && c.clients === 16);
if (target) {
  const ratio = target.app.throughput / target.raw.throughput;
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  console.log(
    `\nTargets on PostgreSQL at 16 clients: app/raw ${fmt.ratio(ratio)} (≥ ${TARGET_RATIO}×: ${verdict(ratio >= TARGET_RATIO)}), ` +
      `p99 ${fmt.ms(target.app.p99)} ms (< ${TARGET_P99_MS} ms: ${verdict(target.app.p99 < TARGET_P99_MS)})`,
  );
}
console.log(`\nJSON ${JSON.stringify(cells)}`);
console.log(`contacts bench took ${Math.round((Date.now() - started) / 1000)} s`);
