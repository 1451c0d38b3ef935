/**
 * The raw baseline for intake: per contact one transaction with one INSERT of a message-like row
 * and one UPDATE of a case-like counter row, in scratch tables, through the same driver the app
 * uses (a PGlite instance on a data directory, or a `pg` pool of the app's size).
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

const CASES = 10_000;

const SCHEMA = `
  create table if not exists bench_raw_cases (
    id int primary key,
    contact_count int not null default 0,
    last_contact_at timestamptz,
    updated_at timestamptz not null default now());
  create table if not exists bench_raw_messages (
    id uuid primary key default gen_random_uuid(),
    case_id int not null references bench_raw_cases (id),
    body text not null,
    created_at timestamptz not null default now());
  create index if not exists bench_raw_messages_case on bench_raw_messages (case_id, created_at);
  insert into bench_raw_cases (id) select g from generate_series(1, ${CASES}) g on conflict do nothing;`;

const INSERT = 'insert into bench_raw_messages (case_id, body) values ($1, $2)';
const UPDATE =
  'update bench_raw_cases set contact_count = contact_count + 1, last_contact_at = now(), updated_at = now() where id = $1';

export interface RawAppend {
  /** BEGIN; INSERT; UPDATE; COMMIT. */
  op: () => Promise<void>;
  /**
   * The same transaction padded with trivial `select $1` statements to `statements` in all
   * (BEGIN and COMMIT included): what the round trips alone cost, without the work.
   */
  padded: (statements: number) => Promise<void>;
  close(): Promise<void>;
}

const PAD = 'select $1::int as n';

/** A ~500-byte message body, different every time. */
export function messageBody(): string {
  const n = () => Math.floor(Math.random() * 1_000_000);
  return (
    `Hello, my broadband has dropped out every evening since last week (account ${n()}). ` +
    'The router lights go from white to orange around seven, the connection comes back after ' +
    'ten minutes or so, and then it drops again. I have restarted the router, swapped the cable ' +
    'and tried another socket, and the line test on your website says there is no fault. ' +
    `Could someone look at it, please? I work from home and calls keep failing. Ref ${n()}.`
  );
}

const caseId = () => 1 + Math.floor(Math.random() * CASES);

export async function rawAppendPglite(dataDir: string): Promise<RawAppend> {
  const db = await PGlite.create(dataDir);
  await db.exec(SCHEMA);
  const run = async (pad: number) => {
    const id = caseId();
    await db.transaction(async (tx) => {
      await tx.query(INSERT, [id, messageBody()]);
      for (let i = 0; i < pad; i++) await tx.query(PAD, [i]);
      await tx.query(UPDATE, [id]);
    });
  };
  return {
    op: () => run(0),
    padded: (statements) => run(Math.max(0, statements - 4)),
    close: () => db.close(),
  };
}

export async function rawAppendPostgres(url: string, poolSize: number): Promise<RawAppend> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => {}); // an idle client dropped by the server; the next query reports it
  await pool.query(SCHEMA);
  const run = async (pad: number) => {
    const id = caseId();
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(INSERT, [id, messageBody()]);
      for (let i = 0; i < pad; i++) await client.query(PAD, [i]);
      await client.query(UPDATE, [id]);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };
  return {
    op: () => run(0),
    padded: (statements) => run(Math.max(0, statements - 4)),
    close: () => pool.end(),
  };
}
