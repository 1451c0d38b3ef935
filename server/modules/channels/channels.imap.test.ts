/**
 * An email channel's IMAP mailbox through the API: defaults, the write-only password (sealed in
 * the row, never in a response, asked again when the mailbox changes), bad settings refused with
 * nothing changed, system sender addresses refused as inbound mailboxes (EL-04), and another
 * tenant seeing and changing nothing. Polling itself: email.imap-channels.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import * as given from '../../../tests/support/given.ts';
import { engine, startTestApp, TEST_SECRET } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';
import { deriveKey, openSecret } from '../../lib/secrets.ts';
import { refuseSystemAddress, relayAddress } from './channels.imap.ts';

const { app } = await startTestApp();
const PASSWORD = 'S3cret mailbox pässword';
// localhost: on a shared PostgreSQL another test file's pollers may try these mailboxes, and must
// neither reach the network nor wait for it (nothing listens on 993 or 143 here).
const mailbox = { host: 'LocalHost', username: 'support@fibre-co.example', password: PASSWORD };

async function addChannel(t: given.GivenTenant, imap: Record<string, unknown> = mailbox, address?: string) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/channels',
    headers: t.headers,
    payload: {
      type: 'email',
      name: `Support ${Math.random().toString(36).slice(2, 8)}`,
      address: address ?? `support-${Math.random().toString(36).slice(2, 8)}@${t.slug}.example`,
      settings: { imap },
    },
  });
}

async function storedPassword(channelId: string) {
  const [row] = await rows<{ imap_password: string | null }>(
    app.database.db,
    sql`select imap_password from channels where id = ${channelId}`,
  );
  return row?.imap_password ?? null;
}

const patch = (t: given.GivenTenant, id: string, payload: Record<string, unknown>, headers = t.headers) =>
  app.inject({ method: 'PATCH', url: `/api/v1/channels/${id}`, headers, payload });

test('an admin connects a mailbox: defaults filled in, the password shown only as set and stored sealed', async () => {
  const t = await given.tenant(app);
  const created = await addChannel(t);
  assert.equal(created.statusCode, 201, created.body);
  const channel = created.json();
  assert.deepEqual(channel.settings.imap, {
    host: 'localhost',
    port: 993,
    security: 'tls',
    username: 'support@fibre-co.example',
    folder: 'INBOX',
    afterDelivery: 'mark_seen',
    moveTo: null,
    passwordSet: true,
  });
  // Not polled yet (on a shared PostgreSQL another file's poller may already have failed to connect).
  const waiting = { state: 'waiting', error: null, polledAt: null, lastSuccessAt: null };
  if (engine === 'pglite') assert.deepEqual(channel.imapStatus, waiting);
  else assert.ok(['waiting', 'error'].includes(channel.imapStatus.state));

  const agent = await given.token(t, 'agent');
  const reads = [
    created,
    await app.inject({ url: '/api/v1/channels', headers: t.headers }),
    await app.inject({ url: `/api/v1/channels/${channel.id}`, headers: agent }),
    await patch(t, channel.id, { name: 'Renamed' }),
  ];
  for (const res of reads) {
    assert.equal(res.statusCode < 300, true, res.body);
    assert.ok(!res.body.includes(PASSWORD), 'no response carries the password');
    assert.ok(!res.body.includes('"password"'), 'nor a password field');
  }

  const sealed = (await storedPassword(channel.id)) ?? '';
  assert.ok(sealed.startsWith('v1.'), 'the column holds a sealed value');
  assert.ok(!sealed.includes(PASSWORD) && !sealed.includes('S3cret'), 'not the plaintext');
  const key = deriveKey(TEST_SECRET, 'channel-secrets');
  assert.equal(openSecret(key, sealed, `channel-imap:${t.id}:${channel.id}`), PASSWORD);
  assert.throws(() => openSecret(key, sealed, `channel-imap:${t.id}:00000000-0000-0000-0000-000000000000`));
});

test('STARTTLS and plain connections default to port 143; a move folder implies moving', async () => {
  const t = await given.tenant(app);
  const res = await addChannel(t, {
    ...mailbox,
    security: 'starttls',
    folder: 'inbox',
    moveTo: 'Rapport/Done',
  });
  assert.equal(res.statusCode, 201, res.body);
  const { imap } = res.json().settings;
  assert.equal(imap.port, 143);
  assert.equal(imap.folder, 'INBOX', 'INBOX is named case-insensitively');
  assert.equal(imap.afterDelivery, 'move');
  assert.equal(imap.moveTo, 'Rapport/Done');
});

test('bad mailbox settings are refused with their reason and store nothing', async () => {
  const t = await given.tenant(app);
  const cases: [Record<string, unknown>, number, string][] = [
    [{ ...mailbox, host: 'imap.example.com/evil' }, 400, 'validation_failed'],
    [{ ...mailbox, host: 'two words' }, 400, 'validation_failed'],
    [{ ...mailbox, host: '' }, 400, 'validation_failed'],
    [{ ...mailbox, port: 0 }, 400, 'validation_failed'],
    [{ ...mailbox, port: 70_000 }, 400, 'validation_failed'],
    [{ ...mailbox, port: '993' }, 400, 'validation_failed'],
    [{ ...mailbox, security: 'ssl' }, 400, 'validation_failed'],
    [{ ...mailbox, folder: 'In\r\nbox' }, 400, 'validation_failed'],
    [{ ...mailbox, username: 'a\nb' }, 400, 'validation_failed'],
    [{ ...mailbox, server: 'x' }, 400, 'unknown_field'],
    [{ ...mailbox, afterDelivery: 'delete' }, 400, 'validation_failed'],
    [{ ...mailbox, afterDelivery: 'move' }, 422, 'imap_settings_invalid'],
    [{ ...mailbox, afterDelivery: 'mark_seen', moveTo: 'Done' }, 422, 'imap_settings_invalid'],
    [{ ...mailbox, moveTo: 'INBOX' }, 422, 'imap_settings_invalid'],
    [{ host: mailbox.host, username: mailbox.username }, 422, 'imap_password_required'],
  ];
  for (const [imap, status, code] of cases) {
    const res = await addChannel(t, imap);
    assert.equal(res.statusCode, status, `${JSON.stringify(imap)}: ${res.body}`);
    assert.equal(res.json().error.code, code, JSON.stringify(imap));
    assert.ok(res.json().error.message.length > 0);
    assert.ok(!res.body.includes(PASSWORD));
  }
  const list = await app.inject({ url: '/api/v1/channels', headers: t.headers });
  assert.deepEqual(list.json().items, [], 'nothing was stored');
});

test('the stored password is kept while the account stays the same, and asked for again when it changes', async () => {
  const t = await given.tenant(app);
  const channel = (await addChannel(t)).json();
  const sealed = await storedPassword(channel.id);
  const { password: _password, ...withoutPassword } = mailbox;

  // Acknowledgement alone leaves the mailbox as it was.
  const ack = await patch(t, channel.id, { settings: { acknowledgement: { enabled: true, locale: 'de' } } });
  assert.equal(ack.statusCode, 200, ack.body);
  assert.equal(ack.json().settings.imap.host, 'localhost');
  assert.deepEqual(ack.json().settings.acknowledgement, { enabled: true, locale: 'de' });
  assert.equal(await storedPassword(channel.id), sealed);

  const folder = await patch(t, channel.id, {
    settings: { imap: { ...withoutPassword, folder: 'Support' } },
  });
  assert.equal(folder.statusCode, 200, folder.body);
  assert.equal(folder.json().settings.imap.folder, 'Support');
  assert.equal(folder.json().settings.imap.passwordSet, true);
  assert.equal(await storedPassword(channel.id), sealed, 'a new folder keeps the password');

  // Pointing the stored password at another server would hand it to that server.
  for (const change of [
    { host: 'imap.attacker.example' },
    { port: 1993 },
    { security: 'none' },
    { username: 'x' },
  ]) {
    const res = await patch(t, channel.id, { settings: { imap: { ...withoutPassword, ...change } } });
    assert.equal(res.statusCode, 422, `${JSON.stringify(change)}: ${res.body}`);
    assert.equal(res.json().error.code, 'imap_password_required');
    assert.deepEqual(res.json().error.details, [
      { path: 'body.settings.imap.password', message: 'required' },
    ]);
  }
  const after = await app.inject({ url: `/api/v1/channels/${channel.id}`, headers: t.headers });
  assert.equal(after.json().settings.imap.host, 'localhost', 'nothing changed');
  assert.equal(after.json().settings.imap.folder, 'Support');
  assert.equal(await storedPassword(channel.id), sealed);

  const moved = await patch(t, channel.id, {
    settings: { imap: { ...withoutPassword, host: '127.0.0.1', password: 'new one' } },
  });
  assert.equal(moved.statusCode, 200, moved.body);
  assert.notEqual(await storedPassword(channel.id), sealed);

  // null stops polling and forgets the password; the acknowledgement stays.
  const off = await patch(t, channel.id, { settings: { imap: null } });
  assert.equal(off.statusCode, 200, off.body);
  assert.equal(off.json().settings.imap, undefined);
  assert.equal(off.json().imapStatus, null);
  assert.deepEqual(off.json().settings.acknowledgement, { enabled: true, locale: 'de' });
  assert.equal(await storedPassword(channel.id), null);
});

test('an address machines send from is refused as an inbound mailbox (EL-04)', async () => {
  const t = await given.tenant(app);
  for (const address of [
    'mailer-daemon@fibre-co.example',
    'postmaster@fibre-co.example',
    'noreply@fibre-co.example',
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/channels',
      headers: t.headers,
      payload: { type: 'email', name: address, address },
    });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().error.code, 'system_address_refused');
    assert.deepEqual(res.json().error.details, [
      { path: 'body.address', message: 'a system sender address' },
    ]);
  }
  const byUsername = await addChannel(t, { ...mailbox, username: 'No-Reply@fibre-co.example' });
  assert.equal(byUsername.statusCode, 422, byUsername.body);
  assert.equal(byUsername.json().error.code, 'system_address_refused');
  const list = await app.inject({ url: '/api/v1/channels', headers: t.headers });
  assert.deepEqual(list.json().items, []);

  const channel = (await addChannel(t)).json();
  const res = await patch(t, channel.id, {
    settings: { imap: { ...mailbox, username: 'postmaster@fibre-co.example' } },
  });
  assert.equal(res.statusCode, 422, res.body);
  assert.equal(res.json().error.code, 'system_address_refused');
});

test('the outbound relay account is a system sender address too', () => {
  const relay = relayAddress('smtps://notify%40fibre-co.example:pw@smtp.fibre-co.example:465');
  assert.equal(relay, 'notify@fibre-co.example');
  assert.equal(relayAddress('smtp://apikey:pw@smtp.example'), null, 'a plain user name is no address');
  assert.equal(relayAddress(null), null);
  assert.throws(
    () => refuseSystemAddress('Notify@Fibre-Co.example', [relay!], 'body.address'),
    /notify@fibre-co.example cannot be an inbound mailbox: .* Rapport sends its own mail from/,
  );
  assert.doesNotThrow(() => refuseSystemAddress('support@fibre-co.example', [relay!], 'body.address'));
});

test('staff who may not manage channels cannot change the mailbox; another tenant sees and changes nothing', async () => {
  const t = await given.tenant(app);
  const channel = (await addChannel(t)).json();
  const agent = await given.token(t, 'agent');
  const refused = await patch(
    t,
    channel.id,
    { settings: { imap: { ...mailbox, host: 'evil.example' } } },
    agent,
  );
  assert.equal(refused.statusCode, 403, refused.body);

  const other = await given.tenant(app, 'Other Broadband');
  const sealed = await storedPassword(channel.id);
  const read = await app.inject({ url: `/api/v1/channels/${channel.id}`, headers: other.headers });
  assert.equal(read.statusCode, 404);
  const list = await app.inject({ url: '/api/v1/channels', headers: other.headers });
  assert.deepEqual(list.json().items, []);
  for (const payload of [
    { settings: { imap: { ...mailbox, host: 'imap.other.example' } } },
    { settings: { imap: null } },
    { active: false },
  ]) {
    const res = await patch(other, channel.id, payload, other.headers);
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().error.code, 'channel_not_found');
  }
  const mine = await app.inject({ url: `/api/v1/channels/${channel.id}`, headers: t.headers });
  // The poll status is the pollers' business (on a shared database another file's may run).
  const now = mine.json() as Record<string, unknown>;
  assert.deepEqual({ ...now, imapStatus: null }, { ...channel, imapStatus: null }, 'unchanged');
  assert.equal(await storedPassword(channel.id), sealed);
});

test('SS-01: a mailbox host on a private, link-local or metadata address is refused when saved and changes nothing', async () => {
  const t = await given.tenant(app);
  for (const host of ['169.254.169.254', '10.0.0.7', '0.0.0.0', '0xa000007']) {
    const res = await addChannel(t, { ...mailbox, host });
    assert.equal(res.statusCode, 422, host);
    assert.equal(res.json().error.code, 'destination_refused');
    assert.equal(res.json().error.details[0].path, 'body.settings.imap.host');
  }
  const listed = await app.inject({ url: '/api/v1/channels', headers: t.headers });
  assert.deepEqual(listed.json().items, [], 'no channel was stored');

  const created = await addChannel(t);
  assert.equal(created.statusCode, 201);
  const id = created.json().id;
  const res = await patch(t, id, { settings: { imap: { ...mailbox, host: '169.254.169.254' } } });
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'destination_refused');
  const after = await app.inject({ url: `/api/v1/channels/${id}`, headers: t.headers });
  assert.equal(after.json().settings.imap.host, 'localhost', 'the mailbox is unchanged');
});
