/**
 * Where an agent's reply goes when they name no channel: where the customer last wrote in the
 * case, but by email after the chat's offline form (which promised an answer by email). The
 * composer is told the same default, with why (GET …/reply-options).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';

const { app } = await startTestApp();

async function replyOptions(t: given.GivenTenant, caseId: string) {
  const res = await app.inject({ url: `/api/v1/cases/${caseId}/reply-options`, headers: t.headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

async function reply(t: given.GivenTenant, caseId: string, text: string) {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: t.headers,
    payload: { kind: 'reply', text },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

test('an offline chat message is answered by email, to the address the visitor left', async () => {
  const t = await given.tenant(app);
  await given.emailChannel(t);
  const channel = await given.chatChannel(t);
  const sent = await app.inject({
    method: 'POST',
    url: '/widget/v1/offline-messages',
    payload: {
      channel: channel.id,
      clientId: 'offline-1',
      name: 'A customer',
      email: 'customer@example.com',
      text: 'Nobody was there: my line is dead',
    },
  });
  assert.equal(sent.statusCode, 201, sent.body);
  const [current] = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  assert.deepEqual((await replyOptions(t, current.id)).default, { channel: 'email', reason: 'offline_chat' });

  const answered = await reply(t, current.id, 'Sorry we missed you: an engineer is booked for tomorrow.');
  assert.equal(answered.message.channel, 'email');
  const queued = await rows<{ recipient: string }>(
    app.database.db,
    sql`select recipient from email_outbox where tenant_id = ${t.id} and message_id = ${answered.message.id}`,
  );
  assert.deepEqual(
    queued.map((q) => q.recipient),
    ['customer@example.com'],
  );
});

test('otherwise a reply goes where the customer last wrote in the case', async () => {
  const t = await given.tenant(app);
  await given.emailChannel(t);
  const first = await given.contact(t, { channel: 'email', from: { identity: 'customer@example.com' } });
  const caseId = first.case.id as string;
  assert.deepEqual((await replyOptions(t, caseId)).default, { channel: 'email', reason: 'last_contact' });
  // The same customer, now also known by phone, texts about the same case.
  await t.app.database.db.execute(
    sql`insert into customer_identities (tenant_id, customer_id, kind, platform, value)
        values (${t.id}, ${first.customer.id}, 'phone', '', '+447911123456')`,
  );
  await given.contact(t, { channel: 'sms', from: { identity: '+447911123456' }, text: 'Any news?' });
  assert.deepEqual((await replyOptions(t, caseId)).default, { channel: 'sms', reason: 'last_contact' });
  // A logged call is answered in writing elsewhere: the default stays on the last written channel.
  await given.contact(t, { channel: 'phone', from: { identity: '+447911123456' }, text: 'Called in' });
  assert.deepEqual((await replyOptions(t, caseId)).default, { channel: 'sms', reason: 'last_contact' });
});
