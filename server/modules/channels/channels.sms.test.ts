/**
 * SMS in through Twilio's webhooks: signed form posts become contacts on the customer's case,
 * once each however often Twilio delivers them; anything unsigned, wrongly signed or for a
 * channel that cannot check a signature is refused before anything is stored (SECURITY.md WH-01,
 * WH-02, MI-05).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inboundSms, sid, signedForm } from '../../../tests/support/fake-twilio.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber, PUBLIC_BASE, twilioChannel } from '../../../tests/support/given-channels.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows, sql } from '../../db/client.ts';

const { app } = await startTestApp();

async function post(path: string, form: { payload: string; headers: Record<string, string> }) {
  return app.inject({ method: 'POST', url: path, payload: form.payload, headers: form.headers });
}

async function cases(t: given.GivenTenant) {
  const res = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  return res.json().items as { id: string; number: number; channel: string; contactCount: number }[];
}

async function timeline(t: given.GivenTenant, caseId: string) {
  const res = await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers });
  return res.json().items as {
    type: string;
    data: Record<string, unknown>;
    message?: { text: string; channel: string };
  }[];
}

test('a signed SMS becomes a contact on the sender’s case; a second one from the same number joins it as a repeat', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t);
  const from = customerNumber();
  const first = await post(
    channel.path,
    signedForm(channel.url, inboundSms({ from, to: channel.address!, body: 'No internet since Monday' })),
  );
  assert.equal(first.statusCode, 200, first.body);
  assert.match(first.headers['content-type'] as string, /text\/xml/);
  assert.equal(first.body, '<?xml version="1.0" encoding="UTF-8"?><Response/>', 'empty TwiML: no auto-reply');

  const photo = {
    url: 'https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1',
    contentType: 'image/jpeg',
  };
  const second = await post(
    channel.path,
    signedForm(
      channel.url,
      inboundSms({ from, to: channel.address!, body: 'Here is the router light', media: [photo] }),
    ),
  );
  assert.equal(second.statusCode, 200, second.body);

  const [only, ...rest] = await cases(t);
  assert.equal(rest.length, 0, 'one case for one customer');
  assert.equal(only!.channel, 'sms');
  assert.equal(only!.contactCount, 2);
  const contacts = (await timeline(t, only!.id)).filter((e) => e.type === 'contact.received');
  assert.deepEqual(
    contacts.map((e) => [e.message?.channel, e.message?.text]),
    [
      ['sms', 'No internet since Monday'],
      ['sms', 'Here is the router light'],
    ],
  );
  const customer = await app.inject({
    url: `/api/v1/customers?identity=${encodeURIComponent(from)}`,
    headers: t.headers,
  });
  assert.equal(customer.json().items.length, 1, 'the number is the customer’s identity');
});

test('an MMS with only a photo is stored with the photo’s URL, and the media is not fetched', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t);
  const messageSid = sid('MM');
  const media = [
    { url: 'https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME2', contentType: 'image/png' },
  ];
  const res = await post(
    channel.path,
    signedForm(
      channel.url,
      inboundSms({ from: customerNumber(), to: channel.address!, body: '', messageSid, media }),
    ),
  );
  assert.equal(res.statusCode, 200, res.body);
  const [row] = await rows<{ text: string; attributes: Record<string, unknown> }>(
    app.database.db,
    sql`select m.text, c.attributes from contacts c join messages m on m.tenant_id = c.tenant_id and m.id = c.message_id
        where c.tenant_id = ${t.id} and c.external_id = ${messageSid}`,
  );
  assert.ok(row, 'stored');
  assert.equal(row.text, '(1 file)');
  assert.deepEqual(row.attributes.media, [{ url: media[0]!.url, contentType: 'image/png' }]);
  assert.equal(row.attributes.channelId, channel.id, 'the contact remembers the number it came in on');
});

test('WH-01: the same signed SMS delivered twice, then five times at once, stores one message and answers 200 each time', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t);
  const form = signedForm(
    channel.url,
    inboundSms({ from: customerNumber(), to: channel.address!, body: 'Outage again' }),
  );
  for (let i = 0; i < 2; i++) assert.equal((await post(channel.path, form)).statusCode, 200);
  const concurrent = signedForm(
    channel.url,
    inboundSms({ from: customerNumber(), to: channel.address!, body: 'Also down' }),
  );
  const answers = await Promise.all(Array.from({ length: 5 }, () => post(channel.path, concurrent)));
  assert.deepEqual(
    answers.map((r) => r.statusCode),
    [200, 200, 200, 200, 200],
  );
  const list = await cases(t);
  assert.equal(list.length, 2, 'two customers, one case each');
  for (const c of list) assert.equal(c.contactCount, 1, 'each delivered message stored once');
});

test('WH-02: a missing, wrong or stale signature, a changed byte, another URL or token, or an unconfigured channel is refused and stores nothing', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t);
  const noToken = await twilioChannel(t, { authToken: null });
  const noUrl = await twilioChannel(t, { publicUrl: false });
  const fields = inboundSms({ from: customerNumber(), to: channel.address!, body: 'Forged' });
  const good = signedForm(channel.url, fields);
  const { 'x-twilio-signature': _drop, ...unsigned } = good.headers;
  const refusals: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
    [
      'no signature',
      await post(channel.path, { payload: good.payload, headers: unsigned }),
      401,
      'webhook_signature_missing',
    ],
    [
      'wrong token',
      await post(channel.path, signedForm(channel.url, fields, 'not-the-auth-token')),
      403,
      'webhook_signature_invalid',
    ],
    [
      'one byte changed',
      await post(channel.path, { payload: good.payload.replace('Forged', 'Forgeb'), headers: good.headers }),
      403,
      'webhook_signature_invalid',
    ],
    [
      'signed for another URL (proxy rewrote the host)',
      await post(channel.path, signedForm(`http://internal:3000${channel.path}`, fields)),
      403,
      'webhook_signature_invalid',
    ],
    [
      'signed for another channel',
      await post(channel.path, signedForm(`${PUBLIC_BASE}${noUrl.path}`, fields)),
      403,
      'webhook_signature_invalid',
    ],
    [
      'an added field',
      await post(channel.path, { payload: `${good.payload}&Extra=1`, headers: good.headers }),
      403,
      'webhook_signature_invalid',
    ],
    [
      'channel without auth token',
      await post(noToken.path, signedForm(noToken.url, { ...fields, To: noToken.address! })),
      403,
      'webhook_not_configured',
    ],
    [
      'channel without public URL',
      await post(noUrl.path, signedForm(noUrl.url, { ...fields, To: noUrl.address! })),
      403,
      'webhook_not_configured',
    ],
  ];
  for (const [what, res, status, code] of refusals) {
    assert.equal(res.statusCode, status, `${what}: ${res.body}`);
    assert.equal(res.json().error.code, code, what);
  }
  assert.deepEqual(await cases(t), [], 'nothing was stored');
  const metrics = await app.inject({ url: '/metrics' });
  assert.match(metrics.body, /rapport_webhooks_rejected_total\{type="sms",reason="invalid"\} \d+/);
});

test('an unknown, malformed or switched-off channel id is a 404 without looking at the body', async () => {
  const t = await given.tenant(app);
  const off = await twilioChannel(t, { active: false });
  const email = await given.emailChannel(t);
  const fields = inboundSms({ from: customerNumber(), to: off.address!, body: 'Hello?' });
  for (const path of [
    '/webhooks/v1/channels/00000000-0000-4000-8000-000000000000',
    '/webhooks/v1/channels/not-a-uuid',
    off.path,
    `/webhooks/v1/channels/${email.id}`,
  ]) {
    const res = await post(path, signedForm(`${PUBLIC_BASE}${path}`, fields));
    assert.equal(res.statusCode, 404, `${path}: ${res.body}`);
    assert.equal(res.json().error.code, 'channel_not_found');
  }
  assert.deepEqual(await cases(t), []);
});

test('MI-05: a signed body that is not an SMS webhook is a 400 with a reason; other media types 415, huge bodies 413; nothing is stored', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t);
  const from = customerNumber();
  const bad: [string, Record<string, string>][] = [
    ['no MessageSid', { From: from, To: channel.address!, Body: 'hi' }],
    [
      'a MessageSid that is not Twilio’s',
      { MessageSid: 'SM123', From: from, To: channel.address!, Body: 'hi' },
    ],
    ['no From', { MessageSid: sid('SM'), To: channel.address!, Body: 'hi' }],
    [
      'From not a phone number',
      { MessageSid: sid('SM'), From: 'javascript:alert(1)', To: channel.address!, Body: 'hi' },
    ],
    ['another number’s message', { MessageSid: sid('SM'), From: from, To: '+15005550006', Body: 'hi' }],
    [
      'NumMedia without MediaUrl0',
      { MessageSid: sid('SM'), From: from, To: channel.address!, Body: '', NumMedia: '1' },
    ],
    [
      'NumMedia absurd',
      { MessageSid: sid('SM'), From: from, To: channel.address!, Body: 'x', NumMedia: '9999' },
    ],
    ['empty body, no media', { MessageSid: sid('SM'), From: from, To: channel.address!, Body: '  ' }],
  ];
  for (const [what, fields] of bad) {
    const res = await post(channel.path, signedForm(channel.url, fields));
    assert.ok([400, 422].includes(res.statusCode), `${what}: ${res.statusCode} ${res.body}`);
    assert.ok(res.json().error.message, what);
    assert.doesNotMatch(res.body, /at \w+ \(/, 'no stack trace');
  }
  const text = await app.inject({
    method: 'POST',
    url: channel.path,
    payload: 'Body=hi',
    headers: { 'content-type': 'text/plain', 'x-twilio-signature': 'x' },
  });
  assert.equal(text.statusCode, 415, text.body);
  const huge = signedForm(
    channel.url,
    inboundSms({ from, to: channel.address!, body: 'a'.repeat(300 * 1024) }),
  );
  const tooLarge = await post(channel.path, huge);
  assert.equal(tooLarge.statusCode, 413, tooLarge.body);
  assert.equal(tooLarge.json().error.code, 'payload_too_large');
  const invalidUtf8 = await app.inject({
    method: 'POST',
    url: channel.path,
    payload: Buffer.from([0x42, 0x6f, 0x64, 0x79, 0x3d, 0xff, 0xfe]),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl',
    },
  });
  assert.equal(invalidUtf8.statusCode, 403, 'checked before read');
  assert.deepEqual(await cases(t), [], 'nothing was stored');
});

test('XS-01: script in an SMS is stored as the text the customer sent, never as markup', async () => {
  const t = await given.tenant(app);
  const channel = await twilioChannel(t);
  const body = '<img src=x onerror="window.__xss=1"><script>alert(1)</script>';
  const res = await post(
    channel.path,
    signedForm(channel.url, inboundSms({ from: customerNumber(), to: channel.address!, body })),
  );
  assert.equal(res.statusCode, 200);
  const [c] = await cases(t);
  const entry = (await timeline(t, c!.id)).find((e) => e.type === 'contact.received');
  assert.equal(entry?.message?.text, body, 'plain text; the agent UI renders it as text');
});
