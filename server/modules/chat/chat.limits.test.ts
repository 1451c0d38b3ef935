/**
 * Widget abuse (SECURITY.md RL-02), with the limits lowered for the test: new chats per IP and
 * per tenant, and messages per tenant, answer 429 with Retry-After past the limit; another
 * address and another tenant carry on unaffected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { startSession, visitorSocket } from '../../../tests/support/visitor.ts';

const { app } = await startTestApp({
  chat: { limits: { sessionsPerIpPerHour: 3, sessionsPerTenantPerHour: 5, messagesPerTenantPerMinute: 3 } },
});

const start = (channel: string, ip: string) =>
  app.inject({ method: 'POST', url: '/widget/v1/sessions', remoteAddress: ip, payload: { channel } });

test('one address gets a few new chats an hour, then 429 with Retry-After; other addresses still chat', async () => {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  for (let i = 0; i < 3; i++) assert.equal((await start(channel.id, '192.0.2.1')).statusCode, 201);
  const blocked = await start(channel.id, '192.0.2.1');
  assert.equal(blocked.statusCode, 429);
  assert.equal(blocked.json().error.code, 'rate_limited');
  assert.ok(Number(blocked.headers['retry-after']) > 0);
  const offline = await app.inject({
    method: 'POST',
    url: '/widget/v1/offline-messages',
    remoteAddress: '192.0.2.1',
    payload: { channel: channel.id, clientId: 'x', email: 'a@example.com', text: 'hi' },
  });
  assert.equal(offline.statusCode, 201, 'offline messages are counted on their own');
  assert.equal((await start(channel.id, '192.0.2.2')).statusCode, 201);
});

test('a tenant flooded from many addresses is throttled; another tenant is not', async () => {
  const flooded = await given.tenant(app);
  const calm = await given.tenant(app);
  const a = await given.chatChannel(flooded);
  const b = await given.chatChannel(calm);
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await start(a.id, `198.51.100.${i + 10}`)).statusCode);
  assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429, 429]);
  assert.equal((await start(b.id, '198.51.100.99')).statusCode, 201);
});

test('messages past the tenant’s limit are refused and not stored; another tenant’s go through', async () => {
  const flooded = await given.tenant(app);
  const calm = await given.tenant(app);
  const sessions = await Promise.all(
    [0, 1].map(async (i) =>
      startSession(app, (await given.chatChannel(flooded)).id, {}, `203.0.113.${i + 50}`),
    ),
  );
  const sockets = await Promise.all(sessions.map((s) => visitorSocket(app, s.token)));
  const [first, second] = sockets as [(typeof sockets)[0], (typeof sockets)[0]];
  for (const [socket, clientId] of [
    [first, 'a0'],
    [first, 'a1'],
    [second, 'b0'],
  ] as const) {
    socket.send({ type: 'message', clientId, text: 'counted' });
    await socket.next('ack');
  }
  second.send({ type: 'message', clientId: 'b1', text: 'one too many' });
  const refused = await second.next('error');
  assert.equal(refused.code, 'rate_limited');
  assert.equal(refused.clientId, 'b1');
  // Each session is one contact; what was stored is every acknowledged line and not the refused one.
  const cases = (await app.inject({ url: '/api/v1/cases', headers: flooded.headers })).json().items;
  assert.deepEqual(
    cases.map((c: { contactCount: number }) => c.contactCount),
    [1, 1],
  );
  const lines: string[] = [];
  for (const c of cases) {
    const timeline = await app.inject({ url: `/api/v1/cases/${c.id}/timeline`, headers: flooded.headers });
    for (const entry of timeline.json().items) if (entry.message) lines.push(entry.message.text);
  }
  assert.deepEqual(lines.sort(), ['counted', 'counted', 'counted']);
  const other = await startSession(app, (await given.chatChannel(calm)).id, {}, '203.0.113.60');
  const socket = await visitorSocket(app, other.token);
  socket.send({ type: 'message', clientId: 'c', text: 'fine' });
  assert.equal((await socket.next('ack')).message.text, 'fine');
  for (const s of [...sockets, socket]) s.ws.terminate();
});
