/**
 * PostgreSQL CPU per contact, straight against `receive_contacts` (no HTTP, no Node in the way):
 * a tool for trying a change to the intake's SQL before writing its migration. Each variant is a
 * SQL file applied after migrating a database of its own ("control" applies nothing); batches of
 * contacts (half repeats) go through one connection, rounds alternate between the variants, and
 * the backend's CPU time is read from /proc, so other load on the box moves the numbers less
 * than it moves throughput. Not part of `npm run bench`.
 *
 *   node bench/intake-cpu.ts control my-variant.sql [--rounds=8] [--contacts=800] [--batch=8]
 *
 * Commit is asynchronous here (`synchronous_commit = off`): what is compared is the work of the
 * statements, not the wait for the WAL flush.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDatabase } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import type { IntakeItem } from '../server/modules/contacts/intake-queue.ts';
import { createTenant } from '../server/modules/tenants/tenants.service.ts';
import { benchDatabase } from './lib/setup.ts';

const { values, positionals } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    contacts: { type: 'string', default: '800' },
    batch: { type: 'string', default: '8' },
  },
  allowPositionals: true,
});
const variants = positionals.length > 0 ? positionals : ['control'];
const rounds = Number(values.rounds);
const perRound = Number(values.contacts);
const batch = Number(values.batch);
/** Linux reports process CPU in clock ticks of 10 ms. */
const TICK_MS = 10;

interface Variant {
  name: string;
  client: pg.Client;
  backendPid: number;
  tenant: string;
  known: string[];
  fresh: number;
  /** µs of backend CPU per contact, one per measured round. */
  rounds: number[];
  dispose(): Promise<void>;
}

function backendCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

async function open(name: string, index: number): Promise<Variant> {
  const bdb = await benchDatabase('postgres', `cpu${index}`);
  const database = await openDatabase({ url: bdb.url, poolSize: 2 });
  await migrate(database);
  const tenant = await createTenant(database.db, { slug: 'cpu', name: 'CPU' });
  await database.close();
  const client = new pg.Client({ connectionString: bdb.url! });
  await client.connect();
  if (name !== 'control') await client.query(fs.readFileSync(name, 'utf8'));
  const backendPid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return {
    name,
    client,
    backendPid,
    tenant: tenant.id,
    known: [],
    fresh: 0,
    rounds: [],
    async dispose() {
      await client.end();
      await bdb.dispose();
    },
  };
}

function item(v: Variant): IntakeItem {
  const repeat = v.known.length > 0 && Math.random() < 0.5;
  const value = repeat ? v.known[Math.floor(Math.random() * v.known.length)]! : `c${v.fresh++}@cpu.example`;
  if (!repeat) v.known.push(value);
  return {
    tenant: v.tenant,
    actorType: 'token',
    actorId: null,
    channel: 'email',
    kind: 'email',
    platform: '',
    value,
    name: null,
    text: 'My router keeps dropping the connection every evening around eight.',
    subject: 'Router drops every evening',
    externalId: null,
    caseNumber: null,
    receivedAt: new Date().toISOString(),
  };
}

async function round(v: Variant, contacts: number): Promise<number> {
  const before = backendCpuMs(v.backendPid);
  for (let sent = 0; sent < contacts; sent += batch) {
    const items = Array.from({ length: batch }, () => item(v));
    await v.client.query('begin');
    await v.client.query('set local synchronous_commit = off');
    await v.client.query('select receive_contacts($1::jsonb, 0::smallint, true, false)', [
      JSON.stringify(items),
    ]);
    await v.client.query('commit');
  }
  return ((backendCpuMs(v.backendPid) - before) * 1000) / contacts;
}

const opened: Variant[] = [];
try {
  for (const [i, name] of variants.entries()) opened.push(await open(name, i));
  for (const v of opened) await round(v, perRound / 2); // warm-up: plans cached, first pages written
  for (let r = 0; r < rounds; r++) {
    // Alternating the order cancels a drift of the box's speed across a round.
    for (const v of r % 2 === 0 ? opened : [...opened].reverse()) v.rounds.push(await round(v, perRound));
  }
  console.log(`backend CPU per contact, µs (${rounds} rounds of ${perRound}, batches of ${batch}):`);
  for (const v of opened) {
    const sorted = [...v.rounds].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `  ${v.name}: median ${median.toFixed(0)}, min ${sorted[0]!.toFixed(0)}  [${v.rounds.map((x) => x.toFixed(0)).join(' ')}]`,
    );
  }
} finally {
  for (const v of opened) await v.dispose();
}
