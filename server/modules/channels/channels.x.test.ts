/**
 * X in through the Account Activity API: the CRC challenge, signed direct messages and public
 * mentions becoming contacts of one customer (their X user id) with the visibility they were
 * written in, the account's own posts and retweets skipped, the platform's follower counts and
 * badges kept as information only, and forged or malformed deliveries refused with nothing
 * stored (SECURITY.md WH-01, WH-02, MI-05, XS-01).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import {
  CONSUMER_SECRET,
  randomHandle,
  signedX,
  snowflake,
  type XUser,
  xDirectMessage,
  xMention,
} from '../../../tests/support/fake-x.ts';
import * as given from '../../../tests/support/given.ts';
import {
  outboundDelivery,
  storedContact,
  storedDelivery,
  xChannel,
} from '../../../tests/support/given-social.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { customerIdentities } from '../../db/schema/index.ts';

const { app } = await startTestApp();

const post = (path: string, form: { payload: string | Buffer; headers: Record<string, string> }) =>
  app.inject({ method: 'POST', url: path, payload: form.payload, headers: form.headers });

async function cases(t: given.GivenTenant) {
  const res = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  return res.json().items as {
    id: string;
    channel: string;
    contactCount: number;
    customerId: string;
    priority: string;
    ownerId: string | null;
    teamId: string | null;
  }[];
}

const account = (address: string): XUser => ({
  id: address,
  screenName: 'NorthwindHelp',
  name: 'Northwind Help',
});
const person = (over: Partial<XUser> = {}): XUser => ({
  id: snowflake(),
  screenName: randomHandle(),
  name: 'Pat Doe',
  ...over,
});

test('the CRC: crc_token answered with sha256= base64 HMAC of it under the consumer secret; refused without one', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const noSecret = await xChannel(t, { secrets: { consumerSecret: null } });
  const token = 'NjUxYjkxZjItZjk3Mi00YjNhLWI0NjgtZWZmMjY5NDljOGYy';
  const res = await app.inject({ url: `${channel.path}?crc_token=${token}&nonce=MTUxNjQwMzU2MDU1Nw` });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.headers['content-type'] as string, /^application\/json/);
  const expected = createHmac('sha256', CONSUMER_SECRET).update(token).digest('base64');
  assert.deepEqual(res.json(), { response_token: `sha256=${expected}` });
  const refused = await app.inject({ url: `${noSecret.path}?crc_token=${token}` });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().error.code, 'webhook_not_configured');
  assert.equal((await app.inject({ url: channel.path })).statusCode, 404, 'no crc_token: not a handshake');
});

test('a direct message and a public mention from one X user are contacts of one customer, each marked with its visibility; profile numbers are information only', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const us = account(channel.address);
  const pat = person({ followers: 48_000_000, verified: true, name: 'Pat Star' });
  const dmId = snowflake();
  const tweetId = snowflake();
  const dm = await post(
    channel.path,
    signedX(xDirectMessage({ account: us, from: pat, text: 'My order never arrived', id: dmId })),
  );
  assert.equal(dm.statusCode, 200, dm.body);
  const mention = await post(
    channel.path,
    signedX(
      xMention({ account: us, from: pat, text: '@NorthwindHelp still waiting for my order!', id: tweetId }),
    ),
  );
  assert.equal(mention.statusCode, 200, mention.body);

  const [only, ...rest] = await cases(t);
  assert.equal(rest.length, 0, 'one customer, one case');
  assert.equal(only!.channel, 'x');
  assert.equal(only!.contactCount, 2);
  assert.equal(
    only!.priority,
    'normal',
    'no loudness bonus: 48 million followers and a badge change nothing',
  );
  assert.equal(only!.ownerId, null);
  const direct = await storedContact(app, t, `dm:${dmId}`);
  assert.equal(direct!.text, 'My order never arrived');
  assert.equal(direct!.attributes.visibility, 'direct');
  const pub = await storedContact(app, t, `tweet:${tweetId}`);
  assert.equal(pub!.attributes.visibility, 'public');
  assert.equal(pub!.attributes.tweetId, tweetId);
  assert.deepEqual(pub!.attributes.profile, {
    screenName: pat.screenName,
    displayName: 'Pat Star',
    followers: 48_000_000,
    verified: true,
  });
  const customer = (
    await app.inject({ url: `/api/v1/customers/${only!.customerId}`, headers: t.headers })
  ).json();
  assert.equal(customer.name, 'Pat Star');
  assert.deepEqual(
    customer.identities.map((i: { kind: string; platform: string; value: string }) => [
      i.kind,
      i.platform,
      i.value,
    ]),
    [['social', 'x', pat.id]],
    'the X user id, not the screen name they can change',
  );
});

test('the account’s own posts and DMs, and retweets, are acknowledged and not stored; another account’s events are not this channel’s', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const us = account(channel.address);
  const bodies = [
    xMention({ account: us, from: us, text: 'Service update: all fixed' }),
    xDirectMessage({ account: us, from: us, text: 'Thanks, we are on it' }),
    xMention({ account: us, from: person(), text: 'RT @NorthwindHelp: Service update', retweet: true }),
    xMention({ account: account(snowflake()), from: person(), text: '@Other hello' }),
    { for_user_id: us.id, favorite_events: [{ id: 'x', favorited_status: {} }] },
  ];
  for (const body of bodies) assert.equal((await post(channel.path, signedX(body))).statusCode, 200);
  assert.deepEqual(await cases(t), []);
});

test('WH-01: the same DM delivered twice, then five times at once, is stored once', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const us = account(channel.address);
  const once = signedX(xDirectMessage({ account: us, from: person(), text: 'Hello?' }));
  for (let i = 0; i < 2; i++) assert.equal((await post(channel.path, once)).statusCode, 200);
  const burst = signedX(xMention({ account: us, from: person(), text: '@NorthwindHelp outage?' }));
  const answers = await Promise.all(Array.from({ length: 5 }, () => post(channel.path, burst)));
  assert.deepEqual(
    answers.map((r) => r.statusCode),
    [200, 200, 200, 200, 200],
  );
  const list = await cases(t);
  assert.equal(list.length, 2);
  for (const c of list) assert.equal(c.contactCount, 1);
});

test('a customer reading our DM marks its delivery read', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const pat = person();
  const sent = await outboundDelivery(app, t, channel, pat.id, snowflake());
  const res = await post(
    channel.path,
    signedX({
      for_user_id: channel.address,
      direct_message_mark_read_events: [
        {
          created_timestamp: String(Date.now()),
          sender_id: pat.id,
          target: { recipient_id: channel.address },
          last_read_event_id: sent.providerMessageId,
        },
      ],
    }),
  );
  assert.equal(res.statusCode, 200, res.body);
  assert.equal((await storedDelivery(app, t, sent.id)).status, 'read');
});

test('WH-02 and MI-05: unsigned, wrongly signed, unconfigured or malformed deliveries are refused and store nothing', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const noSecret = await xChannel(t, { secrets: { consumerSecret: null } });
  const us = account(channel.address);
  const body = xDirectMessage({ account: us, from: person(), text: 'Forged' });
  const good = signedX(body);
  const { 'x-twitter-webhooks-signature': _drop, ...unsigned } = good.headers;
  const dm = (create: Record<string, unknown>) => ({
    for_user_id: us.id,
    direct_message_events: [
      { type: 'message_create', id: snowflake(), created_timestamp: '1516403560557', message_create: create },
    ],
  });
  const refusals: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
    [
      'unsigned',
      await post(channel.path, { payload: good.payload, headers: unsigned }),
      401,
      'webhook_signature_missing',
    ],
    [
      'wrong secret',
      await post(channel.path, signedX(body, 'not-the-secret')),
      403,
      'webhook_signature_invalid',
    ],
    [
      'hex instead of base64',
      await post(channel.path, {
        payload: good.payload,
        headers: {
          ...unsigned,
          'x-twitter-webhooks-signature': `sha256=${createHmac('sha256', CONSUMER_SECRET).update(good.payload).digest('hex')}`,
        },
      }),
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
      'no consumer secret',
      await post(
        noSecret.path,
        signedX(xDirectMessage({ account: account(noSecret.address), from: person(), text: 'x' })),
      ),
      403,
      'webhook_not_configured',
    ],
    ['not JSON', await post(channel.path, signedX('for_user_id=1')), 400, 'webhook_payload_invalid'],
    [
      'no for_user_id',
      await post(channel.path, signedX({ direct_message_events: [] })),
      400,
      'webhook_payload_invalid',
    ],
    [
      'events not a list',
      await post(channel.path, signedX({ for_user_id: us.id, tweet_create_events: {} })),
      400,
      'webhook_payload_invalid',
    ],
    [
      'DM without a sender',
      await post(channel.path, signedX(dm({ message_data: { text: 'x' } }))),
      400,
      'webhook_payload_invalid',
    ],
    [
      'DM without text',
      await post(channel.path, signedX(dm({ sender_id: snowflake(), message_data: {} }))),
      400,
      'webhook_payload_invalid',
    ],
    [
      'post without a user',
      await post(
        channel.path,
        signedX({ for_user_id: us.id, tweet_create_events: [{ id_str: snowflake(), text: 'x' }] }),
      ),
      400,
      'webhook_payload_invalid',
    ],
  ];
  for (const [what, res, status, code] of refusals) {
    assert.equal(res.statusCode, status, `${what}: ${res.body}`);
    assert.equal(res.json().error.code, code, what);
  }
  assert.deepEqual(await cases(t), []);
});

test('XS-01: markup in a mention, a DM or a display name is stored as the text sent', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const us = account(channel.address);
  const text = '@NorthwindHelp <script>window.__xss=1</script><img src=x onerror=alert(1)>';
  const id = snowflake();
  const from = person({ name: '<iframe src=javascript:alert(1)>' });
  assert.equal(
    (await post(channel.path, signedX(xMention({ account: us, from, text, id })))).statusCode,
    200,
  );
  const stored = await storedContact(app, t, `tweet:${id}`);
  assert.equal(stored!.text, text);
  assert.equal(
    (stored!.attributes.profile as { displayName: string }).displayName,
    '<iframe src=javascript:alert(1)>',
  );
});

test('the sender’s screen name, followers and badge are kept on their X identity, as information; the latest wins', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const us = account(channel.address);
  const pat = person({ screenName: 'pat_w', name: 'Pat Walsh', followers: 2_400_000, verified: true });
  const first = xMention({ account: us, from: pat, text: '@NorthwindHelp outage again' });
  assert.equal((await post(channel.path, signedX(first))).statusCode, 200);
  const later = xMention({
    account: us,
    from: { ...pat, followers: 2_500_000 },
    text: '@NorthwindHelp still',
  });
  assert.equal((await post(channel.path, signedX(later))).statusCode, 200);
  const [identity] = await app.database.db
    .select()
    .from(customerIdentities)
    .where(and(eq(customerIdentities.tenantId, t.id), eq(customerIdentities.value, pat.id)));
  assert.deepEqual(identity!.profile, {
    screenName: 'pat_w',
    displayName: 'Pat Walsh',
    followers: 2_500_000,
    verified: true,
  });
  assert.equal((await cases(t))[0]!.priority, 'normal');
});
