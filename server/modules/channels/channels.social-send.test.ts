/**
 * Replies out through each platform's REST API, adapter by adapter, against local fakes that
 * answer as the platforms do: WhatsApp text and template messages, Messenger and Instagram
 * responses, X public replies and direct messages; the platform's refusals said as permanent or
 * worth retrying.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ACCESS_TOKEN, GRAPH_VERSION, startFakeGraph } from '../../../tests/support/fake-meta.ts';
import { snowflake, startFakeX, X_ACCESS_TOKEN } from '../../../tests/support/fake-x.ts';
import { instagram } from './platforms/instagram.ts';
import { messenger } from './platforms/messenger.ts';
import { type OutboundMessage, type PlatformChannel, PlatformError } from './platforms/platform.ts';
import { whatsapp } from './platforms/whatsapp.ts';
import { x } from './platforms/x.ts';

const graph = await startFakeGraph();
const fakeX = await startFakeX();
after(async () => {
  await graph.close();
  await fakeX.close();
});

function channel(
  type: PlatformChannel['type'],
  address: string,
  secrets: Record<string, string>,
  apiBaseUrl: string,
): PlatformChannel {
  return {
    tenantId: '00000000-0000-4000-8000-000000000001',
    id: '00000000-0000-4000-8000-000000000002',
    type,
    address,
    settings: { apiBaseUrl, ...(type === 'x' ? {} : { apiVersion: GRAPH_VERSION }) },
    secret: (name) => secrets[name] ?? null,
    webhookUrl: null,
  };
}

const reply = (
  to: string,
  text: string,
  metadata: Record<string, unknown> | null = null,
): OutboundMessage => ({
  to,
  text,
  metadata,
  deliveryId: crypto.randomUUID(),
});

async function refusal(promise: Promise<unknown>): Promise<PlatformError> {
  const err = await promise.then(
    () => assert.fail('expected the platform to refuse'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PlatformError, String(err));
  return err;
}

test('WhatsApp: a reply is a Cloud API text message to the phone number id’s endpoint; the wamid names it', async () => {
  const wa = channel('whatsapp', '106540352242922', { accessToken: ACCESS_TOKEN }, graph.baseUrl);
  const result = await whatsapp.send!(reply('+447412345678', 'An engineer visits tomorrow'), wa);
  const sent = graph.sent.at(-1)!;
  assert.equal(sent.path, `/${GRAPH_VERSION}/106540352242922/messages`);
  assert.deepEqual(sent.body, {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: '447412345678',
    type: 'text',
    text: { preview_url: false, body: 'An engineer visits tomorrow' },
  });
  assert.equal(result.providerMessageId, sent.id);
  assert.match(result.providerMessageId, /^wamid\./);
});

test('WhatsApp: outside the window a reply is the approved template with its parameters', async () => {
  const wa = channel('whatsapp', '106540352242922', { accessToken: ACCESS_TOKEN }, graph.baseUrl);
  await whatsapp.send!(
    reply('+447412345678', 'Hi Pat, about your case #1042: we have an update.', {
      template: { name: 'case_update', language: 'en_GB', parameters: ['Pat', '#1042'] },
    }),
    wa,
  );
  assert.deepEqual(graph.sent.at(-1)!.body, {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: '447412345678',
    type: 'template',
    template: {
      name: 'case_update',
      language: { code: 'en_GB' },
      components: [
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Pat' },
            { type: 'text', text: '#1042' },
          ],
        },
      ],
    },
  });
});

test('Messenger and Instagram: a reply is a RESPONSE to the page- or account-scoped id at me/messages', async () => {
  for (const [platform, type] of [
    [messenger, 'messenger'],
    [instagram, 'instagram'],
  ] as const) {
    const page = channel(type, '1234567890', { accessToken: ACCESS_TOKEN }, graph.baseUrl);
    const result = await platform.send!(reply('24012345678901234', 'We are on it'), page);
    const sent = graph.sent.at(-1)!;
    assert.equal(sent.path, `/${GRAPH_VERSION}/me/messages`);
    assert.deepEqual(sent.body, {
      recipient: { id: '24012345678901234' },
      messaging_type: 'RESPONSE',
      message: { text: 'We are on it' },
    });
    assert.equal(result.providerMessageId, sent.id);
    // After the 24 hours the reply rules mark it a person's follow-up (metadata.tag).
    await platform.send!(reply('24012345678901234', 'Still with us?', { tag: 'HUMAN_AGENT' }), page);
    assert.deepEqual(graph.sent.at(-1)!.body, {
      recipient: { id: '24012345678901234' },
      messaging_type: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
      message: { text: 'Still with us?' },
    });
  }
});

test('Meta’s refusals: a bad token or an expired window fail for good, throttling and outages are retried, no token never calls', async () => {
  const wa = channel('whatsapp', '106540352242922', { accessToken: ACCESS_TOKEN }, graph.baseUrl);
  const wrongToken = channel('whatsapp', '106540352242922', { accessToken: 'expired' }, graph.baseUrl);
  assert.equal((await refusal(whatsapp.send!(reply('+447412345678', 'x'), wrongToken))).permanent, true);
  graph.failNext(400, 131047, 'Re-engagement message');
  const window = await refusal(whatsapp.send!(reply('+447412345678', 'x'), wa));
  assert.equal(window.permanent, true);
  assert.match(window.message, /131047/);
  graph.failNext(400, 4, 'Application request limit reached');
  assert.equal((await refusal(whatsapp.send!(reply('+447412345678', 'x'), wa))).permanent, false);
  graph.failNext(503, 2, 'Service temporarily unavailable');
  assert.equal((await refusal(whatsapp.send!(reply('+447412345678', 'x'), wa))).permanent, false);
  const before = graph.sent.length;
  const none = channel('whatsapp', '106540352242922', {}, graph.baseUrl);
  assert.equal((await refusal(whatsapp.send!(reply('+447412345678', 'x'), none))).permanent, true);
  const down = channel('messenger', '1', { accessToken: ACCESS_TOKEN }, 'http://127.0.0.1:9');
  assert.equal(
    (await refusal(messenger.send!(reply('2', 'x'), down))).permanent,
    false,
    'unreachable: retried',
  );
  assert.equal(graph.sent.length, before);
});

test('X: a public reply is a post answering the customer’s post; a direct reply is a DM to their user id', async () => {
  const account = channel('x', snowflake(), { accessToken: X_ACCESS_TOKEN }, fakeX.baseUrl);
  const customer = snowflake();
  const tweet = snowflake();
  const pub = await x.send!(
    reply(customer, 'Sorry about that! We have sent you a DM.', {
      visibility: 'public',
      inReplyToTweetId: tweet,
    }),
    account,
  );
  assert.deepEqual(fakeX.sent.at(-1), {
    kind: 'post',
    body: { text: 'Sorry about that! We have sent you a DM.', reply: { in_reply_to_tweet_id: tweet } },
    id: pub.providerMessageId,
  });
  const dm = await x.send!(
    reply(customer, 'Could you send your account number?', { visibility: 'direct' }),
    account,
  );
  assert.deepEqual(fakeX.sent.at(-1), {
    kind: 'dm',
    body: { text: 'Could you send your account number?' },
    participant: customer,
    id: dm.providerMessageId,
  });
  const unnamed = await refusal(x.send!(reply(customer, 'x', { visibility: 'public' }), account));
  assert.equal(unnamed.permanent, true, 'a public reply must answer a post');
  fakeX.failNext(429, 'Too Many Requests', 'Too Many Requests');
  assert.equal((await refusal(x.send!(reply(customer, 'x'), account))).permanent, false);
  fakeX.failNext(403, 'Forbidden', 'You are not permitted to send Direct Messages to this user.');
  const forbidden = await refusal(x.send!(reply(customer, 'x'), account));
  assert.equal(forbidden.permanent, true);
  assert.match(forbidden.message, /not permitted to send Direct Messages/);
});
