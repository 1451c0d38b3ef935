/**
 * `npm test`: every integration/unit test (server/, shared/, tests/) with node:test, on PGlite,
 * or on PostgreSQL when TEST_DATABASE_URL is set; then the browser journeys when Chromium is
 * installed (`--e2e` runs only those). Prints node:test's summary (tests / pass / fail).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PER_FILE_SUFFIX } from './support/own-database.ts';

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const e2eOnly = args.includes('--e2e');

function find(dir: string, suffix: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
let files = only.length > 0 ? only : [];
if (files.length === 0) {
  if (!e2eOnly)
    files = [...find('server', '.test.ts'), ...find('shared', '.test.ts'), ...find('tests', '.test.ts')];
  if (chromium) files.push(...find('tests/e2e', '.e2e.ts'));
  else
    console.log('note: browser journeys skipped — Chromium is not installed (apt-get install -y chromium)');
}

const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--import=./tests/support/own-database.ts',
    '--test-concurrency=2',
    '--test-timeout=120000',
    '--test-reporter=spec',
    ...files,
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      CHROMIUM_PATH: chromium ?? '',
      // The tests' mail servers and platform fakes listen on loopback, which SS-01 refuses by default.
      RAPPORT_EGRESS_ALLOW: process.env.RAPPORT_EGRESS_ALLOW ?? '127.0.0.0/8,::1',
    },
  },
);
if (process.env.TEST_DATABASE_URL) await dropFileDatabases(process.env.TEST_DATABASE_URL);
process.exit(result.status ?? 1);

/** The per-file databases of tests/support/own-database.ts, this run's and any a killed run left. */
async function dropFileDatabases(base: string) {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    const prefix = `${new URL(base).pathname.slice(1)}${PER_FILE_SUFFIX}`;
    const { rows } = await client.query<{ datname: string }>(
      'select datname from pg_database where starts_with(datname, $1)',
      [prefix],
    );
    for (const { datname } of rows) await client.query(`drop database if exists ${datname} with (force)`);
  } finally {
    await client.end();
  }
}
