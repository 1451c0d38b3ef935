/**
 * Preloaded into every test file's process by `npm test` (tests/run.ts): on PostgreSQL each test
 * file gets a fresh database of its own beside TEST_DATABASE_URL, as each gets its own PGlite.
 * Every app runs background workers that lease any tenant's due rows (stored mail, the outbox,
 * platform replies); on one shared database another file's worker could take a test's row and
 * still be working on it when the test looks. The runner drops these databases at the end.
 */
import pg from 'pg';

export const PER_FILE_SUFFIX = '_file_';

const base = process.env.TEST_DATABASE_URL;
// The runner's own process (no NODE_TEST_CONTEXT) keeps the given database.
if (base && process.env.NODE_TEST_CONTEXT) {
  const url = new URL(base);
  const name = `${url.pathname.slice(1)}${PER_FILE_SUFFIX}${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  process.env.TEST_DATABASE_URL = url.toString();
}
