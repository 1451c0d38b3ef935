/**
 * The `rapport` CLI as operators run it: a real process (Node on server/cli/main.ts, and once
 * through bin/rapport.mjs) on a database of its own — a fresh PGlite data directory, or a
 * scratch PostgreSQL database when TEST_DATABASE_URL is set. What it wrote is checked through
 * the real API afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { scratchPostgres } from '../../tests/support/scratch-database.ts';
import { TEST_SECRET } from '../../tests/support/test-app.ts';
import { type App, buildApp } from '../app.ts';
import { openDatabase } from '../db/client.ts';

const root = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(root, 'server/cli/main.ts');
const BIN = path.join(root, 'bin/rapport.mjs');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-cli-'));
const dataDir = path.join(tmp, 'data');
const scratch = process.env.TEST_DATABASE_URL ? await scratchPostgres(process.env.TEST_DATABASE_URL) : null;
after(async () => {
  await scratch?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});
const baseEnv = { ...process.env, DATABASE_URL: scratch?.url ?? '', RAPPORT_DATA_DIR: dataDir };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function rapport(
  args: string[],
  options: { input?: string; node?: string; entry?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [options.entry ?? MAIN, ...args], {
      env: options.env ?? baseEnv,
      cwd: tmp,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The app on the CLI's database, opened only after the CLI process has exited. */
async function withApp<T>(fn: (app: App) => Promise<T>): Promise<T> {
  const database = await openDatabase({ url: scratch?.url ?? null, dataDir: scratch ? null : dataDir });
  const app = await buildApp({ database, secret: TEST_SECRET, webRoot: '/nonexistent' });
  await app.ready();
  try {
    return await fn(app);
  } finally {
    await app.close();
    await database.close();
  }
}

const UUID_LINE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/;

test('data commands refuse an unmigrated database; migrate builds the schema once', async () => {
  const early = await rapport(['tenant', 'create', '--slug', 'early', '--name', 'Early']);
  assert.equal(early.code, 1, early.stderr);
  assert.match(early.stderr, /no Rapport schema yet: run `rapport migrate` first/);
  assert.equal(early.stdout, '');

  const first = await rapport(['migrate']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^Applied \d+ migration\(s\); the schema is at \w+\.\n$/);
  const again = await rapport(['migrate']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^Nothing to apply; the schema is at \w+\.\n$/);
});

test('tenant create prints only the new id; a duplicate or malformed slug and a missing flag are refused', async () => {
  const made = await rapport(['tenant', 'create', '--slug', 'acme', '--name', 'Acme Fibre']);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, UUID_LINE);
  assert.match(made.stderr, /Created organisation "Acme Fibre" \(slug acme\)/);

  const dup = await rapport(['tenant', 'create', '--slug', 'acme', '--name', 'Acme again']);
  assert.equal(dup.code, 1);
  assert.equal(dup.stdout, '');
  assert.match(dup.stderr, /^rapport: A tenant with slug "acme" already exists/);

  const bad = await rapport(['tenant', 'create', '--slug', 'Not A Slug', '--name', 'X']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /slug is 1–63 lower-case letters/);

  const missing = await rapport(['tenant', 'create', '--slug', 'nameless']);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /Missing --name <name>\nUsage: rapport tenant create --slug <slug> --name <name>/,
  );

  await withApp(async (app) => {
    const res = await app.inject({ url: '/api/v1/health' });
    assert.equal(res.statusCode, 200);
    const slugs = await app.database.db.query.tenants.findMany({ columns: { slug: true } });
    assert.deepEqual(
      slugs.map((t) => t.slug),
      ['acme'],
      'refused commands stored nothing',
    );
  });
});

test('team and user create: the new person signs in with the password given on stdin and is in their teams', async () => {
  for (const name of ['Customer Care', 'Billing']) {
    const team = await rapport(['team', 'create', '--tenant', 'acme', '--name', name]);
    assert.equal(team.code, 0, team.stderr);
    assert.match(team.stdout, UUID_LINE);
  }
  const dupTeam = await rapport(['team', 'create', '--tenant', 'acme', '--name', 'Billing']);
  assert.equal(dupTeam.code, 1);
  assert.match(dupTeam.stderr, /A team named "Billing" already exists/);

  const base = ['user', 'create', '--tenant', 'acme', '--name', 'Robin Vale', '--role', 'supervisor'];
  const noTeam = await rapport([...base, '--email', 'robin@acme.example', '--team', 'Engineering']);
  assert.equal(noTeam.code, 1);
  assert.match(noTeam.stderr, /No team named "Engineering"/);

  const password = 'a long enough secret';
  const made = await rapport(
    [
      ...base,
      '--email',
      'robin@acme.example',
      '--team',
      'Customer Care',
      '--team',
      'Billing',
      '--password-stdin',
    ],
    { input: `${password}\n` },
  );
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, UUID_LINE);
  assert.match(made.stderr, /Created supervisor Robin Vale <robin@acme.example>\./);

  const cases: [string[], number, RegExp][] = [
    [[...base, '--email', 'ROBIN@acme.example'], 1, /robin@acme.example already has an account here/i],
    [
      [...base.slice(0, -1), 'boss', '--email', 'b@acme.example'],
      2,
      /--role must be one of admin, supervisor, agent, specialist \(got "boss"\)/,
    ],
    [
      ['user', 'create', '--tenant', 'nope', '--email', 'n@x.example', '--name', 'N', '--role', 'agent'],
      1,
      /No tenant with slug "nope"/,
    ],
    [['user', 'create', '--tenant', 'acme', '--name', 'N', '--role', 'agent'], 2, /Missing --email <email>/],
    [[...base, '--email', 'p@acme.example', '--password', 'short'], 1, /at least 10 characters/],
    [
      [...base, '--email', 'q@acme.example', '--password', 'x'.repeat(12), '--password-stdin'],
      2,
      /either --password or --password-stdin/,
    ],
    [[...base, '--email', 'r@acme.example', '--nickname', 'R'], 2, /Unknown option '--nickname'/],
  ];
  for (const [args, code, message] of cases) {
    const run = await rapport(args);
    assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stdout, '');
  }

  await withApp(async (app) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { tenant: 'acme', email: 'robin@acme.example', password },
    });
    assert.equal(res.statusCode, 201, res.body);
    const { user } = res.json();
    assert.equal(user.role, 'supervisor');
    assert.equal(user.displayName, 'Robin Vale');
    assert.equal(user.teamIds.length, 2);
  });
});

test('token create prints exactly the token, which authenticates until token revoke', async () => {
  const made = await rapport(['token', 'create', '--tenant', 'acme', '--role', 'admin', '--name', 'ci']);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /^rpt_[A-Za-z0-9_-]{20,}\n$/, 'stdout is one line: the token');
  assert.match(made.stderr, /not shown again/);
  const token = made.stdout.trim();

  const refusals: [string[], number, RegExp][] = [
    [
      ['token', 'create', '--tenant', 'acme', '--role', 'admin', '--name', 'ci'],
      1,
      /A token named "ci" already exists/,
    ],
    [['token', 'create', '--tenant', 'acme', '--role', 'root', '--name', 'x'], 2, /--role must be one of/],
    [
      ['token', 'create', '--tenant', 'ghost', '--role', 'agent', '--name', 'x'],
      1,
      /No tenant with slug "ghost"/,
    ],
    [['token', 'create', '--tenant', 'acme', '--name', 'x'], 2, /Missing --role <role>/],
  ];
  for (const [args, code, message] of refusals) {
    const run = await rapport(args);
    assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stdout, '');
  }

  const ask = (app: App) =>
    app.inject({ url: '/api/v1/inbox/counts', headers: { authorization: `Bearer ${token}` } });
  await withApp(async (app) => assert.equal((await ask(app)).statusCode, 200));

  const revoked = await rapport(['token', 'revoke', '--tenant', 'acme', '--name', 'ci']);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, '');
  assert.match(revoked.stderr, /Revoked token "ci"/);
  await withApp(async (app) => {
    const res = await ask(app);
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'unauthenticated');
  });

  const twice = await rapport(['token', 'revoke', '--tenant', 'acme', '--name', 'ci']);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /No active token named "ci"/);
});

test('help lists every command; unknown commands and bare groups are usage errors', async () => {
  const help = await rapport(['--help']);
  assert.equal(help.code, 0);
  for (const command of [
    'migrate',
    'seed demo',
    'tenant create',
    'user create',
    'team create',
    'token create',
    'token revoke',
  ]) {
    assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
  }
  const one = await rapport(['token', 'create', '--help']);
  assert.equal(one.code, 0);
  assert.match(one.stdout, /^Usage: rapport token create --tenant <slug> --role <role> --name <name>\n/);

  const none = await rapport([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: rapport <command>/);
  const unknown = await rapport(['tenant', 'delete', '--slug', 'acme']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "tenant delete"/);
  const bare = await rapport(['token']);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /rapport token create .*\n.*rapport token revoke/);
});

test('seed demo creates the demo organisation once, then refuses', async () => {
  const seeded = await rapport(['seed', 'demo']);
  assert.equal(seeded.code, 0, seeded.stderr);
  assert.match(
    seeded.stdout,
    /Created the demo organisation "Northwind Broadband" \(slug demo\): \d+ staff, \d+ customers, \d+ cases\./,
  );
  assert.match(seeded.stdout, /Sign in: organisation "demo", alex@northwind-broadband\.example/);
  const again = await rapport(['seed', 'demo']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /A tenant with slug "demo" already exists/);
});

test('while another process holds the embedded data directory, the CLI refuses at once and changes nothing', async () => {
  // Always the embedded engine: the one-process rule is what is under test.
  const dir = path.join(tmp, 'busy');
  const env = { ...baseEnv, DATABASE_URL: '', RAPPORT_DATA_DIR: dir };
  assert.equal((await rapport(['migrate'], { env })).code, 0);
  // The CLI's own start-up on this machine right now (it loads the same modules): refusing must
  // add no more than a moment to it, never a wait for the lock.
  const startUp = await rapport(['tenant', 'create', '--help'], { env });
  const holder = await openDatabase({ dataDir: dir });
  try {
    const run = await rapport(['tenant', 'create', '--slug', 'busy', '--name', 'Busy'], { env });
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.ms < startUp.ms + 3000, `refused after ${run.ms} ms; the CLI starts in ${startUp.ms} ms`);
    assert.match(run.stderr, /is in use by process \d+/);
    assert.equal(run.stdout, '');
  } finally {
    await holder.close();
  }
  const after = await rapport(['tenant', 'create', '--slug', 'busy', '--name', 'Busy'], { env });
  assert.equal(after.code, 0, 'works once the directory is free, with nothing half-written before');
});

/** A Node older than 24 on PATH (Debian's, say), to prove the launcher hands over to Node 24. */
function olderNode(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'node');
    if (!fs.existsSync(candidate)) continue;
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(version.slice(1).split('.')[0]) < 24) return candidate;
    } catch {}
  }
  return null;
}

test('bin/rapport.mjs runs the CLI and passes its output and exit code on', async (t) => {
  const ok = await rapport(['tenant', 'create', '--slug', 'via-bin', '--name', 'Via Bin'], { entry: BIN });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, UUID_LINE);
  const refused = await rapport(['tenant', 'create', '--slug', 'via-bin', '--name', 'Via Bin'], {
    entry: BIN,
  });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already exists/);

  const old = olderNode();
  if (old) {
    const viaOld = await rapport(
      ['token', 'create', '--tenant', 'via-bin', '--role', 'agent', '--name', 'old'],
      {
        entry: BIN,
        node: old,
      },
    );
    assert.equal(viaOld.code, 0, viaOld.stderr);
    assert.match(viaOld.stdout, /^rpt_[A-Za-z0-9_-]+\n$/);
    const usage = await rapport(['token', 'create'], { entry: BIN, node: old });
    assert.equal(usage.code, 2);
  } else {
    t.diagnostic('no Node older than 24 on PATH: the hand-over path was not exercised');
  }
});
