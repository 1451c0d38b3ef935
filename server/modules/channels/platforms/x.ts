/**
 * X (Twitter) through the Account Activity API.
 *
 * Handshake: GET ?crc_token=… (the CRC, on registration and hourly) answers
 * {"response_token": "sha256=" + base64 HMAC-SHA256(consumer secret, crc_token)}.
 * Inbound: JSON signed with x-twitter-webhooks-signature ("sha256=" + base64 HMAC-SHA256 of the
 * raw body), for the account for_user_id: direct_message_events (private; users{} describes the
 * sender) and tweet_create_events (public: mentions of and replies to the account; its own
 * tweets and retweets are skipped). The customer is their X user id; screen name, followers and
 * the "verified" badge are kept as profile information only — never priority, routing or SLA.
 * Outbound: a public reply POST {api}/2/tweets {text, reply.in_reply_to_tweet_id}, or a direct
 * message POST {api}/2/dm_conversations/with/{user id}/messages {text} (metadata.visibility).
 * https://docs.x.com/x-api/enterprise-gnip-2.0/fundamentals/account-activity
 * https://docs.x.com/x-api/posts/create-post
 * https://docs.x.com/x-api/direct-messages/send-a-new-message-to-a-user
 */
import { createHmac } from 'node:crypto';
import { postLength } from '../../../../shared/domain/social-text.ts';
import { verifyBodySignature } from './body-signature.ts';
import { postJson } from './json-api.ts';
import { arr, checkedIdentity, type Json, obj, optStr, platformId, readJson, str } from './json-body.ts';
import type {
  ChannelPlatform,
  HandshakeReply,
  InboundContact,
  ParsedWebhook,
  PlatformChannel,
  Verification,
  WebhookRequest,
} from './platform.ts';
import { emptyWebhook, PlatformError, responseError, WebhookPayloadError } from './platform.ts';

export const X_API = 'https://api.x.com';
/** A post's limit (weighted: see tweetLength); a direct message takes up to 10,000 characters. */
export const TWEET_MAX_LENGTH = 280;
export const DM_MAX_LENGTH = 10_000;

export type Visibility = 'public' | 'direct';

const CRC_TOKEN = /^[\x21-\x7e]{1,1000}$/;

const hmac = (secret: string, data: string | Buffer) =>
  createHmac('sha256', secret).update(data).digest('base64');

/** The CRC answer; no consumer secret stored: refused (fails closed). */
function handshake(request: WebhookRequest, channel: PlatformChannel): HandshakeReply | null {
  const token = request.query.crc_token;
  if (token === undefined) return null;
  const json = (status: number, body: unknown) => ({
    status,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });
  const secret = channel.secret('consumerSecret');
  if (!secret)
    return json(403, {
      error: { code: 'webhook_not_configured', message: 'The channel has no consumer secret' },
    });
  if (!CRC_TOKEN.test(token))
    return json(400, { error: { code: 'validation_failed', message: 'crc_token is invalid' } });
  return json(200, { response_token: `sha256=${hmac(secret, token)}` });
}

/** x-twitter-webhooks-signature = "sha256=" + base64 HMAC-SHA256(consumer secret, raw body). */
function verify(request: WebhookRequest, channel: PlatformChannel): Verification {
  return verifyBodySignature(request, {
    secret: channel.secret('consumerSecret'),
    header: 'x-twitter-webhooks-signature',
    encoding: 'base64',
    notConfigured: 'The channel has no X consumer secret',
  });
}

/** What X says about an account: shown to agents, used for nothing else (no loudness bonus). */
function profileOf(user: Json | undefined): Record<string, unknown> | undefined {
  if (!user) return undefined;
  const profile: Record<string, unknown> = {};
  if (typeof user.screen_name === 'string') profile.screenName = user.screen_name.slice(0, 50);
  if (typeof user.name === 'string') profile.displayName = user.name.slice(0, 200);
  if (typeof user.followers_count === 'number') profile.followers = user.followers_count;
  if (typeof user.verified === 'boolean') profile.verified = user.verified;
  if (typeof user.verified_type === 'string') profile.verifiedType = user.verified_type.slice(0, 40);
  return Object.keys(profile).length > 0 ? profile : undefined;
}

function mediaOf(entities: unknown, path: string) {
  const list = arr((entities as Json | undefined)?.media, `${path}.media`, 20);
  return list.flatMap((m, i) => {
    const media = obj(m, `${path}.media[${i}]`);
    const url = optStr(media.media_url_https ?? media.media_url, `${path}.media[${i}].media_url_https`, 4000);
    if (!url || !/^https?:\/\//.test(url)) return [];
    return [{ url, contentType: null, kind: optStr(media.type, `${path}.media[${i}].type`, 40) ?? 'photo' }];
  });
}

function directMessage(e: Json, path: string, forUser: string, users: Json): InboundContact | null {
  if (e.type !== 'message_create') return null;
  const id = platformId(e.id, `${path}.id`);
  const create = obj(e.message_create, `${path}.message_create`);
  const sender = platformId(create.sender_id, `${path}.message_create.sender_id`);
  // Our own direct messages come back to us too.
  if (sender === forUser) return null;
  const data = obj(create.message_data, `${path}.message_create.message_data`);
  const media = mediaOf({ media: [(data.attachment as Json | undefined)?.media].filter(Boolean) }, path);
  const text =
    optStr(data.text, `${path}.message_create.message_data.text`) ?? (media.length > 0 ? '(photo)' : '');
  if (!text) throw new WebhookPayloadError(`${path} has no text`);
  const user = users[sender] as Json | undefined;
  const profile = profileOf(user);
  const created = Number(e.created_timestamp);
  return {
    identity: checkedIdentity('x', sender, `${path}.message_create.sender_id`),
    ...(typeof profile?.displayName === 'string' ? { name: profile.displayName } : {}),
    text,
    externalId: `dm:${id}`,
    ...(Number.isFinite(created) && created > 0 ? { receivedAt: new Date(created).toISOString() } : {}),
    attributes: {
      visibility: 'direct',
      from: sender,
      dmEventId: id,
      ...(media.length > 0 ? { media } : {}),
      ...(profile ? { profile } : {}),
    },
  };
}

function tweet(t: Json, path: string, forUser: string): InboundContact | null {
  const user = obj(t.user, `${path}.user`);
  const author = platformId(user.id_str ?? user.id, `${path}.user.id_str`);
  // The account's own posts and anyone's retweets are not someone asking us something.
  if (author === forUser || t.retweeted_status !== undefined) return null;
  const id = platformId(t.id_str ?? t.id, `${path}.id_str`);
  const extended = t.extended_tweet as Json | undefined;
  const text = str(extended?.full_text ?? t.full_text ?? t.text, `${path}.text`, 25_000);
  const media = mediaOf(extended?.extended_entities ?? t.extended_entities ?? t.entities, path);
  const profile = profileOf(user);
  const created = typeof t.created_at === 'string' ? Date.parse(t.created_at) : Number.NaN;
  const replyTo = optStr(t.in_reply_to_status_id_str, `${path}.in_reply_to_status_id_str`, 40);
  return {
    identity: checkedIdentity('x', author, `${path}.user.id_str`),
    ...(typeof profile?.displayName === 'string' ? { name: profile.displayName } : {}),
    text,
    externalId: `tweet:${id}`,
    ...(Number.isFinite(created) ? { receivedAt: new Date(created).toISOString() } : {}),
    attributes: {
      visibility: 'public',
      from: author,
      tweetId: id,
      ...(replyTo ? { replyTo } : {}),
      ...(media.length > 0 ? { media } : {}),
      ...(profile ? { profile } : {}),
    },
  };
}

export function parseX(body: Json, channel: PlatformChannel): ParsedWebhook {
  const forUser = platformId(body.for_user_id, 'for_user_id');
  const out = emptyWebhook();
  // An app subscribed for several accounts posts each account's events to its own URL; another
  // account's events are not this channel's.
  if (channel.address && forUser !== channel.address) return out;
  const users = body.users === undefined ? {} : obj(body.users, 'users');
  arr(body.direct_message_events, 'direct_message_events').forEach((e, i) => {
    const path = `direct_message_events[${i}]`;
    const contact = directMessage(obj(e, path), path, forUser, users);
    if (contact) out.contacts.push(contact);
  });
  arr(body.tweet_create_events, 'tweet_create_events').forEach((t, i) => {
    const path = `tweet_create_events[${i}]`;
    const contact = tweet(obj(t, path), path, forUser);
    if (contact) out.contacts.push(contact);
  });
  arr(body.direct_message_mark_read_events, 'direct_message_mark_read_events').forEach((e, i) => {
    const path = `direct_message_mark_read_events[${i}]`;
    const read = obj(e, path);
    // The customer read up to one of our messages.
    if (read.sender_id === forUser || read.last_read_event_id === undefined) return;
    out.statuses.push({
      providerMessageId: platformId(read.last_read_event_id, `${path}.last_read_event_id`),
      status: 'read',
    });
  });
  return out;
}

/** A post's length as X counts it (shared with the composer). */
export const tweetLength = postLength;

async function xPost(channel: PlatformChannel, path: string, body: Json): Promise<Json> {
  const base = ((channel.settings as { apiBaseUrl?: string }).apiBaseUrl ?? X_API).replace(/\/+$/, '');
  const { status, text, json } = await postJson(channel, 'X', `${base}${path}`, body);
  if (status >= 200 && status < 300) return json;
  const first = (Array.isArray(json.errors) ? json.errors[0] : undefined) as Json | undefined;
  const detail = [json.title, json.detail ?? first?.message].filter((v) => typeof v === 'string').join(': ');
  throw responseError(status, `X: ${detail || text.slice(0, 200)}`);
}

export const x: ChannelPlatform = {
  type: 'x',
  secretNames: ['consumerSecret', 'accessToken'],
  replyLimits: { maxLength: TWEET_MAX_LENGTH, segments: false, attachments: false, replyWindowHours: null },
  handshake,
  verify,
  parse: (request, channel) => parseX(readJson(request.rawBody), channel),
  acknowledge: { contentType: 'text/plain', body: '' },
  async send(message, channel) {
    const visibility = (message.metadata?.visibility as Visibility | undefined) ?? 'direct';
    if (visibility === 'public') {
      const inReplyTo = message.metadata?.inReplyToTweetId;
      if (typeof inReplyTo !== 'string')
        throw new PlatformError('a public reply names no post to answer', true);
      const json = await xPost(channel, '/2/tweets', {
        text: message.text,
        reply: { in_reply_to_tweet_id: inReplyTo },
      });
      const id = (json.data as Json | undefined)?.id;
      if (typeof id !== 'string') throw new PlatformError('X answered without a post id', false);
      return { providerMessageId: id };
    }
    const json = await xPost(channel, `/2/dm_conversations/with/${encodeURIComponent(message.to)}/messages`, {
      text: message.text,
    });
    const id = (json.data as Json | undefined)?.dm_event_id;
    if (typeof id !== 'string') throw new PlatformError('X answered without a message id', false);
    return { providerMessageId: id };
  },
};
