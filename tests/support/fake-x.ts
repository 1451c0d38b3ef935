/**
 * X (Twitter) as the tests meet it: Account Activity webhook bodies in the shapes X posts, signed
 * the way X signs them, the CRC answer X expects, and a local API v2 that takes posts and DMs.
 * https://docs.x.com/x-api/enterprise-gnip-2.0/fundamentals/account-activity (events, CRC, signature)
 * https://docs.x.com/x-api/posts/create-post, https://docs.x.com/x-api/direct-messages/send-a-new-message-to-a-user
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { startFakeApi } from './fake-api.ts';

export const CONSUMER_SECRET = 'x-consumer-secret-0123456789abcdefghij';
export const X_ACCESS_TOKEN = 'x-oauth2-user-access-token';

/** An X id: a snowflake of 18–19 digits. */
export const snowflake = () => `1${String(randomInt(0, 2 ** 47)).padStart(15, '0')}${randomInt(100, 999)}`;

/** "sha256=" + base64 HMAC-SHA256 keyed with the consumer secret: the CRC answer and the body signature. */
export function xSignature(consumerSecret: string, data: string | Buffer): string {
  return `sha256=${createHmac('sha256', consumerSecret).update(data).digest('base64')}`;
}

export function signedX(body: unknown, consumerSecret = CONSUMER_SECRET) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    payload,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-twitter-webhooks-signature': xSignature(consumerSecret, payload),
    },
  };
}

/** An X account as the v1.1 user object in events describes it. */
export interface XUser {
  id: string;
  screenName: string;
  name?: string;
  followers?: number;
  verified?: boolean;
}

const userObject = (u: XUser) => ({
  id: Number(u.id),
  id_str: u.id,
  name: u.name ?? u.screenName,
  screen_name: u.screenName,
  location: '',
  description: '',
  protected: false,
  verified: u.verified ?? false,
  followers_count: u.followers ?? 12,
  friends_count: 40,
  statuses_count: 300,
  created_timestamp: '1422556069340',
  profile_image_url_https: 'https://pbs.twimg.com/profile_images/0/avatar_normal.jpg',
});

/**
 * A direct message to the account, e.g.
 *   {"for_user_id":"4337869213","direct_message_events":[{"type":"message_create",
 *   "id":"954491830116155396","created_timestamp":"1516403560557","message_create":{"target":
 *   {"recipient_id":"4337869213"},"sender_id":"3001969357","message_data":{"text":"Hello World!",
 *   "entities":{"hashtags":[],"symbols":[],"user_mentions":[],"urls":[]}}}}],"users":{
 *   "3001969357":{"id":"3001969357","name":"Jordan Brinks","screen_name":"furiouscamper",
 *   "followers_count":22,"verified":false,…},"4337869213":{…}}}
 */
export function xDirectMessage(input: {
  account: XUser;
  from: XUser;
  text: string;
  id?: string;
  at?: number;
}) {
  return {
    for_user_id: input.account.id,
    direct_message_events: [
      {
        type: 'message_create',
        id: input.id ?? snowflake(),
        created_timestamp: String(input.at ?? Date.now()),
        message_create: {
          target: { recipient_id: input.account.id },
          sender_id: input.from.id,
          message_data: {
            text: input.text,
            entities: { hashtags: [], symbols: [], user_mentions: [], urls: [] },
          },
        },
      },
    ],
    users: { [input.from.id]: userObject(input.from), [input.account.id]: userObject(input.account) },
  };
}

/** v1.1's created_at: "Wed Oct 10 20:19:24 +0000 2018". */
const xDate = (ms: number) =>
  new Date(ms).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (.+) GMT$/, '$1 $3 $2 $5 +0000 $4');

/**
 * A post mentioning the account (or the account's own post, or a retweet), e.g.
 *   {"for_user_id":"2244994945","user_has_blocked":false,"tweet_create_events":[{"created_at":
 *   "Wed Oct 10 20:19:24 +0000 2018","id":1050118621198921728,"id_str":"1050118621198921728",
 *   "text":"@XDevelopers my line is down","in_reply_to_status_id_str":null,"user":{"id":6253282,
 *   "id_str":"6253282","screen_name":"pat","followers_count":21,"verified":false,…},
 *   "entities":{"user_mentions":[{"screen_name":"XDevelopers","id_str":"2244994945"}]}}]}
 */
export function xMention(input: {
  account: XUser;
  from: XUser;
  text: string;
  id?: string;
  inReplyTo?: string;
  retweet?: boolean;
  at?: number;
}) {
  const id = input.id ?? snowflake();
  return {
    for_user_id: input.account.id,
    user_has_blocked: false,
    tweet_create_events: [
      {
        created_at: xDate(input.at ?? Date.now()),
        id: Number(id),
        id_str: id,
        text: input.text,
        truncated: false,
        in_reply_to_status_id_str: input.inReplyTo ?? null,
        in_reply_to_user_id_str: input.inReplyTo ? input.account.id : null,
        user: userObject(input.from),
        entities: {
          hashtags: [],
          urls: [],
          user_mentions: [{ screen_name: input.account.screenName, id_str: input.account.id }],
        },
        ...(input.retweet ? { retweeted_status: { id_str: snowflake(), text: input.text } } : {}),
      },
    ],
  };
}

/** One post or DM the fake API accepted. */
export interface XSent {
  kind: 'post' | 'dm';
  body: Record<string, unknown>;
  participant?: string;
  id: string;
}

/**
 * X API v2 as it answers: POST /2/tweets → 201 {"data":{"id","text"}}; POST
 * /2/dm_conversations/with/{participant_id}/messages → 201 {"data":{"dm_conversation_id",
 * "dm_event_id"}}; a wrong token 401 {"title":"Unauthorized","type":…,"status":401,"detail"}.
 */
export async function startFakeX(options: { accessToken?: string; accountId?: string } = {}) {
  const accessToken = options.accessToken ?? X_ACCESS_TOKEN;
  const sent: XSent[] = [];
  const failures: { status: number; title: string; detail: string }[] = [];
  const api = await startFakeApi((req, raw, reply) => {
    const problem = (status: number, title: string, detail: string) =>
      reply(status, { title, detail, type: 'about:blank', status });
    const dm = /^\/2\/dm_conversations\/with\/(\d+)\/messages$/.exec(req.url ?? '');
    const post = req.url === '/2/tweets';
    if (req.method !== 'POST' || (!dm && !post)) return problem(404, 'Not Found Error', 'No such route');
    if (req.headers.authorization !== `Bearer ${accessToken}`)
      return problem(401, 'Unauthorized', 'Unauthorized');
    const failure = failures.shift();
    if (failure) return problem(failure.status, failure.title, failure.detail);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return problem(400, 'Invalid Request', 'Body is not JSON');
    }
    if (typeof body.text !== 'string' || body.text.length === 0)
      return problem(400, 'Invalid Request', 'text is required');
    const id = snowflake();
    if (post) {
      sent.push({ kind: 'post', body, id });
      return reply(201, { data: { id, text: body.text, edit_history_tweet_ids: [id] } });
    }
    sent.push({ kind: 'dm', body, participant: dm![1], id });
    return reply(201, {
      data: { dm_conversation_id: `${options.accountId ?? '1'}-${dm![1]}`, dm_event_id: id },
    });
  });
  return {
    baseUrl: api.baseUrl,
    sent,
    failNext(status: number, title: string, detail: string) {
      failures.push({ status, title, detail });
    },
    close: api.close,
  };
}

export const randomHandle = () => `cust_${randomBytes(4).toString('hex')}`;
