/**
 * Instagram direct messages through Meta's Instagram messaging webhooks (object "instagram",
 * signed with X-Hub-Signature-256; the shared format in meta.ts, plus story replies and mentions).
 * The customer is their Instagram-scoped id (IGSID). Replies: POST {graph}/{version}/me/messages.
 * https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 * https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/messaging-api
 */
import { readJson } from './json-body.ts';
import {
  MESSAGING_WINDOW_HOURS,
  META_ACK,
  metaHandshake,
  parseMessaging,
  sendMessaging,
  verifyMeta,
} from './meta.ts';
import type { ChannelPlatform } from './platform.ts';

/** Instagram's limit on a text message (1,000 bytes of UTF-8; characters shown). */
export const INSTAGRAM_MAX_LENGTH = 1000;

export const instagram: ChannelPlatform = {
  type: 'instagram',
  secretNames: ['appSecret', 'verifyToken', 'accessToken'],
  replyLimits: {
    maxLength: INSTAGRAM_MAX_LENGTH,
    segments: false,
    attachments: false,
    replyWindowHours: MESSAGING_WINDOW_HOURS,
  },
  handshake: metaHandshake,
  verify: verifyMeta,
  parse: (request, channel) => parseMessaging(readJson(request.rawBody), channel, 'instagram'),
  acknowledge: META_ACK,
  send: (message, channel) => sendMessaging(channel, message),
};
