/**
 * The widget's public endpoints before a chat: its config (online only within business hours
 * with someone signed in), starting a session (a signed identity is the known customer, a wrong
 * one 401, none configured 403; an unsigned email never joins an existing customer), the offline
 * form (a chat contact answered by email), bad input, and /widget.js itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import type { WebSocket } from 'ws';
import { eventually } from '../../../tests/support/eventually.ts';
import * as given from '../../../tests/support/given.ts';
import { engine, startTestApp, TEST_SECRET } from '../../../tests/support/test-app.ts';
import { startSession } from '../../../tests/support/visitor.ts';
import { buildApp } from '../../app.ts';
import { openDatabase, rows } from '../../db/client.ts';
import { WIDGET_BUDGET_GZIP } from './chat.bundle.ts';
import { identityHash } from './chat.identity.ts';

const { app } = await startTestApp();
const SECRET = 'site-signing-secret-0123456789abcdef';

const config = async (channelId: string) => {
  const res = await app.inject({ url: `/widget/v1/config?channel=${channelId}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
};

async function customerOf(tenantId: string, sessionId: string) {
  const [row] = await rows<{
    customer_id: string;
    identities: { kind: string; value: string; verified: boolean }[];
  }>(
    app.database.db,
    sql`select s.customer_id, (select json_agg(json_build_object('kind', i.kind, 'value', i.value, 'verified', i.verified)
                                order by i.kind) from customer_identities i
                               where i.tenant_id = s.tenant_id and i.customer_id = s.customer_id) as identities
        from chat_sessions s where s.tenant_id = ${tenantId} and s.id = ${sessionId}`,
  );
  return row!;
}

/** An agent of `t` signs in and opens the workspace (its realtime socket). */
async function agentOnline(t: given.GivenTenant): Promise<WebSocket> {
  const session = await given.signedIn(t, await given.user(t, 'agent'));
  return app.injectWS('/api/v1/realtime', { headers: { cookie: session.cookie } });
}

test('the config names the chat and is offline until an agent signs in, online while one is there', async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t, {
    name: 'Northwind chat',
    settings: { greeting: 'Hi there', colour: '#2b8a3e' },
  });
  const before = await config(channel.id);
  assert.deepEqual(
    { ...before, attachments: undefined },
    {
      channel: channel.id,
      name: 'Northwind chat',
      greeting: 'Hi there',
      colour: '#2b8a3e',
      online: false,
      offlineReason: 'no_agent',
      attachments: undefined,
    },
  );
  const ws = await agentOnline(t);
  await eventually('the chat is online', async () => (await config(channel.id)).online);
  assert.equal((await config(channel.id)).online, true);
  ws.terminate();
  await eventually('the chat is offline', async () => !(await config(channel.id)).online);
  assert.equal((await config(channel.id)).offlineReason, 'no_agent', 'offline again once the agent left');
});

test('on PostgreSQL an agent signed in on one node makes the chat online on the others', {
  skip: engine !== 'postgres' && 'two nodes share one PostgreSQL server; PGlite admits one process',
}, async () => {
  const database = await openDatabase({ url: process.env.TEST_DATABASE_URL!, poolSize: 2 });
  const other = await buildApp({ database, secret: TEST_SECRET, webRoot: '/nonexistent', imap: false });
  await other.ready();
  try {
    const t = await given.tenant(app);
    const channel = await given.chatChannel(t);
    const elsewhere = async () =>
      (await other.inject({ url: `/widget/v1/config?channel=${channel.id}` })).json();
    assert.equal((await elsewhere()).online, false);
    const session = await given.signedIn(t, await given.user(t, 'agent'));
    const ws: WebSocket = await app.injectWS('/api/v1/realtime', { headers: { cookie: session.cookie } });
    for (let i = 0; i < 200 && !(await elsewhere()).online; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await elsewhere()).online, true, 'the other node heard of the agent');
    ws.terminate();
    for (let i = 0; i < 200 && (await elsewhere()).online; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await elsewhere()).online, false, 'and that they left');
  } finally {
    await other.close();
    await database.close();
  }
});

test('on PostgreSQL a node that starts while an agent is signed in elsewhere asks, and is told at once', {
  skip: engine !== 'postgres' && 'two nodes share one PostgreSQL server; PGlite admits one process',
}, async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const session = await given.signedIn(t, await given.user(t, 'agent'));
  const ws: WebSocket = await app.injectWS('/api/v1/realtime', { headers: { cookie: session.cookie } });
  const database = await openDatabase({ url: process.env.TEST_DATABASE_URL!, poolSize: 2 });
  const late = await buildApp({ database, secret: TEST_SECRET, webRoot: '/nonexistent', imap: false });
  await late.ready();
  try {
    const online = async () =>
      (await late.inject({ url: `/widget/v1/config?channel=${channel.id}` })).json().online;
    // Well before the next heartbeat (20 s): the answer to the new node's query.
    for (let i = 0; i < 200 && !(await online()); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await online(), true, 'the new node knows the agent is there');
  } finally {
    ws.terminate();
    await late.close();
    await database.close();
  }
});

test('outside business hours the chat is offline even with agents signed in', async () => {
  const t = await given.tenant(app);
  const now = new Date();
  // Open all day, but only on the day after tomorrow (UTC).
  const today = ((now.getUTCDay() + 6) % 7) + 1;
  const other = ((today + 1) % 7) + 1;
  const channel = await given.chatChannel(t, {
    settings: { businessHours: { timezone: 'UTC', weekly: [{ day: other, start: '00:00', end: '24:00' }] } },
  });
  const always = await given.chatChannel(t);
  const ws = await agentOnline(t);
  await eventually('the chat is online', async () => (await config(always.id)).online);
  assert.equal((await config(always.id)).online, true, 'someone is there');
  const c = await config(channel.id);
  assert.equal(c.online, false);
  assert.equal(c.offlineReason, 'outside_hours');
  ws.terminate();
});

test('an unknown, inactive or non-chat channel is 404 for config and sessions', async () => {
  const t = await given.tenant(app);
  const inactive = await given.chatChannel(t, { active: false });
  const email = await given.emailChannel(t);
  for (const id of [inactive.id, email.id, '00000000-0000-4000-8000-000000000000']) {
    const res = await app.inject({ url: `/widget/v1/config?channel=${id}` });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'channel_not_found');
    const start = await app.inject({ method: 'POST', url: '/widget/v1/sessions', payload: { channel: id } });
    assert.equal(start.json().error.code, 'channel_not_found');
  }
});

test('a visitor with a valid signed identity is the known customer, on every visit', async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t, { identitySecret: SECRET });
  const identity = { userId: 'user-4711', userHash: identityHash(SECRET, 'user-4711') };
  const first = await startSession(app, channel.id, { name: 'Pat Known', identity });
  assert.equal(first.verified, true);
  const second = await startSession(app, channel.id, {
    identity: { ...identity, userHash: identity.userHash.toUpperCase() },
  });
  const a = await customerOf(t.id, first.id);
  const b = await customerOf(t.id, second.id);
  assert.equal(a.customer_id, b.customer_id, 'the same customer both times');
  assert.deepEqual(a.identities, [{ kind: 'external', value: 'user-4711', verified: true }]);
});

test('a wrong signature is 401, a channel without a secret refuses signed identities with 403; nothing is stored', async () => {
  const t = await given.tenant(app);
  const signed = await given.chatChannel(t, { identitySecret: SECRET });
  const unsigned = await given.chatChannel(t);
  const count = async () =>
    (
      await rows<{ n: number }>(
        app.database.db,
        sql`select count(*)::int as n from chat_sessions where tenant_id = ${t.id}`,
      )
    )[0]!.n;
  const cases: [string, Record<string, unknown>, number, string][] = [
    [
      signed.id,
      { userId: 'user-1', userHash: identityHash('another secret', 'user-1') },
      401,
      'chat_identity_invalid',
    ],
    [signed.id, { userId: 'user-2', userHash: identityHash(SECRET, 'user-1') }, 401, 'chat_identity_invalid'],
    [
      unsigned.id,
      { userId: 'user-1', userHash: identityHash(SECRET, 'user-1') },
      403,
      'chat_identity_not_configured',
    ],
  ];
  for (const [channel, identity, status, code] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: '/widget/v1/sessions',
      payload: { channel, identity },
    });
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().error.code, code);
  }
  // A secret sealed for another channel's row does not open here: fails closed too.
  await app.database.db.execute(
    sql`update channels set secrets = (select secrets from channels where id = ${signed.id}) where id = ${unsigned.id}`,
  );
  const moved = await app.inject({
    method: 'POST',
    url: '/widget/v1/sessions',
    payload: {
      channel: unsigned.id,
      identity: { userId: 'user-1', userHash: identityHash(SECRET, 'user-1') },
    },
  });
  assert.equal(moved.statusCode, 403, moved.body);
  assert.equal(await count(), 0);
});

test('an unsigned email never joins the existing customer who has it', async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const existing = await given.contact(t, { from: { identity: 'dana@example.com', name: 'Dana' } });
  const session = await startSession(app, channel.id, { name: 'Not Dana', email: 'DANA@example.com' });
  assert.equal(session.verified, false);
  assert.equal(session.email, 'dana@example.com');
  const visitor = await customerOf(t.id, session.id);
  assert.notEqual(visitor.customer_id, existing.customer.id);
  assert.deepEqual(visitor.identities, [{ kind: 'chat', value: session.id, verified: true }]);
  const dana = await app.inject({ url: `/api/v1/customers/${existing.customer.id}`, headers: t.headers });
  assert.deepEqual(
    dana.json().identities.map((i: { value: string }) => i.value),
    ['dana@example.com'],
  );
});

test('the offline form becomes a chat contact answered by email; sent twice it is stored once', async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const body = {
    channel: channel.id,
    clientId: 'offline-1',
    name: 'Robin',
    email: 'robin@example.com',
    text: 'Is my order on its way?',
  };
  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ method: 'POST', url: '/widget/v1/offline-messages', payload: body });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json(), { received: true });
  }
  const cases = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  assert.equal(cases.length, 1);
  assert.equal(cases[0].channel, 'chat');
  const customer = (
    await app.inject({ url: `/api/v1/customers/${cases[0].customerId}`, headers: t.headers })
  ).json();
  assert.equal(customer.preferredChannel, 'email');
  assert.equal(customer.name, 'Robin');
  assert.ok(
    customer.identities.some(
      (i: { kind: string; value: string; verified: boolean }) =>
        i.kind === 'email' && i.value === 'robin@example.com' && !i.verified,
    ),
    'a free address is the new customer’s unverified email',
  );
  const timeline = (
    await app.inject({ url: `/api/v1/cases/${cases[0].id}/timeline`, headers: t.headers })
  ).json().items;
  assert.ok(
    timeline.some((e: { message?: { text: string } }) => e.message?.text === 'Is my order on its way?'),
  );

  // The same address already someone else's: a new customer still, without that address.
  await given.contact(t, { from: { identity: 'kim@example.com' } });
  await app.inject({
    method: 'POST',
    url: '/widget/v1/offline-messages',
    payload: { ...body, clientId: 'offline-2', email: 'kim@example.com', name: 'Not Kim' },
  });
  const [kim] = await rows<{ n: number }>(
    app.database.db,
    sql`select count(distinct customer_id)::int as n from customer_identities where tenant_id = ${t.id} and value = 'kim@example.com'`,
  );
  assert.equal(kim!.n, 1);
  const [session] = await rows<{ visitor_email: string; ended: boolean }>(
    app.database.db,
    sql`select visitor_email, ended_at is not null as ended from chat_sessions where tenant_id = ${t.id} and visitor_name = 'Not Kim'`,
  );
  assert.deepEqual(session, { visitor_email: 'kim@example.com', ended: true });
});

test('bad input to the widget is a 4xx with a code and stores nothing (MI-05)', async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const bad: [string, unknown, number, string][] = [
    ['/widget/v1/sessions', '{"channel": ', 400, 'invalid_json'],
    ['/widget/v1/sessions', { channel: channel.id, admin: true }, 400, 'unknown_field'],
    ['/widget/v1/sessions', { channel: channel.id, email: 'not an address' }, 400, 'validation_failed'],
    ['/widget/v1/sessions', { channel: channel.id, name: 7 }, 400, 'validation_failed'],
    ['/widget/v1/sessions', { channel: 'x' }, 400, 'validation_failed'],
    [
      '/widget/v1/sessions',
      { channel: channel.id, identity: { userId: 'a b', userHash: 'f'.repeat(64) } },
      400,
      'validation_failed',
    ],
    [
      '/widget/v1/offline-messages',
      { channel: channel.id, clientId: 'c1', email: 'a@example.com', text: '' },
      400,
      'validation_failed',
    ],
    [
      '/widget/v1/offline-messages',
      { channel: channel.id, clientId: 'c1', email: 'a@example.com', text: 'x'.repeat(5001) },
      400,
      'validation_failed',
    ],
    [
      '/widget/v1/offline-messages',
      { channel: channel.id, clientId: '../x', email: 'a@example.com', text: 'hi' },
      400,
      'validation_failed',
    ],
  ];
  for (const [url, payload, status, code] of bad) {
    const res = await app.inject({
      method: 'POST',
      url,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, status, `${JSON.stringify(payload)}: ${res.body}`);
    assert.equal(res.json().error.code, code);
    assert.doesNotMatch(res.body, /at .*\.ts:\d+/, 'no stack trace');
  }
  const huge = await app.inject({
    method: 'POST',
    url: '/widget/v1/sessions',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ channel: channel.id, page: 'x'.repeat(2 * 1024 * 1024) }),
  });
  assert.equal(huge.statusCode, 413);
  const [stored] = await rows<{ n: number }>(
    app.database.db,
    sql`select (select count(*) from chat_sessions where tenant_id = ${t.id}) + (select count(*) from customers where tenant_id = ${t.id}) as n`,
  );
  assert.equal(Number(stored!.n), 0);
});

test('any site may call the widget API (CORS without credentials); preflights are answered', async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const res = await app.inject({
    url: `/widget/v1/config?channel=${channel.id}`,
    headers: { origin: 'https://shop.example' },
  });
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.equal(res.headers['access-control-allow-credentials'], undefined);
  assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/widget/v1/sessions',
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(preflight.statusCode, 204);
  assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
});

test('/widget.js is one script within the 20 KB gzip budget, cached by ETag', async () => {
  const res = await app.inject({ url: '/widget.js', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.match(String(res.headers['content-type']), /javascript/);
  assert.match(String(res.headers['cache-control']), /max-age=\d{5,}/);
  assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
  const size = res.rawPayload.length;
  console.log(`widget.js: ${size} bytes gzip (budget ${WIDGET_BUDGET_GZIP})`);
  assert.ok(
    size <= WIDGET_BUDGET_GZIP,
    `widget.js is ${size} bytes gzip, over the ${WIDGET_BUDGET_GZIP} budget`,
  );
  const js = gunzipSync(res.rawPayload).toString();
  assert.doesNotMatch(js, /\binnerHTML\b|insertAdjacentHTML|document\.write/, 'text only, never HTML');
  const again = await app.inject({
    url: '/widget.js',
    headers: { 'if-none-match': String(res.headers.etag) },
  });
  assert.equal(again.statusCode, 304);
});
