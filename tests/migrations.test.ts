import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

test('the committed migrations match the schema (drizzle-kit generates nothing new)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-drift-'));
  fs.cpSync('server/db/migrations', out, { recursive: true });
  const config = path.join(out, 'drizzle.config.json');
  fs.writeFileSync(
    config,
    // drizzle-kit prefixes './' to `out`, so it must be relative to the working directory.
    JSON.stringify({
      dialect: 'postgresql',
      schema: 'server/db/schema/index.ts',
      out: path.relative('.', out),
    }),
  );
  const before = fs.readdirSync(out).sort();
  const run = spawnSync(path.resolve('node_modules/.bin/drizzle-kit'), ['generate', '--config', config], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr || run.stdout);
  assert.match(run.stdout, /No schema changes/, run.stdout + run.stderr);
  const added = fs.readdirSync(out).filter((f) => !before.includes(f));
  assert.deepEqual(
    added,
    [],
    'the schema changed without a migration: run `npm run db:generate -- --name <change>`',
  );
  fs.rmSync(out, { recursive: true, force: true });
});
