/**
 * Channels that poll an IMAP mailbox, against a real Dovecot (tests/support/dovecot.ts): mail
 * configured through the API becomes cases through the same processor as SMTP mail, is marked or
 * moved only after it was stored, the checkpoint and the last poll are kept in the database,
 * changes to the channel restart or stop its poller, and of two app nodes on one database only
 * one polls a mailbox at a time. Restarting the server process: tests/imap-channels.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type Dovecot, type DovecotUser, startDovecot } from '../../../tests/support/dovecot.ts';
import { eventually } from '../../../tests/support/eventually.ts';
import * as given from '../../../tests/support/given.ts';
import { startTestApp, TEST_SECRET } from '../../../tests/support/test-app.ts';
import { buildApp } from '../../app.ts';
import { rows } from '../../db/client.ts';

const timing = { pollMs: 200, reconcileMs: 200, leaseMs: 3000, backoff: { initialMs: 100, maxMs: 400 } };
const { app, database } = await startTestApp({
  imap: { ...timing, maxMessageBytes: 64 * 1024, nodeId: 'node-a' },
});

let dovecot: Dovecot;
let nextUser = 0;
before(async () => {
  dovecot = await startDovecot({ users: 8 });
});
after(() => dovecot?.stop());

function account(): DovecotUser {
  const user = dovecot.users[nextUser++];
  if (!user) throw new Error('not enough Dovecot users: raise the count in before()');
  return user;
}

const imapOf = (a: DovecotUser, extra: Record<string, unknown> = {}) => ({
  host: dovecot.host,
  port: dovecot.port,
  security: 'none', // the test Dovecot has no TLS
  username: a.user,
  password: a.pass,
  ...extra,
});

function mail(n: number, from = `customer${n}@example.com`) {
  return Buffer.from(
    [
      `From: Customer ${n} <${from}>`,
      'To: support@example.net',
      `Subject: Router question ${n}`,
      `Message-ID: <router-${n}-${Math.random().toString(36).slice(2)}@example.com>`,
      'Date: Mon, 23 Nov 2026 10:00:00 +0000',
      '',
      `My router ${n} blinks red.`,
      '',
    ].join('\r\n'),
  );
}

const waitFor: typeof eventually = (what, check, timeoutMs = 15_000) => eventually(what, check, timeoutMs);

async function addChannel(t: given.GivenTenant, imap: Record<string, unknown>) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/channels',
    headers: t.headers,
    payload: {
      type: 'email',
      name: 'Mailbox',
      address: `help-${Math.random().toString(36).slice(2, 8)}@${t.slug}.example`,
      settings: { imap },
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { id: string };
}

async function cases(t: given.GivenTenant) {
  const res = await app.inject({ url: '/api/v1/cases?status=active', headers: t.headers });
  return res.json().items as { subject: string; channel: string }[];
}

async function channel(t: given.GivenTenant, id: string) {
  return (await app.inject({ url: `/api/v1/channels/${id}`, headers: t.headers })).json();
}

const seen = async (user: string, mailbox = 'INBOX') =>
  (await dovecot.messages(user, mailbox)).filter((m) => m.flags.includes('\\Seen')).map((m) => m.uid);

test('mail in a connected mailbox becomes cases; each message is marked \\Seen after it was stored, and the checkpoint is in the database', async () => {
  const t = await given.tenant(app);
  const a = account();
  await dovecot.append(a.user, mail(1));
  await dovecot.append(a.user, mail(2));
  const { id } = await addChannel(t, imapOf(a));

  const found = await waitFor('two cases', async () => {
    const list = await cases(t);
    return list.length === 2 && list;
  });
  assert.deepEqual(found.map((c) => c.subject).sort(), ['Router question 1', 'Router question 2']);
  assert.ok(found.every((c) => c.channel === 'email'));
  assert.deepEqual(await seen(a.user), [1, 2]);

  const status = await waitFor('the poll status', async () => {
    const s = (await channel(t, id)).imapStatus;
    return s.state === 'ok' && s;
  });
  assert.equal(status.error, null);
  assert.ok(Date.parse(status.polledAt) > Date.now() - 60_000);
  const [checkpoint] = await rows<{ uid_validity: string; last_uid: number; mailbox_key: string }>(
    database.db,
    sql`select uid_validity, last_uid, mailbox_key from imap_mailboxes where tenant_id = ${t.id} and channel_id = ${id}`,
  );
  assert.equal(checkpoint?.uid_validity, await dovecot.uidValidity(a.user, 'INBOX'));
  assert.equal(Number(checkpoint?.last_uid), 2);
  assert.equal(checkpoint?.mailbox_key, `imap://${a.user}@${dovecot.host}:${dovecot.port}/INBOX`);
  const sources = await rows<{ source: string }>(
    database.db,
    sql`select source from inbound_emails where tenant_id = ${t.id}`,
  );
  assert.deepEqual(
    sources.map((s) => s.source),
    ['imap', 'imap'],
  );

  // Mail that arrives later is picked up on a later round, once.
  await dovecot.append(a.user, mail(3, 'customer1@example.com'));
  await waitFor('the repeat contact', async () => (await seen(a.user)).length === 3);
  await given.inboundProcessed(t);
  const after = await cases(t);
  assert.equal(after.length, 2, 'the same customer’s mail joins their open case');
});

test('a wrong password is shown on the channel without the password, mail stays unread, and the right one fixes it', async () => {
  const t = await given.tenant(app);
  const a = account();
  await dovecot.append(a.user, mail(1));
  const wrong = 'not-the-password-42';
  const { id } = await addChannel(t, imapOf(a, { password: wrong }));
  const status = await waitFor('the error', async () => {
    const s = (await channel(t, id)).imapStatus;
    return s.state === 'error' && s;
  });
  assert.match(status.error, new RegExp(`imap://${a.user}@`));
  assert.ok(!status.error.includes(wrong));
  assert.equal(status.lastSuccessAt, null);
  assert.deepEqual(await seen(a.user), []);
  assert.deepEqual(await cases(t), []);

  const fixed = await app.inject({
    method: 'PATCH',
    url: `/api/v1/channels/${id}`,
    headers: t.headers,
    payload: { settings: { imap: imapOf(a) } },
  });
  assert.equal(fixed.statusCode, 200, fixed.body);
  await waitFor('the case', async () => (await cases(t)).length === 1);
  await waitFor('an ok status', async () => (await channel(t, id)).imapStatus.state === 'ok');
});

test('a channel turned off is not polled; turned on again it picks up what arrived meanwhile', async () => {
  const t = await given.tenant(app);
  const a = account();
  const { id } = await addChannel(t, imapOf(a));
  await waitFor('a first round', async () => (await channel(t, id)).imapStatus.state === 'ok');
  const off = await app.inject({
    method: 'PATCH',
    url: `/api/v1/channels/${id}`,
    headers: t.headers,
    payload: { active: false },
  });
  assert.equal(off.statusCode, 200);
  await waitFor('the poller to stop', async () => !app.imapChannels!.polling().includes(id));
  await dovecot.append(a.user, mail(1));
  await new Promise((r) => setTimeout(r, 5 * timing.pollMs));
  assert.deepEqual(await seen(a.user), [], 'nobody read the mailbox');
  assert.deepEqual(await cases(t), []);

  await app.inject({
    method: 'PATCH',
    url: `/api/v1/channels/${id}`,
    headers: t.headers,
    payload: { active: true },
  });
  await waitFor('the case', async () => (await cases(t)).length === 1);
  assert.deepEqual(await seen(a.user), [1]);
});

test('with "move", a stored message is moved to the folder named, created when missing', async () => {
  const t = await given.tenant(app);
  const a = account();
  await dovecot.append(a.user, mail(1));
  await addChannel(t, imapOf(a, { afterDelivery: 'move', moveTo: 'Rapport' }));
  await waitFor('the case', async () => (await cases(t)).length === 1);
  const where = await waitFor('the move', async () => {
    const all = await dovecot.messages(a.user);
    return all.every((m) => m.mailbox === 'Rapport') && all.length === 1 && all;
  });
  assert.deepEqual(
    where.map((m) => m.mailbox),
    ['Rapport'],
  );
});

test('a message over the size limit stays on the server and is listed in quarantine; the mail after it still arrives', async () => {
  const t = await given.tenant(app);
  const a = account();
  const big = Buffer.concat([mail(1), Buffer.alloc(100 * 1024, 'x')]);
  await dovecot.append(a.user, big);
  await dovecot.append(a.user, mail(2));
  await addChannel(t, imapOf(a));
  await waitFor('the small one’s case', async () => (await cases(t)).length === 1);
  const quarantine = await app.inject({ url: '/api/v1/email/quarantine', headers: t.headers });
  const items = quarantine.json().items as { reason: string; size: number }[];
  assert.equal(items.length, 1, quarantine.body);
  assert.match(items[0]!.reason, /^oversized: \d+ bytes, over the size limit; left on the server/);
  assert.equal(items[0]!.size, big.length);
  assert.deepEqual(
    (await dovecot.messages(a.user, 'INBOX')).map((m) => m.uid),
    [1, 2],
  );
});

test('two app nodes on one database: one polls a mailbox, and the other takes over when it stops', async () => {
  const t = await given.tenant(app);
  const a = account();
  const second = await buildApp({
    database,
    secret: TEST_SECRET,
    webRoot: '/nonexistent',
    imap: { ...timing, nodeId: 'node-b' },
  });
  await second.ready();
  const { id } = await addChannel(t, imapOf(a));
  await dovecot.append(a.user, mail(1));
  await waitFor('the first case', async () => (await cases(t)).length === 1);
  // Several reconcile passes on both nodes: never both at once.
  for (let i = 0; i < 10; i++) {
    const pollers = [app, second].filter((n) => n.imapChannels!.polling().includes(id));
    assert.equal(pollers.length, 1, 'exactly one node polls the mailbox');
    await new Promise((r) => setTimeout(r, timing.reconcileMs / 2));
  }
  const polledByA = app.imapChannels!.polling().includes(id);

  // The node holding it stops (its lease is released): the other carries on.
  if (polledByA) await app.imapChannels!.stop();
  else await second.close();
  const survivor = polledByA ? second : app;
  await waitFor('the take-over', async () => survivor.imapChannels!.polling().includes(id));
  await dovecot.append(a.user, mail(2));
  await waitFor('the second case', async () => (await cases(t)).length === 2);
  const stored = await rows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from inbound_emails where tenant_id = ${t.id}`,
  );
  assert.equal(stored[0]?.n, 2, 'each message stored once');
  if (polledByA) await second.close();
});
