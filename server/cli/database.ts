/**
 * How the CLI reaches the database the server uses (same config), and how it checks that the
 * schema is current before touching data, so an operator never writes into a half-built schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { type Database, openDatabase, rows, sql } from '../db/client.ts';

/** Exit codes: part of the contract operators script against (docs/cli.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3 } as const;

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message);
    this.exitCode = exitCode;
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

/** Opens the configured database and proves it answers; never waits longer than 10 s. */
export async function connect(config: Config): Promise<Database> {
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? null : config.dataDir,
    poolSize: 2,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      database.db.execute(sql`select 1`),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (err) {
    void database.close().catch(() => {});
    throw new CliError(
      `Could not reach the database (${describe(config)}): ${reasonOf(err)}`,
      EXIT.unavailable,
    );
  } finally {
    clearTimeout(timer);
  }
  return database;
}

/** Drizzle wraps driver errors ("Failed query: …"); the driver's own words say what went wrong. */
function reasonOf(err: unknown): string {
  let e = err as { message?: string; code?: string; cause?: unknown; errors?: unknown[] };
  while (e?.cause) e = e.cause as typeof e;
  if (!e?.message && e?.errors?.length) e = e.errors[0] as typeof e;
  return e?.message || e?.code || String(err);
}

export function describe(config: Config): string {
  if (!config.databaseUrl) return `embedded PGlite in ${config.dataDir}`;
  try {
    const url = new URL(config.databaseUrl);
    return `PostgreSQL at ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

interface JournalEntry {
  tag: string;
  when: number;
}

const journalFile = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../db/migrations/meta/_journal.json',
);

function journal(): JournalEntry[] {
  return (JSON.parse(fs.readFileSync(journalFile, 'utf8')) as { entries: JournalEntry[] }).entries;
}

export interface SchemaState {
  applied: number;
  total: number;
  /** Tag of the newest migration in this release. */
  latest: string;
}

/** Compares the migrations recorded in the database with the ones this release ships. */
export async function schemaState(database: Database): Promise<SchemaState> {
  const entries = journal();
  const [present] = await rows<{ present: boolean }>(
    database.db,
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`,
  );
  let applied = 0;
  if (present?.present) {
    const [row] = await rows<{ last: string | number | null }>(
      database.db,
      sql`select max(created_at) as last from drizzle.__drizzle_migrations`,
    );
    const last = row?.last == null ? 0 : Number(row.last);
    applied = entries.filter((e) => e.when <= last).length;
  }
  return { applied, total: entries.length, latest: entries.at(-1)?.tag ?? '' };
}

export async function requireCurrentSchema(database: Database): Promise<void> {
  const state = await schemaState(database);
  if (state.applied < state.total) {
    const what =
      state.applied === 0
        ? 'has no Rapport schema yet'
        : `is ${state.total - state.applied} migration(s) behind this release`;
    throw new CliError(`The database ${what}: run \`rapport migrate\` first.`, EXIT.failed);
  }
}
