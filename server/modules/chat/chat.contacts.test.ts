/**
 * A chat is one contact, not one per line: a session's first line counts on the case, its
 * further lines continue that contact (stored and shown, never repeats); a pending case comes
 * back to open when the visitor writes on. It counts again when the case was resolved meanwhile
 * or the visitor returns to the session after CHAT_CONTACT_IDLE_MS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { startSession, type VisitorSocket, visitorSocket } from '../../../tests/support/visitor.ts';
import { rows } from '../../db/client.ts';
import { CHAT_CONTACT_IDLE_MS } from './chat.sessions.ts';

const { app } = await startTestApp();

async function chat() {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const session = await startSession(app, channel.id, { name: 'A customer', email: 'customer@example.com' });
  return { t, session, visitor: await visitorSocket(app, session.token) };
}

let sent = 0;
async function say(visitor: VisitorSocket, text: string) {
  const clientId = `line-${++sent}`;
  visitor.send({ type: 'message', clientId, text });
  return (await visitor.next('ack', (f) => f.clientId === clientId)).message;
}

async function onlyCase(t: given.GivenTenant) {
  const items = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  assert.equal(items.length, 1, 'every line is on the one case');
  return items[0] as { id: string; status: string; contactCount: number; repeatContactCount: number };
}

const stored = (tenantId: string) =>
  rows<{ text: string; repeat: boolean; continuation: boolean }>(
    app.database.db,
    sql`select m.text, c.repeat, c.continuation from contacts c
        join messages m on m.tenant_id = c.tenant_id and m.id = c.message_id
        where c.tenant_id = ${tenantId} order by m.created_at, m.id`,
  );

async function setStatus(t: given.GivenTenant, caseId: string, status: string) {
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/v1/cases/${caseId}`,
    headers: t.headers,
    payload: { status },
  });
  assert.equal(res.statusCode, 200, res.body);
}

test('four lines in one chat are one contact on one case, every line stored in order', async () => {
  const { t, visitor } = await chat();
  for (const line of ['My router blinks red', 'since this morning', 'I restarted it', 'still red']) {
    await say(visitor, line);
  }
  const found = await onlyCase(t);
  assert.equal(found.contactCount, 1);
  assert.equal(found.repeatContactCount, 0);
  assert.deepEqual(
    (await stored(t.id)).map((r) => [r.text, r.repeat, r.continuation]),
    [
      ['My router blinks red', false, false],
      ['since this morning', false, true],
      ['I restarted it', false, true],
      ['still red', false, true],
    ],
  );
  const timeline = (
    await app.inject({ url: `/api/v1/cases/${found.id}/timeline`, headers: t.headers })
  ).json();
  const received = timeline.items.filter((e: { type: string }) => e.type === 'contact.received');
  assert.equal(received.length, 4, 'the agent sees every line');
  assert.ok(
    received.every((e: { data: { repeat: boolean } }) => e.data.repeat === false),
    'no line is marked a repeat',
  );
  visitor.ws.terminate();
});

test('a pending case comes back to open when the visitor writes on, without counting a contact', async () => {
  const { t, visitor } = await chat();
  await say(visitor, 'Is there an outage?');
  const opened = await onlyCase(t);
  await setStatus(t, opened.id, 'pending');
  await say(visitor, 'Here is my account number');
  const after = await onlyCase(t);
  assert.equal(after.status, 'open');
  assert.equal(after.contactCount, 1);
  assert.equal(after.repeatContactCount, 0);
  visitor.ws.terminate();
});

test('writing on after the case was resolved reopens it and counts a repeat', async () => {
  const { t, visitor } = await chat();
  await say(visitor, 'No dial tone');
  const opened = await onlyCase(t);
  await setStatus(t, opened.id, 'resolved');
  await say(visitor, 'It is gone again');
  const after = await onlyCase(t);
  assert.equal(after.status, 'open');
  assert.equal(after.contactCount, 2);
  assert.equal(after.repeatContactCount, 1);
  assert.deepEqual(
    (await stored(t.id)).map((r) => [r.repeat, r.continuation]),
    [
      [false, false],
      [true, false],
    ],
  );
  visitor.ws.terminate();
});

test('coming back to a session after it fell silent is a new contact of the case', async () => {
  const { t, session, visitor } = await chat();
  await say(visitor, 'Slow speeds in the evening');
  visitor.ws.terminate();
  const silentSince = new Date(Date.now() - CHAT_CONTACT_IDLE_MS - 60_000);
  await app.database.db.execute(
    sql`update chat_sessions set last_seen_at = ${silentSince.toISOString()} where tenant_id = ${t.id} and id = ${session.id}`,
  );
  const back = await visitorSocket(app, session.token);
  await say(back, 'Still slow tonight');
  await say(back, 'and now it drops');
  const after = await onlyCase(t);
  assert.equal(after.contactCount, 2);
  assert.equal(after.repeatContactCount, 1);
  assert.deepEqual(
    (await stored(t.id)).map((r) => [r.repeat, r.continuation]),
    [
      [false, false],
      [true, false],
      [false, true],
    ],
  );
  back.ws.terminate();
});
