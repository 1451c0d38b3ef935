/**
 * The channel adapter interface: everything Rapport needs from one messaging platform (Twilio
 * SMS, Twilio Voice, WhatsApp Cloud API, Messenger, Instagram, X), one file per platform in this
 * folder, registered in ./index.ts. An adapter is pure translation: it never touches the
 * database, and its only I/O is `send` calling the platform's REST API.
 *
 * Inbound, the webhook route (channels.webhooks.routes.ts) does, for POST
 * /webhooks/v1/channels/:channelId: find the active channel → `verify` over the raw bytes (fails
 * closed: nothing is parsed or stored unless it says ok) → `parse` → every contact into
 * receiveContact (idempotent on the platform's message id), every status onto
 * message_deliveries, every call into the phone log → answer `acknowledge`. A GET goes to
 * `handshake` (Meta's hub.challenge, X's CRC).
 *
 * Outbound, the delivery sender (channels.sender.ts) leases a message_deliveries row and calls
 * `send`; a PlatformError says whether the platform refused for good or may accept later.
 */
import { isIPv6 } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import type { PlatformChannelType } from '../../../../shared/api/channel-settings.ts';
import { EgressRefused, resolveEgressUrl } from '../../../lib/egress.ts';

/** A webhook request as the platform made it. */
export interface WebhookRequest {
  method: 'GET' | 'POST';
  /**
   * The URL the platform called, as the public sees it (scheme, host, port, path and query):
   * the channel's settings.publicUrl, else RAPPORT_PUBLIC_URL + the path, plus the request's
   * query string. Null when neither is configured; signatures over the URL then fail closed.
   */
  publicUrl: string | null;
  /** Query parameters, decoded (a repeated name keeps its first value). */
  query: Record<string, string>;
  /** Header names lower-case. */
  headers: Record<string, string | undefined>;
  /** The body exactly as received: signatures cover these bytes, never a re-serialisation. */
  rawBody: Buffer;
}

/** A channel as its adapter sees it: no database row, secrets opened on demand. */
export interface PlatformChannel {
  tenantId: string;
  id: string;
  type: PlatformChannelType;
  /** The channel's own address on the platform: E.164 number, phone number id, page id, … */
  address: string | null;
  settings: Record<string, unknown>;
  /** A secret by name (channels.secrets), opened; null when not set or unreadable (fail closed). */
  secret(name: string): string | null;
  /** The public URL of this channel's webhook, for status callbacks; null when unknown. */
  webhookUrl: string | null;
}

export type Verification =
  | { ok: true }
  | {
      ok: false;
      /** missing → 401; invalid → 403; not_configured (no secret, no public URL) → 403. */
      reason: 'missing' | 'invalid' | 'not_configured';
      message: string;
    };

/** What a handshake GET is answered with (the challenge echoed), or null: not a handshake. */
export interface HandshakeReply {
  status: number;
  contentType: string;
  body: string;
}

/** What the platform says about a message beyond its text; stored on the contact's attributes. */
export interface InboundAttributes {
  /**
   * Files the customer sent, by the platform's URL (not fetched on intake: SECURITY.md SS-03).
   * WhatsApp names a file by id: `url` is then its Graph API address and `id` the media id.
   */
  media?: {
    url: string;
    contentType: string | null;
    id?: string;
    /** image, video, audio, voice, document, sticker, file, … as the platform says. */
    kind?: string;
    filename?: string;
    caption?: string;
    sha256?: string;
  }[];
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  /** The platform id of the message this one answers (a quoted reply). */
  replyTo?: string;
  /** The sender's profile (display name, follower count, verified badge): information only. */
  profile?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One message from a customer, ready for the intake. */
export interface InboundContact {
  /** The sender on the platform, as identityForChannel(type) reads it: +E.164, page-scoped id, … */
  identity: string;
  name?: string;
  text: string;
  /** The platform's message id: the intake stores a redelivered or concurrent duplicate once. */
  externalId: string;
  receivedAt?: string;
  attributes: InboundAttributes;
}

/** Delivery statuses Rapport keeps (message_deliveries.status), in the order they move. */
export const deliveryStatuses = ['pending', 'sending', 'sent', 'delivered', 'read', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** A status callback for a message we sent, found by the platform's id for it. */
export interface StatusUpdate {
  providerMessageId: string;
  status: Extract<DeliveryStatus, 'sent' | 'delivered' | 'read' | 'failed'>;
  /** The platform's reason when failed ("30003 Unreachable destination handset"). */
  error?: string;
}

/** A finished phone call, reported by the telephony platform. */
export interface CallRecord {
  /** The platform's call id (Twilio CallSid): a call is logged once. */
  callId: string;
  direction: 'inbound' | 'outbound';
  /** The customer's number, +E.164. */
  number: string;
  durationSeconds: number;
  /** completed, busy, no_answer, failed, canceled. */
  outcome: string;
  name?: string;
}

export interface ParsedWebhook {
  contacts: InboundContact[];
  statuses: StatusUpdate[];
  calls: CallRecord[];
}

/** One reply to send. */
export interface OutboundMessage {
  /** The customer's address on the platform (message_deliveries.recipient). */
  to: string;
  text: string;
  /** Channel-specific extras from messages.metadata (X visibility, a WhatsApp template, …). */
  metadata: Record<string, unknown> | null;
  /** Stable across retries of this delivery: an idempotency key where the platform takes one. */
  deliveryId: string;
}

/** The platform accepted the message; status callbacks name it by this id. */
export interface SendResult {
  providerMessageId: string;
}

/**
 * A send the platform refused or that could not reach it. `permanent`: retrying cannot help
 * (a 4xx other than 408/429, an unknown recipient); otherwise the sender backs off and retries.
 */
export class PlatformError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.name = 'PlatformError';
    this.permanent = permanent;
  }
}

/** A webhook body the adapter cannot read: 400, nothing stored (SECURITY.md MI-05). */
export class WebhookPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookPayloadError';
  }
}

/** What an agent's reply on this channel may be; the composer shows them (shared/api/channel-settings.ts). */
export interface ReplyLimits {
  /** Characters in one reply; null: no limit worth showing. */
  maxLength: number | null;
  /** SMS: the text is split into segments the customer's carrier bills one by one. */
  segments: boolean;
  /** Files can be sent with a reply. */
  attachments: boolean;
  /** Hours after the customer's last message within which free-form replies are allowed. */
  replyWindowHours: number | null;
}

export interface ChannelPlatform {
  type: PlatformChannelType;
  /** Names of the channel's secrets the adapter reads; the first ones verify webhooks. */
  secretNames: readonly string[];
  /** Null: agents cannot reply on this channel (phone). */
  replyLimits: ReplyLimits | null;
  /** GET requests: a subscription handshake, answered without storing anything. */
  handshake?(request: WebhookRequest, channel: PlatformChannel): HandshakeReply | null;
  /** Checks the platform's signature before anything is parsed. Must fail closed. */
  verify(request: WebhookRequest, channel: PlatformChannel): Verification;
  /** Reads a verified body; throws WebhookPayloadError for a malformed one. */
  parse(request: WebhookRequest, channel: PlatformChannel): ParsedWebhook;
  /** The 200's body the platform expects (Twilio: empty TwiML). */
  acknowledge: { contentType: string; body: string };
  /** Sends one reply through the platform's REST API (base URL from the channel's settings). */
  send?(message: OutboundMessage, channel: PlatformChannel): Promise<SendResult>;
}

export const emptyWebhook = (): ParsedWebhook => ({ contacts: [], statuses: [], calls: [] });

/**
 * fetch with a deadline to a platform's API, only where Rapport may connect (SECURITY.md SS-01):
 * the host is resolved and checked (server/lib/egress.ts), and the connection goes to the checked
 * address, so a name that answers differently the second time cannot reach the private network.
 * Redirects are never followed (SS-02). The answer is read whole before returning. A refused
 * destination fails for good; a network failure or timeout is a PlatformError that may be retried.
 */
export async function platformFetch(url: string, init: RequestInit, timeoutMs = 30_000): Promise<Response> {
  let target: Awaited<ReturnType<typeof resolveEgressUrl>>;
  try {
    target = await resolveEgressUrl(url);
  } catch (err) {
    if (!(err instanceof EgressRefused)) throw err;
    throw new PlatformError(`Rapport will not connect to ${err.message}`, err.kind !== 'unresolved');
  }
  const family = isIPv6(target.address) ? 6 : 4;
  const dispatcher = new Agent({
    connect: {
      lookup: (_host, options, callback) =>
        (options as { all?: boolean }).all
          ? (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
              { address: target.address, family },
            ])
          : (callback as (e: null, a: string, f: number) => void)(null, target.address, family),
    },
  });
  try {
    const res = await undiciFetch(url, {
      ...(init as object),
      dispatcher,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.text();
    return new Response(res.status === 204 || res.status === 304 ? null : body, {
      status: res.status,
      headers: Object.fromEntries(res.headers.entries()),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new PlatformError(`could not reach ${target.url.host}: ${cause ?? (err as Error).message}`, false);
  } finally {
    void dispatcher.close();
  }
}

/**
 * The platform's answer as an error: a redirect (never followed, SECURITY.md SS-02) or a 4xx
 * other than 408/429 fails for good; 408, 429 and 5xx are retried.
 */
export function responseError(status: number, detail: string): PlatformError {
  const permanent = status >= 300 && status < 500 && status !== 408 && status !== 429;
  return new PlatformError(`${status} ${detail}`.trim().slice(0, 500), permanent);
}
