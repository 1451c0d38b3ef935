/**
 * SMS through Twilio Programmable Messaging.
 *
 * Inbound: Twilio POSTs application/x-www-form-urlencoded to the channel's webhook URL, signed
 * with X-Twilio-Signature — an incoming message (MessageSid, From, To, Body, NumMedia,
 * MediaUrl0…) or, for a reply we sent, a status callback (MessageSid, MessageStatus, ErrorCode).
 * Outbound: POST {apiBaseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json with basic auth
 * (Account SID, auth token) and a form body To, From, Body, StatusCallback; 201 names the SM… id.
 * https://www.twilio.com/docs/messaging/guides/webhook-request
 * https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
 */
import type { SmsSettings } from '../../../../shared/api/channel-settings.ts';
import type {
  ChannelPlatform,
  InboundAttributes,
  ParsedWebhook,
  PlatformChannel,
  StatusUpdate,
} from './platform.ts';
import {
  emptyWebhook,
  PlatformError,
  platformFetch,
  responseError,
  WebhookPayloadError,
} from './platform.ts';
import { formMap, required, TWIML_EMPTY, twilioSid, verifyTwilio } from './twilio.ts';

export const TWILIO_API = 'https://api.twilio.com';
/** Twilio refuses longer bodies (error 21617); the composer counts segments below it. */
export const SMS_MAX_LENGTH = 1600;
const MAX_MEDIA = 10;

/** Callback statuses that move a delivery on; queued, sending, accepted, … say nothing new. */
const statusOf: Record<string, StatusUpdate['status']> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  undelivered: 'failed',
  failed: 'failed',
};

function parse(fields: Map<string, string>, channel: PlatformChannel): ParsedWebhook {
  const out = emptyWebhook();
  const sid = twilioSid(fields, 'MessageSid', ['SM', 'MM']);
  const status = fields.get('MessageStatus') ?? (fields.has('Body') ? undefined : fields.get('SmsStatus'));
  if (status && status !== 'received') {
    const mapped = statusOf[status];
    if (mapped) {
      const code = fields.get('ErrorCode');
      const error =
        mapped === 'failed'
          ? [code, fields.get('ErrorMessage') ?? status].filter(Boolean).join(' ')
          : undefined;
      out.statuses.push({ providerMessageId: sid, status: mapped, ...(error ? { error } : {}) });
    }
    return out;
  }
  const from = required(fields, 'From');
  const to = fields.get('To')?.trim();
  if (to && channel.address && to !== channel.address) {
    throw new WebhookPayloadError(`To ${to} is not this channel's number`);
  }
  const count = Number(fields.get('NumMedia') ?? '0');
  if (!Number.isInteger(count) || count < 0 || count > MAX_MEDIA)
    throw new WebhookPayloadError('NumMedia is invalid');
  const attributes: InboundAttributes = {};
  const media: NonNullable<InboundAttributes['media']> = [];
  for (let i = 0; i < count; i++) {
    const url = required(fields, `MediaUrl${i}`);
    if (!/^https?:\/\//.test(url)) throw new WebhookPayloadError(`MediaUrl${i} is not a URL`);
    media.push({ url, contentType: fields.get(`MediaContentType${i}`) ?? null });
  }
  if (media.length > 0) attributes.media = media;
  // Twilio's WhatsApp and RCS senders add these to the same format.
  const lat = Number(fields.get('Latitude'));
  const lon = Number(fields.get('Longitude'));
  if (fields.has('Latitude') && Number.isFinite(lat) && Number.isFinite(lon)) {
    attributes.location = {
      latitude: lat,
      longitude: lon,
      ...(fields.get('Label') ? { name: fields.get('Label') } : {}),
      ...(fields.get('Address') ? { address: fields.get('Address') } : {}),
    };
  }
  const replyTo = fields.get('OriginalRepliedMessageSid');
  if (replyTo) attributes.replyTo = replyTo;
  const where = ['FromCity', 'FromState', 'FromCountry'].map((k) => fields.get(k)).filter(Boolean);
  if (where.length > 0) attributes.profile = { location: where.join(', ') };
  const body = (fields.get('Body') ?? '').trim();
  const text = body || (media.length > 0 ? `(${media.length} file${media.length > 1 ? 's' : ''})` : '');
  if (!text) throw new WebhookPayloadError('Body is empty');
  out.contacts.push({
    identity: from,
    ...(fields.get('ProfileName') ? { name: fields.get('ProfileName') } : {}),
    text,
    externalId: sid,
    attributes,
  });
  return out;
}

export const twilioSms: ChannelPlatform = {
  type: 'sms',
  secretNames: ['authToken'],
  replyLimits: { maxLength: SMS_MAX_LENGTH, segments: true, attachments: false, replyWindowHours: null },
  verify: verifyTwilio,
  parse: (request, channel) => parse(formMap(request.rawBody), channel),
  acknowledge: TWIML_EMPTY,
  async send(message, channel) {
    const settings = channel.settings as SmsSettings;
    const token = channel.secret('authToken');
    if (!token || !settings.accountSid || !channel.address) {
      throw new PlatformError('the channel has no Twilio account SID, auth token or number', true);
    }
    const base = (settings.apiBaseUrl ?? TWILIO_API).replace(/\/+$/, '');
    const form = new URLSearchParams({ To: message.to, From: channel.address, Body: message.text });
    if (channel.webhookUrl) form.set('StatusCallback', channel.webhookUrl);
    const res = await platformFetch(`${base}/2010-04-01/Accounts/${settings.accountSid}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${settings.accountSid}:${token}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
    });
    const text = await res.text();
    let json: { sid?: unknown; code?: unknown; message?: unknown } = {};
    try {
      json = JSON.parse(text);
    } catch {}
    if (res.status !== 200 && res.status !== 201) {
      const detail = [json.code, json.message].filter((v) => v !== undefined).join(' ') || text.slice(0, 200);
      throw responseError(res.status, `Twilio: ${detail}`);
    }
    if (typeof json.sid !== 'string') throw new PlatformError('Twilio answered without a message sid', false);
    return { providerMessageId: json.sid };
  },
};
