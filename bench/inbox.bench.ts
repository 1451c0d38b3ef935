/**
 * Inbox reads at size: 100,000 cases in one tenant, then p50/p99 of the inbox list queries and
 * the badge counts over HTTP (the real server process, signed in as an agent), beside the same
 * SQL run raw through the driver on the same data in the same run.
 *
 *   npm run bench -- inbox [--engines=pglite,postgres] [--seconds=3] [--warmup=1] [--cases=100000]
 */
import { parseArgs } from 'node:util';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type Database, openDatabase, rows, sql } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { badgesQuery } from '../server/modules/cases/cases.counters.ts';
import { buildListCasesQuery, type ListFilter } from '../server/modules/cases/cases.queries.ts';
import { createTeam, createTenant, createUser } from '../server/modules/tenants/tenants.service.ts';
import { startServerProcess } from '../tests/support/server-process.ts';
import { createClient } from './lib/http.ts';
import { type Measurement, measure, otherCpu, postgresPids } from './lib/measure.ts';
import { benchDatabase, type Engine, fmt, serverVersion, table } from './lib/setup.ts';

const { values } = parseArgs({
  options: {
    engines: { type: 'string', default: 'pglite,postgres' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    cases: { type: 'string', default: '100000' },
  },
  strict: false,
});
const engines = String(values.engines).split(',') as Engine[];
const durationMs = Number(values.seconds) * 1000;
const warmupMs = Number(values.warmup) * 1000;
const CASES = Number(values.cases);
/** One agent alone; a few at once; saturation (closed loop: p50 ≈ clients / throughput). */
const CLIENTS = [1, 4, 16];
const TARGET_P99_MS = 30;
const PASSWORD = 'bench-password-123';

interface World {
  tenantId: string;
  slug: string;
  agent: { id: string; email: string };
  teamIds: string[];
  loadSeconds: number;
}

/** Staff and teams through the services; the 100k cases straight in with generate_series. */
async function populate(database: Database): Promise<World> {
  const { db } = database;
  const slug = `inbox-${Date.now().toString(36)}`;
  const tenant = await createTenant(db, { slug, name: 'Inbox Bench Broadband' });
  const teamIds: string[] = [];
  for (const name of ['Broadband', 'Billing', 'Engineering', 'Moves']) {
    teamIds.push((await createTeam(db, tenant.id, name)).id);
  }
  const agent = await createUser(db, tenant.id, {
    email: 'agent@bench.example',
    displayName: 'Bench Agent',
    role: 'agent',
    password: PASSWORD,
    teamIds: [teamIds[0]!],
  });
  const ownerIds = [agent.id];
  for (let i = 1; i < 20; i++) {
    const u = await createUser(db, tenant.id, {
      email: `agent${i}@bench.example`,
      displayName: `Agent ${i}`,
      role: 'agent',
    });
    ownerIds.push(u.id);
  }
  const uuids = (ids: string[]) => sql.raw(`array[${ids.map((id) => `'${id}'`).join(',')}]::uuid[]`);
  const t0 = performance.now();
  const customers = Math.ceil(CASES / 2.5);
  // Customer ids derived from the tenant and g, so cases can point at them without a lookup.
  await db.execute(sql`
    insert into customers (tenant_id, id, name, created_at, updated_at)
    select ${tenant.id}, md5(${tenant.id}::text || g::text)::uuid, 'Customer ' || g, now() - interval '1 year', now() - interval '1 year'
    from generate_series(1, ${customers}) g`);
  // Statuses cycle (60 % active); a quarter unowned; 80 % with a team; activity over 90 days.
  await db.execute(sql`
    insert into cases (tenant_id, number, subject, status, owner_id, team_id, customer_id, channel,
                       contact_count, repeat_contact_count, last_contact_at, created_at, updated_at)
    select ${tenant.id}, 1000 + g, 'Case ' || g,
           (array['new', 'open', 'pending', 'resolved', 'closed'])[1 + g % 5],
           case when g % 4 = 0 then null else (${uuids(ownerIds)})[1 + (g / 4) % ${ownerIds.length}] end,
           case when g % 10 < 8 then (${uuids(teamIds)})[1 + (g / 10) % ${teamIds.length}] end,
           md5(${tenant.id}::text || (1 + g % ${customers})::text)::uuid,
           (array['email', 'chat', 'sms', 'phone', 'portal', 'x'])[1 + g % 6],
           1 + g % 3, g % 3, ts, ts - interval '1 day', ts
    from (select g, now() - random() * interval '90 days' as ts from generate_series(1, ${CASES}) g) s`);
  await db.execute(sql`select setval(case_number_sequence(${tenant.id}), ${1000 + CASES})`);
  // The badge counters the intake maintains, computed once for the bulk-loaded cases.
  const NIL = '00000000-0000-0000-0000-000000000000';
  await db.execute(sql`
    insert into inbox_counters (tenant_id, view, subject_id, shard, count)
    select ${tenant.id}::uuid, 'all', ${NIL}::uuid, 0, count(*) from cases where tenant_id = ${tenant.id} and active
    union all
    select ${tenant.id}::uuid, 'unassigned', ${NIL}::uuid, 0, count(*) from cases
      where tenant_id = ${tenant.id} and active and owner_id is null
    union all
    select ${tenant.id}::uuid, 'owner', owner_id, 0, count(*) from cases
      where tenant_id = ${tenant.id} and active and owner_id is not null group by owner_id
    union all
    select ${tenant.id}::uuid, 'team', team_id, 0, count(*) from cases
      where tenant_id = ${tenant.id} and active and team_id is not null group by team_id`);
  await db.execute(sql`analyze customers`);
  await db.execute(sql`analyze cases`);
  await db.execute(sql`analyze inbox_counters`);
  return {
    tenantId: tenant.id,
    slug,
    agent: { id: agent.id, email: agent.email },
    teamIds,
    loadSeconds: (performance.now() - t0) / 1000,
  };
}

interface Query {
  name: string;
  path: string;
  /** The same SQL the route runs, as text + parameters for the driver. */
  raw: { sql: string; params: unknown[] };
  plan?: string;
}

const dialect = new PgDialect();

async function queries(database: Database, world: World): Promise<Query[]> {
  const { db } = database;
  const list = (name: string, path: string, filter: ListFilter): Query => {
    const q = buildListCasesQuery(db, world.tenantId, filter).toSQL();
    return { name, path, raw: { sql: q.sql, params: q.params } };
  };
  const team = world.teamIds[0]!;
  // The cursor a client holds after the first page of the active list.
  const [last] = await rows<{ updated_at: string | Date; id: string }>(
    db,
    sql`select updated_at, id from cases where tenant_id = ${world.tenantId} and active
        order by updated_at desc nulls last, id desc nulls last offset 49 limit 1`,
  );
  const cursor = Buffer.from(
    JSON.stringify({ u: new Date(last!.updated_at).toISOString(), i: last!.id }),
  ).toString('base64url');
  const badges = dialect.sqlToQuery(badgesQuery(world.tenantId, world.agent.id, [team]));
  return [
    list('all open', '/api/v1/cases?status=active', { status: 'active' }),
    list('mine', `/api/v1/cases?owner=${world.agent.id}&status=active`, {
      status: 'active',
      owner: world.agent.id,
    }),
    list('unassigned', '/api/v1/cases?owner=none&status=active', { status: 'active', owner: null }),
    list('my team', `/api/v1/cases?team=${team}&status=active`, { status: 'active', team }),
    list('all open, page 2', `/api/v1/cases?status=active&cursor=${cursor}`, { status: 'active', cursor }),
    { name: 'badge counts', path: '/api/v1/inbox/counts', raw: { sql: badges.sql, params: badges.params } },
  ];
}

/** "Index Scan cases_active → Limit", and whether any Sort or Seq Scan appears. */
async function planOf(database: Database, q: Query): Promise<string> {
  const result = await runRaw(database, `explain (format json) ${q.raw.sql}`, q.raw.params);
  const cell = (result[0] as Record<string, unknown>)['QUERY PLAN'];
  const plan = (typeof cell === 'string' ? JSON.parse(cell) : cell) as { Plan: PlanNode }[];
  const walk = (n: PlanNode): string[] => [
    ...(n.Plans ?? []).flatMap(walk),
    n['Index Name'] ? `${n['Node Type']} ${n['Index Name']}` : n['Node Type'],
  ];
  return walk(plan[0]!.Plan).join(' → ');
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

async function runRaw(database: Database, text: string, params: unknown[]): Promise<unknown[]> {
  if (database.pglite) return (await database.pglite.query(text, params)).rows;
  return (await database.pool!.query(text, params as unknown[])).rows;
}

interface Row {
  engine: Engine;
  query: string;
  clients: number;
  app: Measurement;
  raw: Measurement;
  plan: string;
}

async function runEngine(engine: Engine): Promise<{ rows: Row[]; loadSeconds: number }> {
  const bdb = await benchDatabase(engine, 'inbox');
  const out: Row[] = [];
  try {
    const database = await openDatabase({
      url: bdb.url,
      dataDir: bdb.url ? null : bdb.dataDir,
      poolSize: 20,
    });
    let world!: World;
    let list!: Query[];
    const rawResults = new Map<string, Measurement>();
    try {
      await migrate(database);
      world = await populate(database);
      console.log(`${engine}: loaded ${fmt.int(CASES)} cases in ${world.loadSeconds.toFixed(1)} s`);
      list = await queries(database, world);
      for (const q of list) q.plan = await planOf(database, q);
      // Raw first, in this process, while it holds the database (PGlite admits one process).
      for (const q of list) {
        for (const clients of CLIENTS) {
          const m = await measure({
            concurrency: clients,
            warmupMs,
            durationMs,
            op: async () => {
              await runRaw(database, q.raw.sql, q.raw.params);
            },
            watch: () => ({ bench: [process.pid], ...(bdb.url ? { postgres: postgresPids() } : {}) }),
          });
          rawResults.set(`${q.name}|${clients}`, m);
        }
      }
    } finally {
      await database.close();
    }

    const server = await startServerProcess({ databaseUrl: bdb.url, dataDir: bdb.dataDir });
    const client = createClient(server.url, Math.max(...CLIENTS));
    try {
      const signIn = await client.request(
        'POST',
        '/api/v1/session',
        {},
        JSON.stringify({ tenant: world.slug, email: world.agent.email, password: PASSWORD }),
      );
      if (signIn.status !== 201) throw new Error(`sign-in: ${signIn.status} ${signIn.body}`);
      const cookie = String(signIn.headers['set-cookie']?.[0]).split(';')[0]!;
      for (const q of list) {
        const check = await client.request('GET', q.path, { cookie });
        if (check.status !== 200) throw new Error(`${q.path}: ${check.status} ${check.body}`);
        for (const clients of CLIENTS) {
          const app = await measure({
            concurrency: clients,
            warmupMs,
            durationMs,
            op: async () => {
              const res = await client.request('GET', q.path, { cookie });
              if (res.status !== 200) throw new Error(`${res.status} ${res.body.slice(0, 200)}`);
            },
            watch: () => ({
              server: [server.child.pid!],
              bench: [process.pid],
              ...(bdb.url ? { postgres: postgresPids() } : {}),
            }),
          });
          const raw = rawResults.get(`${q.name}|${clients}`)!;
          out.push({ engine, query: q.name, clients, app, raw, plan: q.plan ?? '' });
          console.log(
            `${engine} ${q.name} @${clients}: app p50 ${fmt.ms(app.p50)} p99 ${fmt.ms(app.p99)} ms (${fmt.int(app.throughput)}/s)` +
              `, raw p50 ${fmt.ms(raw.p50)} p99 ${fmt.ms(raw.p99)} ms`,
          );
        }
      }
    } finally {
      client.close();
      await server.stop();
    }
    return { rows: out, loadSeconds: world.loadSeconds };
  } finally {
    await bdb.dispose();
  }
}

const started = Date.now();
const versions = [`Node ${process.version}`];
const all: Row[] = [];
const loads: string[] = [];
for (const engine of engines) {
  if (engine === 'postgres') {
    const probe = await benchDatabase('postgres', 'probe');
    versions.push(`PostgreSQL ${await serverVersion(probe.url!)}`);
    await probe.dispose();
  }
  const result = await runEngine(engine);
  all.push(...result.rows);
  loads.push(`${engine} ${result.loadSeconds.toFixed(1)} s`);
}

console.log(
  `\n## Inbox: ${fmt.int(CASES)} cases in one tenant (${durationMs / 1000} s per cell after ${warmupMs / 1000} s warm-up; ${versions.join(', ')}; bulk load ${loads.join(', ')})\n`,
);
console.log(
  table(
    [
      'engine',
      'query',
      'clients',
      'HTTP p50 ms',
      'HTTP p99 ms',
      'HTTP req/s',
      'raw SQL p50 ms',
      'raw SQL p99 ms',
      `p99 < ${TARGET_P99_MS} ms`,
      'other load (cores)',
    ],
    all.map((r) => [
      r.engine,
      r.query,
      r.clients,
      fmt.ms(r.app.p50),
      fmt.ms(r.app.p99),
      fmt.int(r.app.throughput),
      fmt.ms(r.raw.p50),
      fmt.ms(r.raw.p99),
      r.app.errors > 0 ? `FAIL (${r.app.errors} errors)` : r.app.p99 < TARGET_P99_MS ? 'PASS' : 'FAIL',
      fmt.cores(otherCpu(r.app)),
    ]),
  ),
);
console.log('\nPlans (EXPLAIN of the raw SQL, innermost first):');
for (const engine of engines) {
  for (const r of all.filter((x) => x.engine === engine && x.clients === 1))
    console.log(`  ${engine} ${r.query}: ${r.plan}`);
}
console.log(`\nJSON ${JSON.stringify(all)}`);
console.log(`inbox bench took ${Math.round((Date.now() - started) / 1000)} s`);
