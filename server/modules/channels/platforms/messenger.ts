/**
 * Facebook Messenger through a page's Messenger Platform webhooks (object "page", signed with
 * X-Hub-Signature-256; the shared format in meta.ts). The customer is their page-scoped id (PSID).
 * Replies: POST {graph}/{version}/me/messages with the page access token.
 * https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
 * https://developers.facebook.com/docs/messenger-platform/reference/send-api
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

/** The Send API's limit on a text message. */
export const MESSENGER_MAX_LENGTH = 2000;

export const messenger: ChannelPlatform = {
  type: 'messenger',
  secretNames: ['appSecret', 'verifyToken', 'accessToken'],
  replyLimits: {
    maxLength: MESSENGER_MAX_LENGTH,
    segments: false,
    attachments: false,
    replyWindowHours: MESSAGING_WINDOW_HOURS,
  },
  handshake: metaHandshake,
  verify: verifyMeta,
  parse: (request, channel) => parseMessaging(readJson(request.rawBody), channel, 'page'),
  acknowledge: META_ACK,
  send: (message, channel) => sendMessaging(channel, message),
};
