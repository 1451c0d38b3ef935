/**
 * Replies go where the customer is: an agent's reply on a case the customer texted goes out by
 * SMS through Twilio's Messages API (against a local fake speaking its format), and Twilio's
 * status callbacks move the reply's delivery badge on. Retries back off; Twilio's 4xx fails at
 * once; a crash mid-send resends once at most.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually } from '../../../tests/support/eventually.ts';
import {
  ACCOUNT_SID,
  inboundSms,
  signedForm,
  startFakeTwilio,
  statusCallback,
} from '../../../tests/support/fake-twilio.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber, twilioChannel } from '../../../tests/support/given-channels.ts';
import { startTestApp, TEST_SECRET } from '../../../tests/support/test-app.ts';
import { rows, sql } from '../../db/client.ts';
import { deriveKey } from '../../lib/secrets.ts';
import { claimDueDeliveries, createDeliverySender } from './channels.sender.ts';

const { app } = await startTestApp();
const twilio = await startFakeTwilio();
after(() => twilio.close());

/** A customer who texted the channel: their case and number. */
async function textingCustomer(t: given.GivenTenant, channel: Awaited<ReturnType<typeof twilioChannel>>) {
  const from = customerNumber();
  const form = signedForm(
    channel.url,
    inboundSms({ from, to: channel.address!, body: 'My router keeps rebooting' }),
  );
  const res = await app.inject({
    method: 'POST',
    url: channel.path,
    payload: form.payload,
    headers: form.headers,
  });
  assert.equal(res.statusCode, 200, res.body);
  const cases = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  return { from, caseId: cases.json().items[0].id as string };
}

async function reply(t: given.GivenTenant, caseId: string, body: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: t.headers,
    payload: body,
  });
}

async function deliveryOf(t: given.GivenTenant, caseId: string, messageId: string) {
  const res = await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers });
  return res.json().items.find((e: { message?: { id: string } }) => e.message?.id === messageId)?.message
    .delivery;
}

/**
 * Sends what is due and waits until Twilio has this reply: on a shared test database another
 * test file's app may have leased it first and still be sending it when our drain returns.
 */
async function sentTo(from: string) {
  await app.channelDeliveries.drain();
  await eventually(`Twilio has the reply to ${from}`, () => twilio.sent.some((m) => m.to === from));
  return twilio.sent.find((m) => m.to === from)!;
}

async function postStatus(
  channel: Awaited<ReturnType<typeof twilioChannel>>,
  fields: Record<string, string>,
) {
  const form = signedForm(channel.url, fields);
  return app.inject({ method: 'POST', url: channel.path, payload: form.payload, headers: form.headers });
}

test('an agent’s reply to a texting customer goes out by SMS from the channel’s number, and Twilio’s callbacks show it delivered', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { from, caseId } = await textingCustomer(t, channel);
  const res = await reply(t, caseId, {
    kind: 'reply',
    text: 'Sorry about that — we are resetting your line now.',
  });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().message.channel, 'sms', 'by default the reply goes where the customer wrote');
  assert.equal(res.json().message.delivery.status, 'queued');

  const sent = await sentTo(from);
  assert.equal(sent.from, channel.address);
  assert.equal(sent.accountSid, ACCOUNT_SID);
  assert.equal(sent.body, 'Sorry about that — we are resetting your line now.');
  assert.equal(sent.statusCallback, channel.url, 'status callbacks come back to the channel’s webhook');
  const messageId = res.json().message.id;
  await eventually(
    'the reply shows as sent',
    async () => (await deliveryOf(t, caseId, messageId)).status === 'sent',
  );

  for (const status of ['sent', 'delivered'] as const) {
    const cb = await postStatus(
      channel,
      statusCallback({ messageSid: sent.sid, status, from: channel.address!, to: from }),
    );
    assert.equal(cb.statusCode, 200, cb.body);
  }
  assert.equal((await deliveryOf(t, caseId, messageId)).status, 'delivered');
  // A late or repeated callback never moves a delivery backwards.
  await postStatus(
    channel,
    statusCallback({ messageSid: sent.sid, status: 'sent', from: channel.address!, to: from }),
  );
  assert.equal((await deliveryOf(t, caseId, messageId)).status, 'delivered');
  // A callback for a message this channel never sent changes nothing and is still acknowledged.
  const stray = await postStatus(
    channel,
    statusCallback({ messageSid: `SM${'f'.repeat(32)}`, status: 'failed', from: channel.address!, to: from }),
  );
  assert.equal(stray.statusCode, 200);
});

test('a “delivered” callback that arrives before Twilio’s answer to the send is applied once the answer is recorded', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { from, caseId } = await textingCustomer(t, channel);
  const early: number[] = [];
  twilio.holdNextAnswer(async (message) => {
    for (const status of ['sent', 'delivered'] as const) {
      const cb = await postStatus(
        channel,
        statusCallback({ messageSid: message.sid, status, from: channel.address!, to: from }),
      );
      early.push(cb.statusCode);
    }
  });
  const res = await reply(t, caseId, { kind: 'reply', text: 'Your engineer is on the way.' });
  assert.equal(res.statusCode, 201, res.body);
  await sentTo(from);
  assert.deepEqual(early, [200, 200], 'both callbacks acknowledged before the send was answered');
  await eventually(
    'the reply shows as delivered',
    async () => (await deliveryOf(t, caseId, res.json().message.id)).status === 'delivered',
  );
  const kept = await rows<{ n: number }>(
    app.database.db,
    sql`select count(*)::int as n from early_delivery_statuses where tenant_id = ${t.id}`,
  );
  assert.equal(kept[0]!.n, 0, 'the early callbacks were used up');
});

test('a reply the handset never receives shows as failed with Twilio’s reason', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { from, caseId } = await textingCustomer(t, channel);
  const res = await reply(t, caseId, { kind: 'reply', text: 'Are you still without service?' });
  const sent = await sentTo(from);
  await postStatus(
    channel,
    statusCallback({
      messageSid: sent.sid,
      status: 'undelivered',
      from: channel.address!,
      to: from,
      errorCode: '30003',
    }),
  );
  const delivery = await deliveryOf(t, caseId, res.json().message.id);
  assert.equal(delivery.status, 'failed');
  assert.match(delivery.lastError, /30003/);
});

test('Twilio refusing the number (400, 21211) fails the reply at once; a 500 is retried with back-off until it goes', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { caseId } = await textingCustomer(t, channel);
  twilio.failNext(400, 21211, "The 'To' number is not a valid phone number.");
  const refused = await reply(t, caseId, { kind: 'reply', text: 'First try' });
  await app.channelDeliveries.drain();
  const failed = await deliveryOf(t, caseId, refused.json().message.id);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.attempts, 1, 'no retry for a permanent refusal');
  assert.match(failed.lastError, /400 Twilio: 21211/);

  twilio.failNext(500, 20500, 'Internal Server Error', 2);
  const later = await reply(t, caseId, { kind: 'reply', text: 'Second try' });
  const id = later.json().message.id;
  await app.channelDeliveries.drain();
  const waiting = await deliveryOf(t, caseId, id);
  assert.equal(waiting.status, 'queued');
  assert.equal(waiting.attempts, 1);
  assert.match(waiting.lastError, /500/);
  // A sender whose clock is past each back-off (1 min, then 5 min) sends it on the third attempt.
  let clock = Date.now();
  const sender = createDeliverySender({
    db: app.database.db,
    log: app.log,
    secretKey: deriveKey(TEST_SECRET, 'channel-secrets'),
    publicUrl: null,
    now: () => new Date(clock),
  });
  clock += 61_000;
  await sender.drain();
  assert.equal((await deliveryOf(t, caseId, id)).attempts, 2);
  clock += 5 * 60_000 + 1000;
  await sender.drain();
  const done = await deliveryOf(t, caseId, id);
  assert.equal(done.status, 'sent');
  assert.equal(done.attempts, 3);
  await sender.stop();
});

test('CR-03: a sender that dies after leasing a reply leaves it to be sent once more when the lease runs out, and only once', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { from, caseId } = await textingCustomer(t, channel);
  // The first attempt meets a Twilio outage, so the reply waits a minute (out of the app's own sender's reach).
  twilio.failNext(503, 20503, 'Service Unavailable');
  const res = await reply(t, caseId, { kind: 'reply', text: 'Engineer booked for Tuesday' });
  const id = res.json().message.id;
  await app.channelDeliveries.drain();
  assert.equal((await deliveryOf(t, caseId, id)).attempts, 1);
  // A node leases it when due and dies before sending or recording anything.
  const due = Date.now() + 61_000;
  const leased = await claimDueDeliveries(app.database.db, new Date(due), 100, 60_000);
  assert.ok(leased.some((r) => r.messageId === id));
  const sender = (now: number) =>
    createDeliverySender({
      db: app.database.db,
      log: app.log,
      secretKey: deriveKey(TEST_SECRET, 'channel-secrets'),
      publicUrl: null,
      now: () => new Date(now),
    });
  // While the lease holds, nobody else sends it.
  const early = sender(due + 30_000);
  await early.drain();
  await early.stop();
  assert.equal(twilio.sent.filter((m) => m.to === from).length, 0);
  // Once it has run out, another node sends it — once.
  const late = sender(due + 61_000);
  await late.drain();
  await late.drain();
  await late.stop();
  assert.equal(twilio.sent.filter((m) => m.to === from).length, 1, 'sent exactly once after the crash');
  const delivery = await deliveryOf(t, caseId, id);
  assert.equal(delivery.status, 'sent');
  assert.equal(delivery.attempts, 3);
});

test('a reply that cannot go by SMS is refused and not stored, so nobody believes it was sent', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { caseId } = await textingCustomer(t, channel);
  await app.inject({
    method: 'PATCH',
    url: `/api/v1/channels/${channel.id}`,
    headers: t.headers,
    payload: { active: false },
  });
  const res = await reply(t, caseId, { kind: 'reply', text: 'Hello?' });
  assert.equal(res.statusCode, 422, res.body);
  assert.equal(res.json().error.code, 'reply_option_unavailable');
  assert.match(res.json().error.message, /No active SMS channel/);
  const [row] = await rows<{ messages: number; deliveries: number }>(
    app.database.db,
    sql`select (select count(*)::int from messages where tenant_id = ${t.id} and kind = 'outbound') as messages,
               (select count(*)::int from message_deliveries where tenant_id = ${t.id}) as deliveries`,
  );
  assert.deepEqual(row, { messages: 0, deliveries: 0 });
  // Choosing another channel the customer can be reached on still works.
  const note = await reply(t, caseId, { kind: 'note', text: 'SMS number switched off' });
  assert.equal(note.statusCode, 201);
});

test('a note on an SMS case is never sent', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { from, caseId } = await textingCustomer(t, channel);
  const res = await reply(t, caseId, { kind: 'note', text: 'Customer is on a pay-as-you-go plan' });
  assert.equal(res.statusCode, 201);
  await app.channelDeliveries.drain();
  assert.equal(twilio.sent.filter((m) => m.to === from).length, 0);
});

test('SS-01: a reply is never sent to a private or metadata address, even when one got into the settings', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { apiBaseUrl: twilio.baseUrl });
  const { caseId } = await textingCustomer(t, channel);
  // Written past the API's check, as an older row or a hand edit could be.
  await app.database.db.execute(
    sql`update channels set settings = jsonb_set(settings, '{apiBaseUrl}', '"http://169.254.169.254"')
        where tenant_id = ${t.id} and id = ${channel.id}`,
  );
  const before = twilio.requests;
  const res = await reply(t, caseId, { kind: 'reply', text: 'Checking your line now' });
  await app.channelDeliveries.drain();
  const delivery = await deliveryOf(t, caseId, res.json().message.id);
  assert.equal(delivery.status, 'failed');
  assert.equal(delivery.attempts, 1, 'refused for good, not retried');
  assert.match(delivery.lastError, /Rapport will not connect to 169\.254\.169\.254/);
  assert.equal(twilio.requests, before);
});
