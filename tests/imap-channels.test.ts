/**
 * The real server process polling a channel's mailbox on a real Dovecot: a mailbox configured
 * through the API turns mail into cases; after a graceful restart and after kill -9 mid-sync the
 * server resumes from the checkpoint in the database and stores every message exactly once; the
 * API never returns the password and the database holds it sealed; another tenant neither sees
 * nor changes the channel. PGlite in a data directory, or a scratch PostgreSQL database.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openDatabase, rows, sql } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { deriveKey, openSecret } from '../server/lib/secrets.ts';
import { createTenant, createToken } from '../server/modules/tenants/tenants.service.ts';
import { type Dovecot, startDovecot } from './support/dovecot.ts';
import { eventually } from './support/eventually.ts';
import { type ScratchDatabase, scratchPostgres } from './support/scratch-database.ts';
import { freePort, type ServerProcess, startServerProcess } from './support/server-process.ts';
import { engine } from './support/test-app.ts';

const SECRET = 'imap-test-secret-imap-test-secret-0123456';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-imap-channels-'));
let scratch: ScratchDatabase | null = null;
let dovecot: Dovecot;
let databaseUrl: string | null = null;

before(async () => {
  dovecot = await startDovecot({ users: 1 });
  scratch = process.env.TEST_DATABASE_URL ? await scratchPostgres(process.env.TEST_DATABASE_URL) : null;
  databaseUrl = scratch?.url ?? null;
});
after(async () => {
  await dovecot?.stop();
  await scratch?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The database from this process; on PGlite only while the server is down. */
async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>) {
  const database = await openDatabase({ url: databaseUrl, dataDir, poolSize: 2 });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

function mail(n: number) {
  return Buffer.from(
    `From: Customer ${n} <customer${n}@example.com>\r\nTo: help@imap.example\r\nSubject: Outage ${n}\r\n` +
      `Message-ID: <outage-${n}-${randomUUID()}@example.com>\r\n\r\nNo signal in street ${n}.\r\n`,
  );
}

const waitFor: typeof eventually = (what, check, timeoutMs = 30_000) => eventually(what, check, timeoutMs);

test(`a mailbox configured through the API is polled into cases, once each across restarts and kill -9 (${engine})`, async () => {
  const { a, b } = await withDatabase(async (database) => {
    await migrate(database);
    const token = async (name: string) => {
      const tenant = await createTenant(database.db, { slug: `imap-${randomUUID().slice(0, 8)}`, name });
      return `Bearer ${(await createToken(database.db, tenant.id, { name: 'admin', role: 'admin' })).secret}`;
    };
    return { a: await token('Mailbox Co'), b: await token('Other Co') };
  });
  const port = await freePort();
  const start = () =>
    startServerProcess({
      databaseUrl,
      dataDir,
      port, // the same node again: it takes its mailbox lease back at once
      env: { RAPPORT_IMAP: 'true', RAPPORT_IMAP_POLL_SECONDS: '1', RAPPORT_SECRET: SECRET },
    });
  let server: ServerProcess = await start();
  const call = async (authorization: string, method: string, url: string, body?: unknown) => {
    const res = await fetch(server.url + url, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const caseCount = async () => {
    const res = await call(a, 'GET', '/api/v1/cases?status=active&limit=100');
    return (JSON.parse(res.text).items as unknown[]).length;
  };
  const user = dovecot.users[0]!;

  try {
    for (let n = 1; n <= 3; n++) await dovecot.append(user.user, mail(n));
    const created = await call(a, 'POST', '/api/v1/channels', {
      type: 'email',
      name: 'Hosted mailbox',
      address: 'help@imap.example',
      settings: {
        imap: {
          host: dovecot.host,
          port: dovecot.port,
          security: 'none',
          username: user.user,
          password: user.pass,
        },
      },
    });
    assert.equal(created.status, 201, created.text);
    const channel = JSON.parse(created.text) as { id: string };
    await waitFor('three cases', async () => (await caseCount()) === 3);

    const listed = await call(a, 'GET', '/api/v1/channels');
    const one = await call(a, 'GET', `/api/v1/channels/${channel.id}`);
    for (const res of [created, listed, one]) {
      assert.ok(!res.text.includes(user.pass), 'the API never returns the password');
    }
    assert.equal(JSON.parse(one.text).settings.imap.passwordSet, true);
    assert.equal(JSON.parse(one.text).imapStatus.state, 'ok');

    // Another tenant neither sees nor changes the channel.
    assert.equal((await call(b, 'GET', `/api/v1/channels/${channel.id}`)).status, 404);
    assert.deepEqual(JSON.parse((await call(b, 'GET', '/api/v1/channels')).text).items, []);
    const takeOver = await call(b, 'PATCH', `/api/v1/channels/${channel.id}`, {
      settings: { imap: { host: '127.0.0.1', port: 1, username: 'x', password: 'y' } },
    });
    assert.equal(takeOver.status, 404, takeOver.text);
    const still = JSON.parse((await call(a, 'GET', `/api/v1/channels/${channel.id}`)).text);
    assert.equal(still.settings.imap.username, user.user, 'unchanged');

    // A graceful restart, with mail arriving while the server is down.
    assert.equal(await server.stop(), 0);
    await dovecot.append(user.user, mail(4));
    server = await start();
    await waitFor('the fourth case', async () => (await caseCount()) === 4);

    // kill -9 in the middle of a sync of 30 messages, then a restart on the same data.
    for (let n = 5; n <= 34; n++) await dovecot.append(user.user, mail(n));
    await waitFor('the sync to begin', async () => (await caseCount()) > 4, 30_000);
    await server.kill9();
    server = await start();
    await waitFor('every case', async () => (await caseCount()) === 34, 60_000);
    await new Promise((r) => setTimeout(r, 2500)); // two more rounds: nothing new may appear
    assert.equal(await caseCount(), 34);
    const seen = (await dovecot.messages(user.user, 'INBOX')).filter((m) => m.flags.includes('\\Seen'));
    assert.equal(seen.length, 34, 'every message marked once stored');
    assert.equal(await server.stop(), 0);

    await withDatabase(async (database) => {
      const stored = await rows<{ n: number; distinct_keys: number }>(
        database.db,
        sql`select count(*)::int as n, count(distinct dedupe_key)::int as distinct_keys
            from inbound_emails where channel_id = ${channel.id}`,
      );
      assert.deepEqual(stored[0], { n: 34, distinct_keys: 34 }, 'each message stored exactly once');
      const contacts = await rows<{ n: number }>(
        database.db,
        // By the intake's idempotency key: a message the killed node had claimed may have its
        // contact while its row waits for its lease (BACKOFF_MS) to record the message id.
        sql`select count(*)::int as n from contacts c join inbound_emails e
            on e.tenant_id = c.tenant_id and c.channel = 'email' and c.external_id = e.dedupe_key
            where e.channel_id = ${channel.id}`,
      );
      assert.equal(contacts[0]?.n, 34, 'and turned into exactly one contact each');
      const [row] = await rows<{ tenant_id: string; imap_password: string }>(
        database.db,
        sql`select tenant_id, imap_password from channels where id = ${channel.id}`,
      );
      assert.ok(row && !row.imap_password.includes(user.pass), 'the password column is not plaintext');
      assert.equal(
        openSecret(
          deriveKey(SECRET, 'channel-secrets'),
          row.imap_password,
          `channel-imap:${row.tenant_id}:${channel.id}`,
        ),
        user.pass,
      );
      const [checkpoint] = await rows<{ last_uid: number }>(
        database.db,
        sql`select last_uid from imap_mailboxes where channel_id = ${channel.id}`,
      );
      assert.equal(Number(checkpoint?.last_uid), 34);
    });
  } finally {
    await server.stop();
  }
});
