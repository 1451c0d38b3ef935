/**
 * A database of a test's own, for tests that need an empty install (the demo seed, the CLI's
 * `migrate`): a fresh PostgreSQL database beside TEST_DATABASE_URL, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(base: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function scratchPostgres(base: string): Promise<ScratchDatabase> {
  const name = `rapport_scratch_${randomBytes(6).toString('hex')}`;
  await admin(base, (c) => c.query(`create database ${name}`));
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(base, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}
