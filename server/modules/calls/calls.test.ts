/**
 * Phone calls as contacts: agents log a call on the case or by number; Twilio Voice's status
 * callback logs a finished call itself, once per CallSid however often it is delivered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callStatus, sid, signedForm } from '../../../tests/support/fake-twilio.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber, twilioChannel } from '../../../tests/support/given-channels.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows, sql } from '../../db/client.ts';

const { app } = await startTestApp();

type Entry = { type: string; message?: { kind: string; channel: string; text: string } };

async function timeline(t: given.GivenTenant, caseId: string): Promise<Entry[]> {
  return (await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers })).json().items;
}

async function callsOf(t: given.GivenTenant) {
  return rows<{ kind: string; metadata: { call: Record<string, unknown> } }>(
    app.database.db,
    sql`select kind, metadata from messages where tenant_id = ${t.id} and channel = 'phone' order by created_at`,
  );
}

test('an agent logs the customer’s call on their case: a repeat contact by phone, with the call’s details', async () => {
  const t = await given.tenant(app);
  const number = customerNumber();
  const first = await given.contact(t, { channel: 'sms', from: { identity: number }, text: 'No signal' });
  const agent = await given.user(t, 'agent');
  const session = await given.signedIn(t, agent);
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${first.case.number}/calls`,
    headers: session.write,
    payload: {
      direction: 'inbound',
      durationSeconds: 154,
      outcome: 'completed',
      notes: 'Talked through a reset',
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().call.number, number, 'the customer’s number by default');
  assert.equal(res.json().repeat, true);
  assert.equal(res.json().case.contactCount, 2);
  const entry = (await timeline(t, first.case.id)).filter((e) => e.type === 'contact.received').at(-1)!;
  assert.equal(entry.message?.channel, 'phone');
  assert.equal(
    entry.message?.text,
    `Inbound call from ${number} · 2 min 34 s · completed\nTalked through a reset`,
  );
  const [stored] = await callsOf(t);
  assert.deepEqual(stored!.metadata.call, {
    direction: 'inbound',
    number,
    durationSeconds: 154,
    outcome: 'completed',
    notes: 'Talked through a reset',
    callId: null,
  });
});

test('an outbound call is an outbound message of the case: it counts as the first response and makes an unowned case the agent’s', async () => {
  const t = await given.tenant(app);
  const number = customerNumber();
  const first = await given.contact(t, {
    channel: 'sms',
    from: { identity: number },
    text: 'Call me back please',
  });
  const agent = await given.user(t, 'agent');
  const session = await given.signedIn(t, agent);
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${first.case.id}/calls`,
    headers: session.write,
    payload: { direction: 'outbound', durationSeconds: 0, outcome: 'no_answer', notes: 'Left no message' },
  });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().case.ownerId, agent.id);
  assert.ok(res.json().case.firstResponseAt);
  assert.equal(res.json().case.contactCount, 1, 'an outbound call is not a contact');
  const replied = (await timeline(t, first.case.id)).find((e) => e.type === 'message.replied')!;
  assert.equal(replied.message?.kind, 'outbound');
  assert.equal(replied.message?.text, `Outbound call to ${number} · no answer\nLeft no message`);
  assert.equal((await callsOf(t))[0]!.metadata.call.outcome, 'no_answer');
});

test('calls logged by number: an inbound one opens the caller’s case, an outbound one joins their open case or needs a case number', async () => {
  const t = await given.tenant(app);
  const number = customerNumber();
  const inbound = await app.inject({
    method: 'POST',
    url: '/api/v1/calls',
    headers: t.headers,
    payload: { direction: 'inbound', number, name: 'Sam Caller', durationSeconds: 61, outcome: 'completed' },
  });
  assert.equal(inbound.statusCode, 201, inbound.body);
  assert.equal(inbound.json().case.channel, 'phone');
  const outbound = await app.inject({
    method: 'POST',
    url: '/api/v1/calls',
    headers: t.headers,
    payload: { direction: 'outbound', number, durationSeconds: 30, outcome: 'completed' },
  });
  assert.equal(outbound.statusCode, 201, outbound.body);
  assert.equal(outbound.json().case.id, inbound.json().case.id);
  const stranger = await app.inject({
    method: 'POST',
    url: '/api/v1/calls',
    headers: t.headers,
    payload: { direction: 'outbound', number: customerNumber(), durationSeconds: 30, outcome: 'completed' },
  });
  assert.equal(stranger.statusCode, 422, stranger.body);
  assert.equal(stranger.json().error.code, 'call_case_required');
});

test('bad calls are refused with the field named and store nothing', async () => {
  const t = await given.tenant(app);
  const emailOnly = await given.contact(t, { from: { identity: 'no-phone@example.com' } });
  const bad: [string, Record<string, unknown>, number, string][] = [
    [
      '/api/v1/calls',
      { direction: 'inbound', number: '12345', durationSeconds: 1, outcome: 'completed' },
      422,
      'identity_invalid',
    ],
    [
      '/api/v1/calls',
      { direction: 'inbound', number: '+447400111222', durationSeconds: -1, outcome: 'completed' },
      400,
      'validation_failed',
    ],
    [
      '/api/v1/calls',
      { direction: 'sideways', number: '+447400111222', durationSeconds: 1, outcome: 'completed' },
      400,
      'validation_failed',
    ],
    [
      '/api/v1/calls',
      { direction: 'inbound', number: '+447400111222', durationSeconds: 1, outcome: 'great' },
      400,
      'validation_failed',
    ],
    [
      '/api/v1/calls',
      { direction: 'inbound', number: '+447400111222', durationSeconds: 1, outcome: 'completed', owner: 'x' },
      400,
      'unknown_field',
    ],
    [
      '/api/v1/calls',
      { direction: 'inbound', durationSeconds: 1, outcome: 'completed' },
      400,
      'validation_failed',
    ],
    [
      `/api/v1/cases/${emailOnly.case.id}/calls`,
      { direction: 'inbound', durationSeconds: 1, outcome: 'completed' },
      422,
      'identity_missing',
    ],
    [
      `/api/v1/cases/999999/calls`,
      { direction: 'inbound', number: '+447400111222', durationSeconds: 1, outcome: 'completed' },
      404,
      'case_not_found',
    ],
  ];
  for (const [url, payload, status, code] of bad) {
    const res = await app.inject({ method: 'POST', url, headers: t.headers, payload });
    assert.equal(res.statusCode, status, `${JSON.stringify(payload)}: ${res.body}`);
    assert.equal(res.json().error.code, code, JSON.stringify(payload));
  }
  assert.deepEqual(await callsOf(t), []);
});

test('Twilio Voice: a finished inbound call is logged once however often or concurrently it is reported; one still ringing is not', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { type: 'phone' });
  const caller = customerNumber();
  const post = (fields: Record<string, string>) => {
    const form = signedForm(channel.url, fields);
    return app.inject({ method: 'POST', url: channel.path, payload: form.payload, headers: form.headers });
  };
  const callSid = sid('CA');
  const ringing = await post(callStatus({ callSid, from: caller, to: channel.address!, status: 'ringing' }));
  assert.equal(ringing.statusCode, 200, ringing.body);
  assert.deepEqual(await callsOf(t), [], 'not logged before it ends');
  const done = callStatus({
    callSid,
    from: caller,
    to: channel.address!,
    status: 'completed',
    durationSeconds: 212,
  });
  assert.equal((await post(done)).statusCode, 200);
  assert.equal((await post(done)).statusCode, 200);
  const concurrent = await Promise.all(Array.from({ length: 5 }, () => post(done)));
  assert.deepEqual(
    concurrent.map((r) => r.statusCode),
    [200, 200, 200, 200, 200],
  );
  const logged = await callsOf(t);
  assert.equal(logged.length, 1, 'one call, one message');
  assert.equal(logged[0]!.kind, 'inbound');
  assert.deepEqual(
    { ...logged[0]!.metadata.call },
    {
      direction: 'inbound',
      number: caller,
      durationSeconds: 212,
      outcome: 'completed',
      notes: '',
      callId: callSid,
    },
  );
});

test('Twilio Voice: an outbound call to a customer with an open case is logged on it once; to an unknown number it is acknowledged and skipped', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { type: 'phone' });
  const number = customerNumber();
  const open = await given.contact(t, { channel: 'sms', from: { identity: number }, text: 'Please ring me' });
  const post = (fields: Record<string, string>) => {
    const form = signedForm(channel.url, fields);
    return app.inject({ method: 'POST', url: channel.path, payload: form.payload, headers: form.headers });
  };
  const done = callStatus({
    from: channel.address!,
    to: number,
    status: 'busy',
    direction: 'outbound-api',
  });
  const answers = await Promise.all(Array.from({ length: 4 }, () => post(done)));
  assert.deepEqual(
    answers.map((r) => r.statusCode),
    [200, 200, 200, 200],
  );
  const logged = await callsOf(t);
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.kind, 'outbound');
  assert.equal(logged[0]!.metadata.call.outcome, 'busy');
  const replied = (await timeline(t, open.case.id)).filter((e) => e.type === 'message.replied');
  assert.equal(replied.length, 1);
  const unknown = await post(
    callStatus({
      from: channel.address!,
      to: customerNumber(),
      status: 'completed',
      direction: 'outbound-dial',
      durationSeconds: 5,
    }),
  );
  assert.equal(unknown.statusCode, 200);
  assert.equal((await callsOf(t)).length, 1);
});

test('Twilio Voice: a forged or unsigned call report stores nothing', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t, { type: 'phone' });
  const fields = callStatus({
    from: customerNumber(),
    to: channel.address!,
    status: 'completed',
    durationSeconds: 9,
  });
  const forged = signedForm(channel.url, fields, 'not-the-token');
  const res = await app.inject({
    method: 'POST',
    url: channel.path,
    payload: forged.payload,
    headers: forged.headers,
  });
  assert.equal(res.statusCode, 403);
  const { 'x-twilio-signature': _s, ...unsigned } = forged.headers;
  const res2 = await app.inject({
    method: 'POST',
    url: channel.path,
    payload: forged.payload,
    headers: unsigned,
  });
  assert.equal(res2.statusCode, 401);
  assert.deepEqual(await callsOf(t), []);
});
