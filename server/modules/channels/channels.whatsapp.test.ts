/**
 * WhatsApp in through Meta's Cloud API webhooks: the subscription handshake, signed messages
 * becoming contacts on the customer's case once each, delivery statuses for our replies, and
 * anything forged or unconfigured refused with nothing stored (SECURITY.md WH-01, WH-02). Every
 * message shape and malformed bodies: channels.whatsapp-shapes.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  APP_SECRET,
  signedJson,
  VERIFY_TOKEN,
  wamid,
  whatsappMessage,
  whatsappStatus,
} from '../../../tests/support/fake-meta.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber } from '../../../tests/support/given-channels.ts';
import { metaChannel, outboundDelivery, storedDelivery } from '../../../tests/support/given-social.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';

const { app } = await startTestApp();

const post = (path: string, form: { payload: string | Buffer; headers: Record<string, string> }) =>
  app.inject({ method: 'POST', url: path, payload: form.payload, headers: form.headers });

async function cases(t: given.GivenTenant) {
  const res = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  return res.json().items as { id: string; channel: string; contactCount: number; customerId: string }[];
}

test('Meta’s handshake: the channel’s verify token gets the challenge back as text; a wrong or missing one, or none stored, is refused', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const unconfigured = await metaChannel(t, 'whatsapp', { secrets: { verifyToken: null } });
  const get = (path: string, query: string) => app.inject({ url: `${path}?${query}` });
  const ok = await get(
    channel.path,
    `hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`,
  );
  assert.equal(ok.statusCode, 200, ok.body);
  assert.match(ok.headers['content-type'] as string, /^text\/plain/);
  assert.equal(ok.body, '1158201444');
  const refused: [string, string, number][] = [
    [channel.path, 'hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess', 403],
    [channel.path, 'hub.mode=subscribe&hub.challenge=1', 403],
    [unconfigured.path, `hub.mode=subscribe&hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}`, 403],
    [channel.path, `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}`, 400],
    [channel.path, `hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=${VERIFY_TOKEN}`, 400],
  ];
  for (const [path, query, status] of refused) {
    const res = await get(path, query);
    assert.equal(res.statusCode, status, `${query}: ${res.body}`);
    assert.ok(res.json().error.code, query);
    assert.doesNotMatch(res.body, /1158201444|script/);
  }
  assert.equal((await get(channel.path, 'foo=bar')).statusCode, 404, 'not a handshake');
});

test('a signed WhatsApp text becomes a contact on the sender’s case under their WhatsApp name; the next one joins it', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const from = customerNumber();
  const first = await post(
    channel.path,
    signedJson(
      whatsappMessage({
        phoneNumberId: channel.address,
        from,
        name: 'Sheena Nelson',
        text: 'No internet since Monday',
      }),
    ),
  );
  assert.equal(first.statusCode, 200, first.body);
  const second = await post(
    channel.path,
    signedJson(whatsappMessage({ phoneNumberId: channel.address, from, text: 'Still down' })),
  );
  assert.equal(second.statusCode, 200, second.body);
  const [only, ...rest] = await cases(t);
  assert.equal(rest.length, 0, 'one customer, one case');
  assert.equal(only!.channel, 'whatsapp');
  assert.equal(only!.contactCount, 2);
  const customer = (
    await app.inject({ url: `/api/v1/customers/${only!.customerId}`, headers: t.headers })
  ).json();
  assert.equal(customer.name, 'Sheena Nelson');
  assert.ok(
    customer.identities.some((i: { kind: string; value: string }) => i.kind === 'phone' && i.value === from),
    'their WhatsApp number is their phone identity, so an SMS from it finds them too',
  );
});

test('WH-01: the same signed WhatsApp message delivered twice, then five times at once, stores one message; every delivery gets 200', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const once = signedJson(
    whatsappMessage({ phoneNumberId: channel.address, from: customerNumber(), text: 'Outage' }),
  );
  for (let i = 0; i < 2; i++) assert.equal((await post(channel.path, once)).statusCode, 200);
  const burst = signedJson(
    whatsappMessage({ phoneNumberId: channel.address, from: customerNumber(), text: 'Also down' }),
  );
  const answers = await Promise.all(Array.from({ length: 5 }, () => post(channel.path, burst)));
  assert.deepEqual(
    answers.map((r) => r.statusCode),
    [200, 200, 200, 200, 200],
  );
  const list = await cases(t);
  assert.equal(list.length, 2);
  for (const c of list) assert.equal(c.contactCount, 1);
});

test('WH-02: a missing, wrong or other app’s signature, a changed byte, or a channel without its app secret is refused and stores nothing', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const noSecret = await metaChannel(t, 'whatsapp', { secrets: { appSecret: null } });
  const body = whatsappMessage({ phoneNumberId: channel.address, from: customerNumber(), text: 'Forged' });
  const good = signedJson(body);
  const { 'x-hub-signature-256': _drop, ...unsigned } = good.headers;
  const refusals: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
    [
      'no signature',
      await post(channel.path, { payload: good.payload, headers: unsigned }),
      401,
      'webhook_signature_missing',
    ],
    [
      'another app’s secret',
      await post(channel.path, signedJson(body, 'another-app-secret')),
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
      're-serialised JSON',
      await post(channel.path, { payload: JSON.stringify(body, null, 1), headers: good.headers }),
      403,
      'webhook_signature_invalid',
    ],
    [
      'sha1 instead of sha256',
      await post(channel.path, {
        payload: good.payload,
        headers: { ...unsigned, 'x-hub-signature-256': good.headers['x-hub-signature-256'].slice(0, 45) },
      }),
      403,
      'webhook_signature_invalid',
    ],
    [
      'no app secret stored',
      await post(
        noSecret.path,
        signedJson(
          whatsappMessage({ phoneNumberId: noSecret.address, from: customerNumber(), text: 'x' }),
          APP_SECRET,
        ),
      ),
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
  assert.match(metrics.body, /rapport_webhooks_rejected_total\{type="whatsapp",reason="invalid"\} \d+/);
  assert.match(
    metrics.body,
    /rapport_webhooks_rejected_total\{type="whatsapp",reason="not_configured"\} \d+/,
  );
});

test('statuses move our reply’s delivery forward (sent → delivered → read), never back; a failure keeps WhatsApp’s reason', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const to = customerNumber();
  const read = await outboundDelivery(app, t, channel, to, wamid());
  const failed = await outboundDelivery(app, t, channel, to, wamid());
  const status = (id: string, s: 'sent' | 'delivered' | 'read' | 'failed') =>
    post(
      channel.path,
      signedJson(whatsappStatus({ phoneNumberId: channel.address, id, status: s, recipient: to })),
    );
  for (const s of ['sent', 'delivered', 'read', 'delivered', 'failed'] as const) {
    assert.equal((await status(read.providerMessageId, s)).statusCode, 200);
  }
  assert.equal(
    (await storedDelivery(app, t, read.id)).status,
    'read',
    'a late delivered or failed does not undo read',
  );
  assert.equal((await status(failed.providerMessageId, 'failed')).statusCode, 200);
  const f = await storedDelivery(app, t, failed.id);
  assert.equal(f.status, 'failed');
  assert.match(f.lastError!, /131047 Re-engagement message: .*24 hours/);
  // A status for a message we never sent changes nothing and is still acknowledged.
  assert.equal((await status(wamid(), 'delivered')).statusCode, 200);
  assert.ok(
    (await cases(t)).every((c) => c.channel !== 'whatsapp'),
    'statuses are no contacts',
  );
});

test('a change for another phone number of the same Meta app, or another webhook field, is acknowledged and not stored here', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const other = await post(
    channel.path,
    signedJson(
      whatsappMessage({ phoneNumberId: '999000111222333', from: customerNumber(), text: 'not yours' }),
    ),
  );
  assert.equal(other.statusCode, 200, other.body);
  const template = signedJson({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '1',
        changes: [
          {
            field: 'message_template_status_update',
            value: { event: 'APPROVED', message_template_name: 'outage_update' },
          },
        ],
      },
    ],
  });
  assert.equal((await post(channel.path, template)).statusCode, 200);
  assert.deepEqual(await cases(t), []);
});
