/**
 * Channels of every type through the API: each type's address and settings checked, secrets
 * write-only (named in `secretsSet`, sealed at rest, never returned), the webhook URL to paste
 * into the platform, and a channel made this way receiving its platform's signed webhooks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCOUNT_SID, AUTH_TOKEN, inboundSms, signedForm } from '../../../tests/support/fake-twilio.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber, ukNumber } from '../../../tests/support/given-channels.ts';
import { startTestApp, TEST_SECRET } from '../../../tests/support/test-app.ts';
import { rows, sql } from '../../db/client.ts';
import { deriveKey } from '../../lib/secrets.ts';
import { findChannel } from './channels.queries.ts';
import { openChannelSecret } from './channels.secrets.ts';

const { app } = await startTestApp();
const key = deriveKey(TEST_SECRET, 'channel-secrets');

async function add(t: given.GivenTenant, payload: Record<string, unknown>, headers = t.headers) {
  return app.inject({ method: 'POST', url: '/api/v1/channels', headers, payload });
}
async function patch(t: given.GivenTenant, id: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'PATCH', url: `/api/v1/channels/${id}`, headers: t.headers, payload });
}
async function storedSecrets(id: string) {
  const [row] = await rows<{ secrets: Record<string, string> }>(
    app.database.db,
    sql`select secrets from channels where id = ${id}`,
  );
  return row!.secrets;
}

test('an admin adds an SMS number: its auth token is stored sealed, listed only by name, and the webhook URL is shown', async () => {
  const t = await given.tenant(app);
  const number = ukNumber();
  const res = await add(t, {
    type: 'sms',
    name: 'Texts',
    address: number.replace('+44', '+44 '),
    settings: { accountSid: ACCOUNT_SID },
    secrets: { authToken: AUTH_TOKEN },
  });
  assert.equal(res.statusCode, 201, res.body);
  const channel = res.json();
  assert.equal(channel.type, 'sms');
  assert.equal(channel.address, number, 'stored in E.164');
  assert.deepEqual(channel.secretsSet, ['authToken']);
  assert.equal(channel.webhookPath, `/webhooks/v1/channels/${channel.id}`);
  assert.equal(channel.webhookUrl, null, 'no public URL known yet');
  assert.ok(!res.body.includes(AUTH_TOKEN), 'the token is never returned');
  const sealed = await storedSecrets(channel.id);
  assert.ok(!JSON.stringify(sealed).includes(AUTH_TOKEN), 'sealed at rest');
  const row = (await findChannel(app.database.db, t.id, channel.id))!;
  assert.equal(openChannelSecret(key, row, 'authToken'), AUTH_TOKEN);

  const agent = await given.token(t, 'agent');
  const listed = await app.inject({ url: '/api/v1/channels', headers: agent });
  assert.ok(!listed.body.includes(AUTH_TOKEN));
  assert.deepEqual(listed.json().items[0].secretsSet, ['authToken']);

  const withUrl = await patch(t, channel.id, {
    settings: { publicUrl: `https://help.example.com/webhooks/v1/channels/${channel.id}` },
  });
  assert.equal(withUrl.statusCode, 200, withUrl.body);
  assert.equal(withUrl.json().webhookUrl, `https://help.example.com/webhooks/v1/channels/${channel.id}`);
  assert.equal(withUrl.json().settings.accountSid, ACCOUNT_SID, 'other settings kept');
  assert.deepEqual(withUrl.json().secretsSet, ['authToken'], 'a write without secrets keeps them');
});

test('every channel type is accepted with its own address, settings and secrets', async () => {
  const t = await given.tenant(app);
  const id = () => String(Math.floor(Math.random() * 1e15));
  const bodies = [
    {
      type: 'chat',
      name: 'Website chat',
      settings: {
        greeting: 'Hi! How can we help?',
        colour: '#1864ab',
        businessHours: { timezone: 'Europe/London', weekly: [{ day: 1, start: '09:00', end: '17:30' }] },
      },
      secrets: { identitySecret: 'site-signing-key' },
    },
    {
      type: 'phone',
      name: 'Support line',
      address: ukNumber(),
      settings: {},
      secrets: { authToken: 'phone-auth-token' },
    },
    {
      type: 'whatsapp',
      name: 'WhatsApp',
      address: id(),
      settings: {
        displayPhoneNumber: ukNumber(),
        apiVersion: 'v21.0',
        templates: [{ name: 'case_update', language: 'en_GB', text: 'Your case {{1}} has an update' }],
      },
      secrets: {
        appSecret: 'app-secret',
        accessToken: 'EAAG-whatsapp-access-token',
        verifyToken: 'verify-me',
      },
    },
    {
      type: 'messenger',
      name: 'Facebook page',
      address: id(),
      secrets: { appSecret: 'page-app-secret', accessToken: 'page-access-token' },
    },
    { type: 'instagram', name: 'Instagram', address: id(), settings: { apiVersion: 'v21.0' } },
    {
      type: 'x',
      name: 'X',
      address: id(),
      settings: { handle: '@NorthwindHelp' },
      secrets: { consumerSecret: 'x-consumer-secret' },
    },
  ];
  for (const body of bodies) {
    const res = await add(t, body);
    assert.equal(res.statusCode, 201, `${body.type}: ${res.body}`);
    assert.deepEqual(res.json().secretsSet, Object.keys(body.secrets ?? {}).sort(), body.type);
    for (const value of Object.values(body.secrets ?? {})) assert.ok(!res.body.includes(value), body.type);
    assert.equal(res.json().webhookPath === null, body.type === 'chat', `${body.type}: webhook path`);
  }
  const chat = (await app.inject({ url: '/api/v1/channels', headers: t.headers }))
    .json()
    .items.find((c: { type: string }) => c.type === 'chat');
  assert.equal(chat.address, null);
  assert.equal(chat.settings.greeting, 'Hi! How can we help?');
  // The widget opens the identity secret under the same name and row binding.
  const row = (await findChannel(app.database.db, t.id, chat.id))!;
  assert.equal(openChannelSecret(key, row, 'identitySecret'), 'site-signing-key');
});

test('bad addresses, settings and secrets per type are 400s with the field, and store nothing', async () => {
  const t = await given.tenant(app);
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { type: 'sms', name: 'a', address: '07700 900123', settings: { accountSid: ACCOUNT_SID } },
      'validation_failed',
      'body.address',
    ],
    [{ type: 'sms', name: 'b', settings: { accountSid: ACCOUNT_SID } }, 'validation_failed', 'body.address'],
    [{ type: 'sms', name: 'c', address: ukNumber(), settings: {} }, 'validation_failed', 'body.settings'],
    [
      { type: 'sms', name: 'd', address: ukNumber(), settings: { accountSid: 'nope' } },
      'validation_failed',
      'body.settings.accountSid',
    ],
    [
      {
        type: 'sms',
        name: 'e',
        address: ukNumber(),
        settings: { accountSid: ACCOUNT_SID, apiBaseUrl: 'javascript:alert(1)' },
      },
      'validation_failed',
      'body.settings.apiBaseUrl',
    ],
    [
      {
        type: 'sms',
        name: 'f',
        address: ukNumber(),
        settings: { accountSid: ACCOUNT_SID },
        secrets: { appSecret: 'x' },
      },
      'unknown_field',
      'body.secrets.appSecret',
    ],
    [
      {
        type: 'sms',
        name: 'g',
        address: ukNumber(),
        settings: { accountSid: ACCOUNT_SID, acknowledgement: {} },
      },
      'unknown_field',
      'body.settings.acknowledgement',
    ],
    [{ type: 'chat', name: 'h', address: 'chat@x.example' }, 'validation_failed', 'body.address'],
    [{ type: 'chat', name: 'i', settings: { colour: 'red' } }, 'validation_failed', 'body.settings.colour'],
    [{ type: 'whatsapp', name: 'j', address: '+447700900123' }, 'validation_failed', 'body.address'],
    [
      { type: 'email', name: 'k', address: 'k@x.example', secrets: { authToken: 'x' } },
      'unknown_field',
      'body.secrets.authToken',
    ],
    [
      { type: 'x', name: 'l', address: '42', secrets: { consumerSecret: 'a\nb' } },
      'validation_failed',
      'body.secrets.consumerSecret',
    ],
  ];
  for (const [payload, code, path] of cases) {
    const res = await add(t, payload);
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
    assert.equal(res.json().error.code, code, JSON.stringify(payload));
    assert.ok(
      res.json().error.details.some((d: { path: string }) => d.path === path),
      `${JSON.stringify(payload)} names ${path}: ${res.body}`,
    );
  }
  assert.deepEqual((await app.inject({ url: '/api/v1/channels', headers: t.headers })).json().items, []);
});

test('a number is one channel per type: the same SMS number twice is a 409, as an SMS and a phone line it is fine', async () => {
  const t = await given.tenant(app);
  const other = await given.tenant(app);
  const number = ukNumber();
  const sms = { type: 'sms', address: number, settings: { accountSid: ACCOUNT_SID } };
  assert.equal((await add(t, { ...sms, name: 'Texts' })).statusCode, 201);
  const again = await add(other, { ...sms, name: 'Texts too' });
  assert.equal(again.statusCode, 409, again.body);
  assert.equal(again.json().error.code, 'conflict');
  assert.equal((await add(t, { type: 'phone', name: 'Line', address: number })).statusCode, 201);
});

test('secrets are replaced or removed one by one; a removed auth token makes the webhook fail closed', async () => {
  const t = await given.tenant(app);
  const created = await add(t, {
    type: 'sms',
    name: 'Texts',
    address: ukNumber(),
    settings: { accountSid: ACCOUNT_SID },
    secrets: { authToken: 'first-token' },
  });
  const channel = created.json();
  const url = `https://help.example.com/webhooks/v1/channels/${channel.id}`;
  await patch(t, channel.id, { settings: { publicUrl: url } });
  const sms = (token: string) =>
    signedForm(url, inboundSms({ from: customerNumber(), to: channel.address, body: 'Hello' }), token);
  const deliver = async (token: string) => {
    const form = sms(token);
    return app.inject({
      method: 'POST',
      url: channel.webhookPath,
      payload: form.payload,
      headers: form.headers,
    });
  };
  assert.equal((await deliver('first-token')).statusCode, 200);

  const rotated = await patch(t, channel.id, { secrets: { authToken: 'second-token' } });
  assert.equal(rotated.statusCode, 200, rotated.body);
  assert.ok(!rotated.body.includes('second-token'));
  assert.equal((await deliver('first-token')).statusCode, 403, 'the old token no longer verifies');
  assert.equal((await deliver('second-token')).statusCode, 200);

  const removed = await patch(t, channel.id, { secrets: { authToken: null } });
  assert.deepEqual(removed.json().secretsSet, []);
  const refused = await deliver('second-token');
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().error.code, 'webhook_not_configured');

  const events = await rows<{ data: { changed: string[] } }>(
    app.database.db,
    sql`select data from events where tenant_id = ${t.id} and type = 'channel.updated' order by id`,
  );
  assert.ok(events.some((e) => e.data.changed.includes('secrets.authToken')));
  assert.ok(!JSON.stringify(events).includes('second-token'), 'events never carry a secret');
});

test('a channel switched off stops taking webhooks at once; a moved number follows a PATCH of its address', async () => {
  const t = await given.tenant(app);
  const created = (
    await add(t, {
      type: 'sms',
      name: 'Texts',
      address: ukNumber(),
      settings: { accountSid: ACCOUNT_SID, publicUrl: 'https://help.example.com/sms' },
      secrets: { authToken: AUTH_TOKEN },
    })
  ).json();
  const moved = ukNumber();
  const res = await patch(t, created.id, { address: moved });
  assert.equal(res.json().address, moved);
  const form = signedForm(
    'https://help.example.com/sms',
    inboundSms({ from: customerNumber(), to: moved, body: 'Hi' }),
  );
  const ok = await app.inject({
    method: 'POST',
    url: created.webhookPath,
    payload: form.payload,
    headers: form.headers,
  });
  assert.equal(ok.statusCode, 200, ok.body);
  await patch(t, created.id, { active: false });
  const off = await app.inject({
    method: 'POST',
    url: created.webhookPath,
    payload: form.payload,
    headers: form.headers,
  });
  assert.equal(off.statusCode, 404, 'a channel change empties the webhook cache');
  const email = await given.emailChannel(t);
  const refused = await patch(t, email.id, { address: 'other@x.example' });
  assert.equal(refused.statusCode, 400);
});

test('SS-01: an API base URL on a private, link-local or metadata address is refused when saved and changes nothing', async () => {
  const t = await given.tenant(app);
  for (const apiBaseUrl of ['http://169.254.169.254', 'https://10.0.0.7/twilio', 'http://[fd00::1]:8080']) {
    const res = await add(t, {
      type: 'sms',
      name: `Texts ${apiBaseUrl}`,
      address: ukNumber(),
      settings: { accountSid: ACCOUNT_SID, apiBaseUrl },
    });
    assert.equal(res.statusCode, 422, `${apiBaseUrl}: ${res.body}`);
    assert.equal(res.json().error.code, 'destination_refused');
    assert.equal(res.json().error.details[0].path, 'body.settings.apiBaseUrl');
  }
  assert.deepEqual((await app.inject({ url: '/api/v1/channels', headers: t.headers })).json().items, []);
  const ok = await add(t, {
    type: 'sms',
    name: 'Texts',
    address: ukNumber(),
    settings: { accountSid: ACCOUNT_SID },
  });
  const res = await patch(t, ok.json().id, { settings: { apiBaseUrl: 'http://169.254.169.254/latest' } });
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'destination_refused');
  const after = await app.inject({ url: `/api/v1/channels/${ok.json().id}`, headers: t.headers });
  assert.equal(after.json().settings.apiBaseUrl, undefined, 'unchanged');
});
