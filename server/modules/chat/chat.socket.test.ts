/**
 * Chatting over the visitor's WebSocket: a message is a contact on the visitor's case, the
 * client id makes a resend (also a concurrent one) a no-op, an agent's reply and typing and the
 * case owner (name and photo) reach the socket, a reconnect gets what it missed, chat text stays
 * text (XS-01), and malformed frames close the socket with a code (MI-05).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { WebSocket } from 'ws';
import { CHAT_CLOSE } from '../../../shared/api/chat.ts';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { startSession, visitorSocket } from '../../../tests/support/visitor.ts';
import { rows } from '../../db/client.ts';
import { createUser } from '../tenants/tenants.service.ts';

const { app } = await startTestApp();

async function chat(name = 'Visitor Vee') {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const session = await startSession(app, channel.id, { name, email: 'vee@example.com' });
  return { t, channel, session, visitor: await visitorSocket(app, session.token) };
}

const contactsOf = async (tenantId: string) =>
  rows<{ case_id: string; external_id: string; text: string }>(
    app.database.db,
    sql`select c.case_id, c.external_id, m.text from contacts c join messages m on m.tenant_id = c.tenant_id and m.id = c.message_id
        where c.tenant_id = ${tenantId} order by c.received_at`,
  );

test('a visitor message is acknowledged and lands as a chat contact on the visitor’s case', async () => {
  const { t, session, visitor } = await chat();
  visitor.send({ type: 'message', clientId: 'm1', text: 'My router blinks red' });
  const ack = await visitor.next('ack');
  assert.equal(ack.clientId, 'm1');
  assert.equal(ack.message.text, 'My router blinks red');
  assert.equal(ack.message.from, 'visitor');
  const cases = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  assert.equal(cases.length, 1);
  assert.equal(cases[0].channel, 'chat');
  assert.equal(cases[0].subject, 'My router blinks red');
  const customer = (
    await app.inject({ url: `/api/v1/customers/${cases[0].customerId}`, headers: t.headers })
  ).json();
  assert.equal(customer.name, 'Visitor Vee');
  const [stored] = await rows<{ case_id: string }>(
    app.database.db,
    sql`select case_id from chat_sessions where tenant_id = ${t.id} and id = ${session.id}`,
  );
  assert.equal(stored!.case_id, cases[0].id, 'the session follows its case');
  visitor.ws.terminate();
});

test('a message resent with the same client id is stored once, also when two sockets send it at once', async () => {
  const { t, session, visitor } = await chat();
  visitor.send({ type: 'message', clientId: 'dup', text: 'Hello?' });
  const first = await visitor.next('ack');
  visitor.send({ type: 'message', clientId: 'dup', text: 'Hello?' });
  const again = await visitor.next('ack');
  assert.equal(again.message.id, first.message.id);

  const tabs = [visitor, await visitorSocket(app, session.token), await visitorSocket(app, session.token)];
  for (const tab of tabs) tab.send({ type: 'message', clientId: 'race', text: 'Anyone there?' });
  const acks = await Promise.all(tabs.map((tab) => tab.next('ack')));
  assert.equal(new Set(acks.map((a) => a.message.id)).size, 1, 'one message for all three');
  const stored = await contactsOf(t.id);
  assert.deepEqual(
    stored.map((c) => c.text),
    ['Hello?', 'Anyone there?'],
  );
  for (const tab of tabs) tab.ws.terminate();
});

test('an agent’s reply, typing and name and photo reach the visitor live', async () => {
  const { t, visitor } = await chat();
  visitor.send({ type: 'message', clientId: 'q', text: 'Can someone help?' });
  await visitor.next('ack');
  const caseId = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items[0].id;
  const sam = await createUser(app.database.db, t.id, {
    email: 'sam@staff.example',
    displayName: 'Sam Taylor',
    role: 'agent',
    password: given.PASSWORD,
    avatarUrl: 'https://cdn.example/sam.png',
  });
  const session = await given.signedIn(t, { email: 'sam@staff.example', password: given.PASSWORD });

  const typing = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/typing`,
    headers: session.write,
    payload: { typing: true },
  });
  assert.equal(typing.statusCode, 204, typing.body);
  assert.deepEqual(await visitor.next('typing'), { type: 'typing', typing: true, name: 'Sam Taylor' });

  const reply = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: session.write,
    payload: { kind: 'reply', text: 'Hi, I am on it' },
  });
  assert.equal(reply.statusCode, 201, reply.body);
  // (The visitor's own message may come back too, from its event: the widget shows it once.)
  const pushed = await visitor.next('message', (f) => f.message.from === 'agent');
  assert.equal(pushed.message.text, 'Hi, I am on it');
  assert.equal(pushed.message.from, 'agent');
  assert.deepEqual(pushed.message.author, { name: 'Sam Taylor', avatarUrl: 'https://cdn.example/sam.png' });
  // The first reply made Sam the owner: the widget shows who is helping.
  assert.deepEqual((await visitor.next('agent')).agent, {
    name: 'Sam Taylor',
    avatarUrl: 'https://cdn.example/sam.png',
  });

  const note = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: session.write,
    payload: { kind: 'note', text: 'internal: check the line' },
  });
  assert.equal(note.statusCode, 201);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(
    !JSON.stringify(visitor.frames).includes('internal: check the line'),
    'notes never reach the visitor',
  );
  assert.ok(sam.id);
  visitor.ws.terminate();
});

test('the visitor typing reaches the agents’ realtime sockets', async () => {
  const { t, visitor } = await chat();
  visitor.send({ type: 'message', clientId: 'a', text: 'Hello' });
  await visitor.next('ack');
  const session = await given.signedIn(t, await given.user(t, 'agent'));
  const frames: { type: string; caseId: string }[] = [];
  const agent: WebSocket = await app.injectWS(
    '/api/v1/realtime',
    { headers: { cookie: session.cookie } },
    { onInit: (s: WebSocket) => s.on('message', (d) => frames.push(JSON.parse(String(d)))) },
  );
  await new Promise((r) => setTimeout(r, 50));
  visitor.send({ type: 'typing', typing: true });
  for (let i = 0; i < 100 && !frames.some((f) => f.type === 'chat.typing'); i++)
    await new Promise((r) => setTimeout(r, 10));
  const caseId = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items[0].id;
  assert.ok(
    frames.some((f) => f.type === 'chat.typing' && f.caseId === caseId),
    JSON.stringify(frames),
  );
  visitor.send({ type: 'typing', typing: false });
  for (let i = 0; i < 100 && !frames.some((f) => f.type === 'chat.typing_stopped'); i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.ok(
    frames.some((f) => f.type === 'chat.typing_stopped'),
    'and that they stopped',
  );
  agent.terminate();
  visitor.ws.terminate();
});

test('a visitor’s line reaches the session’s other tab; the tab that sent it only gets its ack', async () => {
  const { t, session, visitor } = await chat();
  visitor.send({ type: 'message', clientId: 'first', text: 'Is there an outage?' });
  await visitor.next('ack');
  const other = await visitorSocket(app, session.token);
  visitor.send({ type: 'message', clientId: 'second', text: 'In the north of town' });
  assert.equal((await visitor.next('ack')).message.text, 'In the north of town');
  assert.equal((await other.next('message')).message.text, 'In the north of town');
  // An agent's reply after it reaches both tabs: by then any push of the line would have too.
  const caseId = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items[0].id;
  const reply = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: t.headers,
    payload: { kind: 'reply', text: 'Yes, we are on it' },
  });
  assert.equal(reply.statusCode, 201);
  for (const tab of [visitor, other])
    assert.equal((await tab.next('message')).message.text, 'Yes, we are on it');
  assert.deepEqual(
    visitor.frames.filter((f) => f.type === 'message').map((f) => f.message.text),
    ['Yes, we are on it'],
    'the sending tab was not sent its own line back',
  );
  for (const tab of [visitor, other]) tab.ws.terminate();
});

test('after a dropped connection the visitor gets every message sent meanwhile, and nothing twice', async () => {
  const { t, session, visitor } = await chat();
  visitor.send({ type: 'message', clientId: 'before', text: 'Still there?' });
  await visitor.next('ack');
  visitor.ws.terminate();
  const caseId = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items[0].id;
  for (const text of ['Yes, checking', 'Found it: a fault on your line']) {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/cases/${caseId}/messages`,
      headers: t.headers,
      payload: { kind: 'reply', text },
    });
    assert.equal(res.statusCode, 201);
  }
  const back = await visitorSocket(app);
  back.send({ type: 'hello', token: session.token });
  const ready = await back.next('ready');
  assert.deepEqual(
    ready.messages.map((m) => [m.from, m.text, m.clientId]),
    [
      ['visitor', 'Still there?', 'before'],
      ['agent', 'Yes, checking', null],
      ['agent', 'Found it: a fault on your line', null],
    ],
  );
  // The widget resends what it never saw acknowledged: no second copy.
  back.send({ type: 'message', clientId: 'before', text: 'Still there?' });
  assert.equal((await back.next('ack')).message.id, ready.messages[0]!.id);
  assert.equal((await contactsOf(t.id)).length, 1);
  back.ws.terminate();
});

test('chat text is stored and pushed exactly as typed: markup stays text (XS-01)', async () => {
  const { t, visitor } = await chat('<img src=x onerror="window.__xss=1">');
  const payloads = [
    '<script>window.__xss=1</script>',
    '<img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
    '<svg onload=alert(1)><style>@import "//evil.example/x.css"</style>',
    '<xmp><noscript><template><p title="</template><img src=x onerror=alert(1)>">',
  ];
  for (const [i, text] of payloads.entries()) visitor.send({ type: 'message', clientId: `x${i}`, text });
  for (const text of payloads) assert.equal((await visitor.next('ack')).message.text, text);
  assert.deepEqual(
    (await contactsOf(t.id)).map((c) => c.text),
    payloads,
  );
  visitor.ws.terminate();
});

test('malformed frames close the socket with 4400 and store nothing (MI-05)', async () => {
  const { t, session } = await chat();
  const bad: unknown[] = [
    '{"type": "message", ',
    'null',
    '[]',
    { type: 'message', clientId: 'ok', text: 7 },
    { type: 'message', clientId: 'ok', text: 'x'.repeat(5001) },
    { type: 'message', clientId: 'no spaces', text: 'hi' },
    { type: 'message', clientId: 'ok', text: 'hi', extra: true },
    { type: 'delete-everything' },
    { type: 'hello', token: session.token },
  ];
  for (const frame of bad) {
    const visitor = await visitorSocket(app, session.token);
    visitor.send(frame);
    assert.equal(await visitor.closed, CHAT_CLOSE.malformed, JSON.stringify(frame));
  }
  const binary = await visitorSocket(app, session.token);
  binary.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal(await binary.closed, CHAT_CLOSE.malformed);
  assert.equal((await contactsOf(t.id)).length, 0);
});

test('without a valid hello the socket closes with 4401', async () => {
  const { session } = await chat();
  const early = await visitorSocket(app);
  early.send({ type: 'message', clientId: 'a', text: 'hi' });
  assert.equal(await early.closed, CHAT_CLOSE.unauthenticated);
  for (const token of ['wcs_forged', `${session.token}x`, '']) {
    const visitor = await visitorSocket(app);
    visitor.send({ type: 'hello', token: token || ' ' });
    assert.equal(await visitor.closed, CHAT_CLOSE.unauthenticated, token);
  }
});

test('a flood of messages from one session is refused past the limit and not stored', async () => {
  const { t, visitor } = await chat();
  for (let i = 0; i < 25; i++) visitor.send({ type: 'message', clientId: `f${i}`, text: `msg ${i}` });
  const errors: string[] = [];
  for (let i = 0; i < 5; i++) {
    const e = await visitor.next('error');
    errors.push(`${e.code}:${e.clientId}`);
  }
  assert.deepEqual(
    errors,
    ['f20', 'f21', 'f22', 'f23', 'f24'].map((id) => `rate_limited:${id}`),
  );
  assert.equal((await contactsOf(t.id)).length, 20);
  visitor.ws.terminate();
});
