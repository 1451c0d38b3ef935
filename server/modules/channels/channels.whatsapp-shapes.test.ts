/**
 * WhatsApp message shapes through Meta's Cloud API webhooks: every kind of message a customer can
 * send stored as readable text with what it carried, and bodies that are not a WhatsApp webhook
 * refused with nothing stored (SECURITY.md MI-05, XS-01). Payload shapes: tests/support/fake-meta.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signedJson, wamid, whatsappMessage, whatsappWebhook } from '../../../tests/support/fake-meta.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber } from '../../../tests/support/given-channels.ts';
import { metaChannel, storedContact } from '../../../tests/support/given-social.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows, sql } from '../../db/client.ts';

const { app } = await startTestApp();

const post = (path: string, form: { payload: string | Buffer; headers: Record<string, string> }) =>
  app.inject({ method: 'POST', url: path, payload: form.payload, headers: form.headers });

async function cases(t: given.GivenTenant) {
  const res = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  return res.json().items as { id: string; channel: string; contactCount: number; customerId: string }[];
}

test('every WhatsApp message shape is stored as readable text with what it carried; media are kept by id and not fetched', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const from = customerNumber();
  const quoted = wamid();
  const shapes: [string, Record<string, unknown>, string, (a: Record<string, unknown>) => void][] = [
    [
      'image with caption',
      {
        type: 'image',
        image: {
          caption: 'The router light',
          mime_type: 'image/jpeg',
          sha256: 'abc=',
          id: '1003383421387256',
        },
      },
      'The router light',
      (a) =>
        assert.deepEqual(a.media, [
          {
            url: `https://graph.facebook.com/v21.0/1003383421387256`,
            contentType: 'image/jpeg',
            id: '1003383421387256',
            kind: 'image',
            caption: 'The router light',
            sha256: 'abc=',
          },
        ]),
    ],
    [
      'document',
      {
        type: 'document',
        document: { filename: 'bill.pdf', mime_type: 'application/pdf', sha256: 'x', id: '2003383421387256' },
      },
      '(document: bill.pdf)',
      (a) => assert.equal((a.media as { filename: string }[])[0]!.filename, 'bill.pdf'),
    ],
    [
      'voice note',
      {
        type: 'audio',
        audio: { mime_type: 'audio/ogg; codecs=opus', sha256: 'y', id: '3003383421387256', voice: true },
      },
      '(voice message)',
      (a) => assert.equal((a.media as { kind: string }[])[0]!.kind, 'voice'),
    ],
    [
      'video',
      { type: 'video', video: { mime_type: 'video/mp4', sha256: 'z', id: '4003383421387256' } },
      '(video)',
      () => {},
    ],
    [
      'sticker',
      {
        type: 'sticker',
        sticker: { mime_type: 'image/webp', sha256: 'w', id: '5003383421387256', animated: false },
      },
      '(sticker)',
      () => {},
    ],
    [
      'location',
      {
        type: 'location',
        location: { latitude: 51.5072, longitude: -0.1276, name: 'Home', address: '1 High St, London' },
      },
      '(location: Home, 1 High St, London)',
      (a) =>
        assert.deepEqual(a.location, {
          latitude: 51.5072,
          longitude: -0.1276,
          name: 'Home',
          address: '1 High St, London',
        }),
    ],
    [
      'button reply',
      {
        type: 'interactive',
        interactive: {
          type: 'button_reply',
          button_reply: { id: 'yes-engineer', title: 'Book an engineer' },
        },
      },
      'Book an engineer',
      (a) =>
        assert.deepEqual(a.interactive, {
          type: 'button_reply',
          id: 'yes-engineer',
          title: 'Book an engineer',
        }),
    ],
    [
      'list reply',
      {
        type: 'interactive',
        interactive: {
          type: 'list_reply',
          list_reply: { id: 'slot-2', title: 'Tuesday', description: '8am–12pm' },
        },
      },
      'Tuesday — 8am–12pm',
      () => {},
    ],
    [
      'template quick reply',
      { type: 'button', button: { payload: 'STOP', text: 'Stop updates' } },
      'Stop updates',
      (a) => assert.deepEqual(a.button, { text: 'Stop updates', payload: 'STOP' }),
    ],
    [
      'a quoted reply',
      { type: 'text', text: { body: 'Yes that one' }, context: { from: '15550783881', id: quoted } },
      'Yes that one',
      (a) => assert.equal(a.replyTo, quoted),
    ],
    [
      'shared contact',
      {
        type: 'contacts',
        contacts: [
          {
            name: { formatted_name: 'Sam Lee', first_name: 'Sam' },
            phones: [{ phone: '+44 7700 900123', type: 'CELL' }],
          },
        ],
      },
      '(shared contact: Sam Lee +44 7700 900123)',
      () => {},
    ],
    [
      'unsupported',
      { type: 'unsupported', errors: [{ code: 131051, title: 'Message type unknown' }] },
      '(a WhatsApp unsupported message Rapport cannot show)',
      () => {},
    ],
  ];
  for (const [what, message, text, check] of shapes) {
    const id = wamid();
    const res = await post(
      channel.path,
      signedJson(whatsappMessage({ phoneNumberId: channel.address, from, id, message })),
    );
    assert.equal(res.statusCode, 200, `${what}: ${res.body}`);
    const stored = await storedContact(app, t, id);
    assert.ok(stored, `${what} stored`);
    assert.equal(stored.text, text, what);
    assert.equal(stored.attributes.channelId, channel.id, `${what}: remembers the number it came in on`);
    assert.equal(stored.attributes.waId, from.slice(1));
    check(stored.attributes);
  }
  // A reaction is not the customer writing: acknowledged, nothing stored.
  const reaction = await post(
    channel.path,
    signedJson(
      whatsappMessage({
        phoneNumberId: channel.address,
        from,
        message: { type: 'reaction', reaction: { message_id: quoted, emoji: '👍' } },
      }),
    ),
  );
  assert.equal(reaction.statusCode, 200);
  const [c] = await cases(t);
  assert.equal(c!.contactCount, shapes.length);
});

test('MI-05: a signed body that is not a WhatsApp webhook is a 400 with a reason, anything else 413/415; nothing is stored, no stack trace', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const from = customerNumber().slice(1);
  const msg = (m: Record<string, unknown>) =>
    whatsappWebhook(channel.address, { messages: [{ from, id: wamid(), timestamp: '1749416383', ...m }] });
  let deep = '1';
  for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`;
  const bad: [string, string | Buffer][] = [
    ['not JSON', '{"object":'],
    ['an array', '[]'],
    ['deeply nested', `{"object":"whatsapp_business_account","entry":[${deep}]}`],
    [
      'invalid UTF-8',
      Buffer.concat([
        Buffer.from('{"object":"whatsapp_business_account","x":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}'),
      ]),
    ],
    ['another object', JSON.stringify({ object: 'page', entry: [] })],
    ['entry not a list', JSON.stringify({ object: 'whatsapp_business_account', entry: 'x' })],
    [
      'no message id',
      JSON.stringify(
        whatsappWebhook(channel.address, { messages: [{ from, type: 'text', text: { body: 'hi' } }] }),
      ),
    ],
    [
      'sender not a number',
      JSON.stringify(msg({ from: 'javascript:alert(1)', type: 'text', text: { body: 'hi' } })),
    ],
    [
      'sender not a valid phone number',
      JSON.stringify(msg({ from: '999999', type: 'text', text: { body: 'hi' } })),
    ],
    ['text without body', JSON.stringify(msg({ type: 'text', text: {} }))],
    ['body of the wrong type', JSON.stringify(msg({ type: 'text', text: { body: 42 } }))],
    ['image without id', JSON.stringify(msg({ type: 'image', image: { mime_type: 'image/png' } }))],
    [
      'location off the Earth',
      JSON.stringify(msg({ type: 'location', location: { latitude: 400, longitude: 0 } })),
    ],
    [
      'a bad message after a good one',
      JSON.stringify(
        whatsappWebhook(channel.address, {
          messages: [
            { from, id: wamid(), type: 'text', text: { body: 'good' } },
            { from, type: 'text' },
          ],
        }),
      ),
    ],
  ];
  for (const [what, payload] of bad) {
    const res = await post(channel.path, signedJson(payload));
    assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
    assert.equal(res.json().error.code, 'webhook_payload_invalid', what);
    assert.ok(res.json().error.message, what);
    assert.doesNotMatch(res.body, /at \w+ \(|node:internal/, 'no stack trace');
  }
  const form = await app.inject({
    method: 'POST',
    url: channel.path,
    payload: 'a=1',
    headers: { 'content-type': 'text/plain', 'x-hub-signature-256': 'sha256=00' },
  });
  assert.equal(form.statusCode, 415);
  const huge = signedJson(msg({ type: 'text', text: { body: 'a'.repeat(300 * 1024) } }));
  assert.equal((await post(channel.path, huge)).statusCode, 413);
  assert.deepEqual(await cases(t), [], 'nothing was stored, not even the good message before the bad one');
  const [count] = await rows<{ n: number }>(
    app.database.db,
    sql`select count(*)::int as n from contacts where tenant_id = ${t.id}`,
  );
  assert.equal(count?.n, 0);
});

test('XS-01: script in a WhatsApp message or its sender’s name is stored as the text they sent, never as markup', async () => {
  const t = await given.tenant(app);
  const channel = await metaChannel(t, 'whatsapp');
  const text = '<img src=x onerror="window.__xss=1"><script>alert(1)</script>';
  const id = wamid();
  const res = await post(
    channel.path,
    signedJson(
      whatsappMessage({
        phoneNumberId: channel.address,
        from: customerNumber(),
        id,
        name: '<b onmouseover=alert(1)>Eve</b>',
        text,
      }),
    ),
  );
  assert.equal(res.statusCode, 200);
  const [c] = await cases(t);
  const timeline = (await app.inject({ url: `/api/v1/cases/${c!.id}/timeline`, headers: t.headers })).json();
  const entry = timeline.items.find((e: { type: string }) => e.type === 'contact.received');
  assert.equal(entry.message.text, text, 'plain text; the agent UI renders it as text');
  const customer = (
    await app.inject({ url: `/api/v1/customers/${c!.customerId}`, headers: t.headers })
  ).json();
  assert.equal(customer.name, '<b onmouseover=alert(1)>Eve</b>');
  assert.equal((await storedContact(app, t, id))?.text, text);
});
