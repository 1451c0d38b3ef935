/**
 * Opens the database: embedded PGlite (a data directory, or memory for tests) or a PostgreSQL
 * server through a `pg` pool. Both speak the same SQL and run the same migrations; the rest of
 * the code sees one Drizzle `Db` type.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzlePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PgTable } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import * as schema from './schema/index.ts';

export type Db = NodePgDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  engine: 'pglite' | 'postgres';
  /** Where the embedded engine keeps its files; null on PostgreSQL or in memory. */
  dataDir: string | null;
  close(): Promise<void>;
  /** Run fn on one session (advisory locks, LISTEN); PGlite has only one. */
  withSession<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  pool: pg.Pool | null;
  pglite: PGlite | null;
}

export class DatabaseBusyError extends Error {
  readonly code = 'database_busy';
}

export interface OpenOptions {
  /** postgres://… for a server; otherwise PGlite. */
  url?: string | null;
  /** PGlite data directory; omitted = in memory. */
  dataDir?: string | null;
  /** Pool size on PostgreSQL. */
  poolSize?: number;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.url) {
    // Idle connections stay open for minutes, not pg's default 10 s: a burst after a quiet spell
    // would otherwise wait for new backends to start and plan the intake's statements afresh
    // (100-300 ms stalls in the chat bench).
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 20,
      idleTimeoutMillis: 300_000,
    });
    pool.on('error', () => {}); // idle-client errors surface on the next query instead
    const db = drizzlePg({ client: pool, schema });
    return {
      db,
      engine: 'postgres',
      dataDir: null,
      pool,
      pglite: null,
      close: () => pool.end(),
      async withSession(fn) {
        const client = await pool.connect();
        try {
          return await fn(drizzlePg({ client, schema }) as unknown as Db);
        } finally {
          client.release();
        }
      },
    };
  }
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : null;
  const releaseLock = dataDir ? takeDataDirLock(dataDir) : () => {};
  let pglite: PGlite;
  try {
    pglite = dataDir ? await PGlite.create(path.join(dataDir, 'pg')) : await PGlite.create();
  } catch (err) {
    releaseLock();
    throw err;
  }
  // Drizzle's PGlite driver has the same query API as its node-postgres one.
  const db = drizzlePglite({ client: pglite, schema }) as unknown as Db;
  return {
    db,
    engine: 'pglite',
    dataDir,
    pool: null,
    pglite,
    async close() {
      await pglite.close();
      releaseLock();
    },
    withSession: (fn) => fn(db),
  };
}

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt
 * it. A pid file guards the directory; a stale one (its process is gone) is taken over.
 */
function takeDataDirLock(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'rapport.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(lockFile, 'utf8'));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new DatabaseBusyError(
          `The embedded database in ${dataDir} is in use by process ${pid} (a running Rapport server?). ` +
            'PGlite allows one process at a time: stop that process first, or run Rapport on PostgreSQL ' +
            '(DATABASE_URL) to share the database.',
        );
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new DatabaseBusyError(`Could not take the lock on ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Rows of a raw SQL query, the same shape on both engines. */
export async function rows<T>(db: Executor, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/**
 * A row that SQL returned as JSON (`to_jsonb(row)`: database column names, timestamps as text)
 * in the shape Drizzle's own selects give for that table.
 */
export function fromJsonRow<T extends PgTable>(table: T, json: Record<string, unknown>): T['$inferSelect'] {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = json[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T['$inferSelect'];
}

export { sql };
