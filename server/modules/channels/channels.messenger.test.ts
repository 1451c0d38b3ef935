/**
 * Messenger and Instagram in through Meta's messaging webhooks (one format): the handshake,
 * messages with text, attachments and quoted replies becoming contacts once each, our own echoes
 * skipped, delivery and read receipts moving our replies on, and forged, unconfigured or
 * malformed deliveries refused with nothing stored (SECURITY.md WH-01, WH-02, MI-05, XS-01).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messagingWebhook, metaId, mid, signedJson, VERIFY_TOKEN } from '../../../tests/support/fake-meta.ts';
import * as given from '../../../tests/support/given.ts';
import {
  metaChannel,
  outboundDelivery,
  storedContact,
  storedDelivery,
} from '../../../tests/support/given-social.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';

const { app } = await startTestApp();

const post = (path: string, form: { payload: string | Buffer; headers: Record<string, string> }) =>
  app.inject({ method: 'POST', url: path, payload: form.payload, headers: form.headers });

async function cases(t: given.GivenTenant) {
  const res = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  return res.json().items as { id: string; channel: string; contactCount: number; customerId: string }[];
}

for (const type of ['messenger', 'instagram'] as const) {
  const object = type === 'messenger' ? 'page' : 'instagram';

  test(`${type}: the handshake answers the challenge for the verify token only`, async () => {
    const t = await given.tenant(app);
    const channel = await metaChannel(t, type);
    const ok = await app.inject({
      url: `${channel.path}?hub.mode=subscribe&hub.challenge=987654321&hub.verify_token=${VERIFY_TOKEN}`,
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '987654321');
    const wrong = await app.inject({
      url: `${channel.path}?hub.mode=subscribe&hub.challenge=987654321&hub.verify_token=${VERIFY_TOKEN}x`,
    });
    assert.equal(wrong.statusCode, 403);
  });

  test(`${type}: a signed message becomes a contact; attachments, quoted replies and button taps are kept; our echoes and other accounts’ messages are not`, async () => {
    const t = await given.tenant(app);
    const channel = await metaChannel(t, type);
    const sender = metaId();
    const [text, photo, quoted, tap, echo, elsewhere, located] = [
      mid(),
      mid(),
      mid(),
      mid(),
      mid(),
      mid(),
      mid(),
    ];
    const image = 'https://scontent.xx.fbcdn.net/v/t1.15752-9/router.jpg?oh=1&oe=2';
    const body = messagingWebhook(object, channel.address, [
      { sender, message: { mid: text, text: 'My broadband is down' } },
      { sender, message: { mid: photo, attachments: [{ type: 'image', payload: { url: image } }] } },
      { sender, message: { mid: quoted, text: 'This one', reply_to: { mid: text } } },
      { sender, postback: { mid: tap, title: 'Talk to a person', payload: 'HUMAN' } },
      {
        sender: channel.address,
        recipient: sender,
        message: { mid: echo, text: 'Hi!', is_echo: true, app_id: 1517776481860111 },
      },
      { sender, recipient: metaId(), message: { mid: elsewhere, text: 'to another page' } },
      {
        sender,
        message: {
          mid: located,
          attachments: [
            { type: 'location', title: 'Home', payload: { coordinates: { lat: 51.5, long: -0.12 } } },
          ],
        },
      },
      { sender, reaction: { mid: text, action: 'react', reaction: 'love', emoji: '❤' } },
    ]);
    const res = await post(channel.path, signedJson(body));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.body, 'EVENT_RECEIVED');
    const [only, ...rest] = await cases(t);
    assert.equal(rest.length, 0, 'one customer, one case');
    assert.equal(only!.channel, type);
    assert.equal(only!.contactCount, 5, 'text, photo, quoted reply, button tap, location');
    assert.equal((await storedContact(app, t, text))!.text, 'My broadband is down');
    const stored = await storedContact(app, t, photo);
    assert.equal(stored!.text, '(image)');
    assert.deepEqual(stored!.attributes.media, [{ url: image, contentType: null, kind: 'image' }]);
    assert.equal((await storedContact(app, t, quoted))!.attributes.replyTo, text);
    assert.equal((await storedContact(app, t, tap))!.text, 'Talk to a person');
    assert.deepEqual((await storedContact(app, t, located))!.attributes.location, {
      latitude: 51.5,
      longitude: -0.12,
      name: 'Home',
    });
    assert.equal(await storedContact(app, t, echo), undefined, 'our own reply echoed back is not a contact');
    assert.equal(await storedContact(app, t, elsewhere), undefined);
    const customer = (
      await app.inject({ url: `/api/v1/customers/${only!.customerId}`, headers: t.headers })
    ).json();
    assert.deepEqual(
      customer.identities.map((i: { kind: string; platform: string; value: string }) => [
        i.kind,
        i.platform,
        i.value,
      ]),
      [['social', type, sender]],
      'the page- or account-scoped id is the customer’s identity',
    );
  });

  test(`${type}: WH-01 — one message delivered twice and five times at once is stored once`, async () => {
    const t = await given.tenant(app);
    const channel = await metaChannel(t, type);
    const once = signedJson(
      messagingWebhook(object, channel.address, [
        { sender: metaId(), message: { mid: mid(), text: 'Down' } },
      ]),
    );
    for (let i = 0; i < 2; i++) assert.equal((await post(channel.path, once)).statusCode, 200);
    const burst = signedJson(
      messagingWebhook(object, channel.address, [
        { sender: metaId(), message: { mid: mid(), text: 'Also' } },
      ]),
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

  test(`${type}: delivery and read receipts move our replies on`, async () => {
    const t = await given.tenant(app);
    const channel = await metaChannel(t, type);
    const customer = metaId();
    const a = await outboundDelivery(app, t, channel, customer, mid());
    const b = await outboundDelivery(app, t, channel, customer, mid());
    const res = await post(
      channel.path,
      signedJson(
        messagingWebhook(object, channel.address, [
          {
            sender: customer,
            delivery: { mids: [a.providerMessageId, b.providerMessageId], watermark: Date.now() },
          },
          { sender: customer, read: { mid: b.providerMessageId } },
          // Messenger's read receipt by watermark names no message: acknowledged, nothing moves.
          { sender: customer, read: { watermark: Date.now() } },
        ]),
      ),
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await storedDelivery(app, t, a.id)).status, 'delivered');
    assert.equal((await storedDelivery(app, t, b.id)).status, 'read');
  });

  test(`${type}: WH-02 and MI-05 — forged, unconfigured or malformed deliveries are refused and store nothing`, async () => {
    const t = await given.tenant(app);
    const channel = await metaChannel(t, type);
    const noSecret = await metaChannel(t, type, { secrets: { appSecret: null } });
    const body = messagingWebhook(object, channel.address, [
      { sender: metaId(), message: { mid: mid(), text: 'hi' } },
    ]);
    const good = signedJson(body);
    const { 'x-hub-signature-256': _drop, ...unsigned } = good.headers;
    const cases_: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
      [
        'unsigned',
        await post(channel.path, { payload: good.payload, headers: unsigned }),
        401,
        'webhook_signature_missing',
      ],
      ['wrong secret', await post(channel.path, signedJson(body, 'nope')), 403, 'webhook_signature_invalid'],
      ['no app secret', await post(noSecret.path, signedJson(body)), 403, 'webhook_not_configured'],
      [
        'the other platform’s object',
        await post(channel.path, signedJson({ ...body, object: object === 'page' ? 'instagram' : 'page' })),
        400,
        'webhook_payload_invalid',
      ],
      [
        'no sender',
        await post(
          channel.path,
          signedJson({
            object,
            entry: [
              {
                id: channel.address,
                messaging: [{ recipient: { id: channel.address }, message: { mid: mid(), text: 'x' } }],
              },
            ],
          }),
        ),
        400,
        'webhook_payload_invalid',
      ],
      [
        'no mid',
        await post(
          channel.path,
          signedJson(
            messagingWebhook(object, channel.address, [{ sender: metaId(), message: { text: 'x' } }]),
          ),
        ),
        400,
        'webhook_payload_invalid',
      ],
      [
        'nothing said',
        await post(
          channel.path,
          signedJson(
            messagingWebhook(object, channel.address, [{ sender: metaId(), message: { mid: mid() } }]),
          ),
        ),
        400,
        'webhook_payload_invalid',
      ],
      [
        'attachment URL not http',
        await post(
          channel.path,
          signedJson(
            messagingWebhook(object, channel.address, [
              {
                sender: metaId(),
                message: {
                  mid: mid(),
                  attachments: [{ type: 'image', payload: { url: 'javascript:alert(1)' } }],
                },
              },
            ]),
          ),
        ),
        400,
        'webhook_payload_invalid',
      ],
      [
        'text a number',
        await post(
          channel.path,
          signedJson(
            messagingWebhook(object, channel.address, [
              { sender: metaId(), message: { mid: mid(), text: 7 } },
            ]),
          ),
        ),
        400,
        'webhook_payload_invalid',
      ],
    ];
    for (const [what, res, status, code] of cases_) {
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      assert.equal(res.json().error.code, code, what);
    }
    assert.deepEqual(await cases(t), []);
  });

  test(`${type}: XS-01 — markup in a message is stored as the text sent`, async () => {
    const t = await given.tenant(app);
    const channel = await metaChannel(t, type);
    const id = mid();
    const text = '"><svg onload=window.__xss=1><a href="javascript:alert(1)">x</a>';
    const res = await post(
      channel.path,
      signedJson(
        messagingWebhook(object, channel.address, [{ sender: metaId(), message: { mid: id, text } }]),
      ),
    );
    assert.equal(res.statusCode, 200);
    assert.equal((await storedContact(app, t, id))!.text, text);
  });
}
