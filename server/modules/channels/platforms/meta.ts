/**
 * What Meta's platforms (WhatsApp Cloud API, Messenger, Instagram) share: the subscription
 * handshake, X-Hub-Signature-256 over the raw body, reading their JSON under MI-05 rules, and
 * calling the Graph API.
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started/
 */
import { safeEqual } from '../../../lib/secrets.ts';
import { verifyBodySignature } from './body-signature.ts';
import { postJson } from './json-api.ts';
import {
  arr,
  checkedIdentity,
  type Json,
  num,
  obj,
  optStr,
  platformId,
  str,
  timestamp,
} from './json-body.ts';
import type {
  HandshakeReply,
  InboundAttributes,
  InboundContact,
  OutboundMessage,
  ParsedWebhook,
  PlatformChannel,
  Verification,
  WebhookRequest,
} from './platform.ts';
import { emptyWebhook, PlatformError, responseError, WebhookPayloadError } from './platform.ts';

export const GRAPH_API = 'https://graph.facebook.com';
export const GRAPH_VERSION = 'v21.0';
/** Meta answers webhooks' 200 with anything; an empty body costs least. */
export const META_ACK = { contentType: 'text/plain', body: 'EVENT_RECEIVED' };

/** hub.challenge is a number Meta picks; anything else is not echoed (it is written back verbatim). */
const CHALLENGE = /^[A-Za-z0-9._-]{1,200}$/;

/** The Graph API root for a channel: settings.apiBaseUrl (a proxy or test server) and settings.apiVersion. */
export function graphRoot(channel: PlatformChannel): string {
  const s = channel.settings as { apiBaseUrl?: string; apiVersion?: string };
  return `${(s.apiBaseUrl ?? GRAPH_API).replace(/\/+$/, '')}/${s.apiVersion ?? GRAPH_VERSION}`;
}

/** X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body). No app secret: fails closed. */
export function verifyMeta(request: WebhookRequest, channel: PlatformChannel): Verification {
  return verifyBodySignature(request, {
    secret: channel.secret('appSecret'),
    header: 'X-Hub-Signature-256',
    encoding: 'hex',
    notConfigured: 'The channel has no Meta app secret',
  });
}

const refuse = (status: number, code: string, message: string): HandshakeReply => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify({ error: { code, message } }),
});

/**
 * GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…: Meta checks the callback URL when
 * it is saved in the app. The token must be the channel's verifyToken (constant-time); the
 * answer is the challenge as text. No verify token stored: refused (fails closed).
 */
export function metaHandshake(request: WebhookRequest, channel: PlatformChannel): HandshakeReply | null {
  const mode = request.query['hub.mode'];
  if (mode === undefined) return null;
  if (mode !== 'subscribe') return refuse(400, 'validation_failed', 'hub.mode must be subscribe');
  const expected = channel.secret('verifyToken');
  if (!expected) return refuse(403, 'webhook_not_configured', 'The channel has no verify token');
  const token = request.query['hub.verify_token'] ?? '';
  if (!safeEqual(token, expected)) {
    return refuse(403, 'webhook_signature_invalid', 'hub.verify_token is not this channel’s verify token');
  }
  const challenge = request.query['hub.challenge'] ?? '';
  if (!CHALLENGE.test(challenge))
    return refuse(400, 'validation_failed', 'hub.challenge is missing or invalid');
  return { status: 200, contentType: 'text/plain', body: challenge };
}

// --- the Graph API ---------------------------------------------------------------------------

/** Graph error codes that mean "later": throttling and temporary outages. */
const RETRYABLE_GRAPH_CODES = new Set([
  1, 2, 4, 17, 32, 341, 613, 80007, 130429, 131000, 131016, 131048, 131056,
]);

/**
 * POSTs JSON to the Graph API with the channel's access token and answers the parsed body.
 * Graph errors ({"error": {"message", "code", "error_subcode", "fbtrace_id"}}) become a
 * PlatformError: throttling codes may be retried, other 4xx fail for good.
 */
export async function graphPost(channel: PlatformChannel, path: string, body: Json): Promise<Json> {
  const { status, text, json } = await postJson(channel, 'Meta', `${graphRoot(channel)}${path}`, body);
  if (status >= 200 && status < 300) return json;
  const error = (json.error ?? {}) as { message?: unknown; code?: unknown; error_subcode?: unknown };
  const detail =
    [error.code, error.error_subcode, error.message].filter((v) => v !== undefined).join(' ') ||
    text.slice(0, 200);
  const refused = responseError(status, `Meta: ${detail}`);
  if (typeof error.code === 'number' && RETRYABLE_GRAPH_CODES.has(error.code)) {
    throw new PlatformError(refused.message, false);
  }
  throw refused;
}

// --- Messenger and Instagram: one messaging webhook format --------------------------------------

/**
 * entry[].messaging[] as Messenger (object "page") and Instagram (object "instagram") post it:
 * sender.id → recipient.id (the page or account), then one of message {mid, text, attachments[],
 * reply_to}, postback {mid, title, payload}, delivery {mids[]}, read {mid | watermark}. Our own
 * messages come back as echoes (message.is_echo) and are skipped; so is what was sent to another
 * page or account of the same app. A read receipt by watermark names no message and is skipped.
 * https://developers.facebook.com/docs/messenger-platform/webhooks
 * https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
export function parseMessaging(
  body: Json,
  channel: PlatformChannel,
  object: 'page' | 'instagram',
): ParsedWebhook {
  if (body.object !== object) throw new WebhookPayloadError(`object is not ${object}`);
  const out = emptyWebhook();
  arr(body.entry, 'entry', 100).forEach((e, i) => {
    const entry = obj(e, `entry[${i}]`);
    arr(entry.messaging, `entry[${i}].messaging`).forEach((m, j) => {
      const path = `entry[${i}].messaging[${j}]`;
      const item = obj(m, path);
      const sender = platformId(obj(item.sender, `${path}.sender`).id, `${path}.sender.id`);
      const recipient = platformId(obj(item.recipient, `${path}.recipient`).id, `${path}.recipient.id`);
      if (item.delivery !== undefined) {
        const mids = arr(obj(item.delivery, `${path}.delivery`).mids, `${path}.delivery.mids`);
        mids.forEach((mid, n) => {
          const providerMessageId = platformId(mid, `${path}.delivery.mids[${n}]`);
          out.statuses.push({ providerMessageId, status: 'delivered' });
        });
        return;
      }
      if (item.read !== undefined) {
        const mid = obj(item.read, `${path}.read`).mid;
        if (mid !== undefined)
          out.statuses.push({ providerMessageId: platformId(mid, `${path}.read.mid`), status: 'read' });
        return;
      }
      if (channel.address && recipient !== channel.address) return;
      const contact = messagingContact(item, path, sender, channel);
      if (contact) out.contacts.push(contact);
    });
  });
  return out;
}

const MESSAGING_ATTACHMENTS = /^[a-z_]{1,40}$/;

function messagingContact(
  item: Json,
  path: string,
  sender: string,
  channel: PlatformChannel,
): InboundContact | null {
  const at = timestamp(item.timestamp, `${path}.timestamp`, 'ms');
  const attributes: InboundAttributes = { from: sender };
  let text: string;
  let externalId: string;
  if (item.postback !== undefined) {
    // A tapped button: the customer chose something, as good as typing its title.
    const p = obj(item.postback, `${path}.postback`);
    if (p.mid === undefined) return null;
    externalId = platformId(p.mid, `${path}.postback.mid`);
    text = str(p.title, `${path}.postback.title`, 1000);
    attributes.postback = { title: text, payload: optStr(p.payload, `${path}.postback.payload`, 1000) };
  } else if (item.message !== undefined) {
    const m = obj(item.message, `${path}.message`);
    if (m.is_echo === true || m.is_deleted === true) return null;
    externalId = platformId(m.mid, `${path}.message.mid`);
    const media: NonNullable<InboundAttributes['media']> = [];
    arr(m.attachments, `${path}.message.attachments`, 50).forEach((a, n) => {
      const ap = `${path}.message.attachments[${n}]`;
      const attachment = obj(a, ap);
      const kind = str(attachment.type, `${ap}.type`, 40);
      if (!MESSAGING_ATTACHMENTS.test(kind)) throw new WebhookPayloadError(`${ap}.type is invalid`);
      const payload = (attachment.payload ?? {}) as Json;
      const coordinates = payload.coordinates as Json | undefined;
      if (kind === 'location' && coordinates) {
        attributes.location = {
          latitude: num(coordinates.lat, `${ap}.payload.coordinates.lat`),
          longitude: num(coordinates.long, `${ap}.payload.coordinates.long`),
          ...(optStr(attachment.title, `${ap}.title`, 1000) ? { name: String(attachment.title) } : {}),
        };
        return;
      }
      const url = optStr(payload.url, `${ap}.payload.url`, 4000);
      if (!url) return;
      if (!/^https?:\/\//.test(url)) throw new WebhookPayloadError(`${ap}.payload.url is not a URL`);
      media.push({ url, contentType: null, kind });
    });
    if (media.length > 0) attributes.media = media;
    if (m.reply_to !== undefined) {
      const r = obj(m.reply_to, `${path}.message.reply_to`);
      if (r.mid !== undefined) attributes.replyTo = platformId(r.mid, `${path}.message.reply_to.mid`);
      const story = r.story as Json | undefined;
      if (story)
        attributes.replyToStory = {
          id: optStr(story.id, 'story.id', 400),
          url: optStr(story.url, 'story.url', 4000),
        };
    }
    if (m.quick_reply !== undefined) {
      attributes.quickReply = optStr(
        obj(m.quick_reply, `${path}.message.quick_reply`).payload,
        'payload',
        1000,
      );
    }
    const written = optStr(m.text, `${path}.message.text`);
    const location = attributes.location;
    text =
      written ??
      (media.length > 0
        ? `(${media.map((x) => x.kind).join(', ')})`
        : location
          ? `(location: ${location.name ?? `${location.latitude}, ${location.longitude}`})`
          : m.is_unsupported === true
            ? '(a message Rapport cannot show)'
            : '');
    if (!text) throw new WebhookPayloadError(`${path}.message has no text or attachment`);
  } else {
    // Reactions, opt-ins, referrals, handovers: nothing the customer wrote.
    return null;
  }
  checkedIdentity(channel.type, sender, `${path}.sender.id`);
  return { identity: sender, text, externalId, attributes, ...(at ? { receivedAt: at } : {}) };
}

/** POST {graph}/{version}/me/messages: a reply in the conversation the customer opened (messaging_type RESPONSE). */
/**
 * Messenger and Instagram take replies within 24 hours of the customer's last message; after
 * that, for 7 days, only one tagged as a person's follow-up (HUMAN_AGENT), and then none.
 * https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
 */
export const MESSAGING_WINDOW_HOURS = 24;
export const HUMAN_AGENT_HOURS = 7 * 24;

/** A reply through the Send API; `metadata.tag` (HUMAN_AGENT) when it goes after the 24 hours. */
export async function sendMessaging(channel: PlatformChannel, message: OutboundMessage) {
  const tagged = message.metadata?.tag === 'HUMAN_AGENT';
  const json = await graphPost(channel, '/me/messages', {
    recipient: { id: message.to },
    ...(tagged ? { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' } : { messaging_type: 'RESPONSE' }),
    message: { text: message.text },
  });
  if (typeof json.message_id !== 'string')
    throw new PlatformError('Meta answered without a message id', false);
  return { providerMessageId: json.message_id };
}
