/**
 * What each platform channel keeps: its settings (never secrets) and the names of its secrets,
 * which are write-only (sealed at rest; the API says only which are set). One block per type;
 * a platform's adapter (server/modules/channels/platforms/) reads the same names.
 */
import { type Static, type TObject, Type } from 'typebox';

/** Channels that reach Rapport through a platform's webhooks and API. */
export const platformChannelTypes = ['sms', 'whatsapp', 'messenger', 'instagram', 'x', 'phone'] as const;
export type PlatformChannelType = (typeof platformChannelTypes)[number];

const httpUrl = (description: string) =>
  Type.String({ maxLength: 2000, pattern: '^https?://[^\\s/?#]+[^\\s]*$', description });

const PublicUrl = httpUrl(
  'The exact URL the platform calls for this channel (https://help.example.com/webhooks/v1/channels/<id>); signatures cover it. Default: RAPPORT_PUBLIC_URL + the webhook path',
);
const ApiBaseUrl = (platformDefault: string) =>
  httpUrl(
    `Where the platform's REST API is reached; ${platformDefault} by default (a proxy or test server otherwise)`,
  );
const GraphVersion = Type.String({
  pattern: '^v\\d{1,3}\\.\\d{1,3}$',
  description: 'Graph API version, e.g. v21.0',
});
const TwilioAccountSid = Type.String({
  pattern: '^AC[0-9a-fA-F]{32}$',
  description: 'Twilio Account SID (AC…)',
});

export const SmsSettings = Type.Object(
  {
    accountSid: TwilioAccountSid,
    apiBaseUrl: Type.Optional(ApiBaseUrl('https://api.twilio.com')),
    publicUrl: Type.Optional(PublicUrl),
  },
  { additionalProperties: false },
);
export const PhoneSettings = Type.Object(
  { accountSid: Type.Optional(TwilioAccountSid), publicUrl: Type.Optional(PublicUrl) },
  { additionalProperties: false },
);
/** An approved WhatsApp message template: the only thing sendable outside the 24-hour window. */
export const WhatsAppTemplate = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9_]{1,512}$' }),
    language: Type.String({ pattern: '^[a-z]{2,3}(_[A-Z]{2})?$', description: 'e.g. en_GB' }),
    text: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'The approved text, {{1}} for parameters',
    }),
  },
  { additionalProperties: false },
);
export const WhatsAppSettings = Type.Object(
  {
    businessAccountId: Type.Optional(Type.String({ pattern: '^[0-9]{1,30}$' })),
    displayPhoneNumber: Type.Optional(Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' })),
    apiBaseUrl: Type.Optional(ApiBaseUrl('https://graph.facebook.com')),
    apiVersion: Type.Optional(GraphVersion),
    templates: Type.Optional(Type.Array(WhatsAppTemplate, { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export const MetaPageSettings = Type.Object(
  {
    apiBaseUrl: Type.Optional(ApiBaseUrl('https://graph.facebook.com')),
    apiVersion: Type.Optional(GraphVersion),
  },
  { additionalProperties: false },
);
export const XSettings = Type.Object(
  {
    handle: Type.Optional(Type.String({ pattern: '^@?[A-Za-z0-9_]{1,15}$' })),
    apiBaseUrl: Type.Optional(ApiBaseUrl('https://api.x.com')),
  },
  { additionalProperties: false },
);

/** Settings per platform type (chat and email settings are in chat.ts and channels.ts). */
export const platformSettings = {
  sms: SmsSettings,
  phone: PhoneSettings,
  whatsapp: WhatsAppSettings,
  messenger: MetaPageSettings,
  instagram: MetaPageSettings,
  x: XSettings,
} satisfies Record<PlatformChannelType, TObject>;
export type SmsSettings = Static<typeof SmsSettings>;
export type PhoneSettings = Static<typeof PhoneSettings>;
export type WhatsAppSettings = Static<typeof WhatsAppSettings>;
export type MetaPageSettings = Static<typeof MetaPageSettings>;
export type XSettings = Static<typeof XSettings>;

/**
 * Secret names per channel type, in channels.secrets. Twilio: the account's auth token signs
 * webhooks and authenticates sends. Meta: the app secret signs webhooks, the access token sends,
 * the verify token answers the subscription handshake. X: the consumer secret signs webhooks
 * and answers the CRC, the access token sends. Chat: the key sites sign visitor identities with.
 */
export const channelSecretNames = {
  email: [],
  chat: ['identitySecret'],
  sms: ['authToken'],
  phone: ['authToken'],
  whatsapp: ['appSecret', 'accessToken', 'verifyToken'],
  messenger: ['appSecret', 'accessToken', 'verifyToken'],
  instagram: ['appSecret', 'accessToken', 'verifyToken'],
  x: ['consumerSecret', 'accessToken'],
} as const satisfies Record<string, readonly string[]>;

/** One secret as written: replaced when given, removed with null; never read back. */
export const SecretValue = Type.String({ minLength: 1, maxLength: 2000, pattern: '^[^\\x00-\\x1f\\x7f]+$' });

/** The secrets object a type takes: only its own names. */
export function secretsInput(names: readonly string[]) {
  return Type.Object(
    Object.fromEntries(names.map((n) => [n, Type.Optional(Type.Union([SecretValue, Type.Null()]))])),
    {
      additionalProperties: false,
      description: 'Write-only: stored encrypted, never returned (see secretsSet)',
    },
  );
}

/** How a reply on a channel is limited; the composer shows it. */
export const ReplyLimits = Type.Object({
  maxLength: Type.Union([Type.Integer(), Type.Null()], { description: 'Characters in one reply' }),
  segments: Type.Boolean({
    description: 'SMS: billed in segments of 160 (GSM-7) or 70 (Unicode) characters',
  }),
  attachments: Type.Boolean({ description: 'Files can be sent with a reply' }),
  replyWindowHours: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Free-form replies only within this many hours of the customer’s last message',
  }),
});
export type ReplyLimits = Static<typeof ReplyLimits>;
