import { type Static, Type } from 'typebox';
import {
  MetaPageSettings,
  PhoneSettings,
  platformChannelTypes,
  SmsSettings,
  WhatsAppSettings,
  XSettings,
} from './channel-settings.ts';
import { ChatChannelSettings } from './chat.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';

/** Channel types that can be configured (each platform's settings and secrets: channel-settings.ts). */
export const channelTypes = ['email', 'chat', ...platformChannelTypes] as const;
export type ChannelType = (typeof channelTypes)[number];

export const Acknowledgement = Type.Object(
  {
    enabled: Type.Boolean({ description: 'Send an acknowledgement when an email opens a new case' }),
    locale: Type.String({
      maxLength: 35,
      description: 'e.g. en, de, fr-CA; falls back to the base language, then en',
    }),
    subject: Type.Optional(
      Type.String({ maxLength: 300, description: 'Template; {{caseNumber}}, {{ownerName}}, …' }),
    ),
    body: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);
export type Acknowledgement = Static<typeof Acknowledgement>;

/** How the connection to an IMAP server is protected. */
export const imapSecurities = ['tls', 'starttls', 'none'] as const;
/** What happens to a message on the IMAP server once it is stored here. */
export const imapAfterDelivery = ['mark_seen', 'move'] as const;

const noControls = '^[^\\x00-\\x1f\\x7f]+$';
const imapFolder = (description: string) =>
  Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\x00-\\x1f\\x7f*%]+$', description });

/** An IMAP mailbox to poll, as written; the password is write-only. */
export const ImapSettingsInput = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      maxLength: 253,
      pattern: '^[A-Za-z0-9:][A-Za-z0-9.:-]*$',
      description: 'Host name or IP address of the IMAP server',
    }),
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: '993 for tls, 143 otherwise, by default' }),
    ),
    security: Type.Optional(
      Type.Enum(imapSecurities, {
        description:
          'tls: TLS from the first byte (default); starttls: required upgrade; none: plaintext unless the server offers STARTTLS (trusted networks only)',
      }),
    ),
    username: Type.String({ minLength: 1, maxLength: 320, pattern: noControls }),
    password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        pattern: '^[^\\x00\\r\\n]+$',
        description:
          'Write-only, stored encrypted. Required when the mailbox is first set and whenever host, port, security or username change',
      }),
    ),
    folder: Type.Optional(imapFolder('Folder to read; INBOX by default')),
    afterDelivery: Type.Optional(
      Type.Enum(imapAfterDelivery, {
        description: 'mark_seen (default) or move to `moveTo`, only once the message is stored',
      }),
    ),
    moveTo: Type.Optional(imapFolder('Folder for stored messages (created if missing)')),
  },
  { additionalProperties: false },
);
export type ImapSettingsInput = Static<typeof ImapSettingsInput>;

/** An IMAP mailbox as the API shows it: never the password. */
export const ImapSettings = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  security: Type.Enum(imapSecurities),
  username: Type.String(),
  folder: Type.String(),
  afterDelivery: Type.Enum(imapAfterDelivery),
  moveTo: Nullable(Type.String()),
  passwordSet: Type.Boolean(),
});
export type ImapSettings = Static<typeof ImapSettings>;

/** The last poll of a channel's IMAP mailbox; `waiting` until the first round ended. */
export const ImapStatus = Type.Object({
  state: Type.Enum(['waiting', 'ok', 'error'] as const),
  error: Nullable(Type.String()),
  polledAt: Nullable(Timestamp),
  lastSuccessAt: Nullable(Timestamp),
});
export type ImapStatus = Static<typeof ImapStatus>;

/** An email channel's settings as the API shows them. */
export const EmailSettings = Type.Object(
  { acknowledgement: Type.Optional(Acknowledgement), imap: Type.Optional(ImapSettings) },
  { additionalProperties: false },
);

/**
 * A channel's settings as the API shows them: the fields of its type (email, chat, sms, …;
 * never secrets, whose names are listed in `secretsSet`).
 */
export const ChannelSettings = Type.Object(
  {
    ...EmailSettings.properties,
    ...Type.Partial(ChatChannelSettings).properties,
    ...Type.Partial(SmsSettings).properties,
    ...Type.Partial(PhoneSettings).properties,
    ...Type.Partial(WhatsAppSettings).properties,
    ...Type.Partial(MetaPageSettings).properties,
    ...Type.Partial(XSettings).properties,
  },
  { additionalProperties: false },
);
export type ChannelSettings = Static<typeof ChannelSettings>;

/**
 * Settings as written. On update each part given replaces that part only; `imap: null` stops
 * polling the mailbox.
 */
export const ChannelSettingsInput = Type.Object(
  {
    acknowledgement: Type.Optional(Acknowledgement),
    imap: Type.Optional(Nullable(ImapSettingsInput)),
  },
  { additionalProperties: false },
);
export type ChannelSettingsInput = Static<typeof ChannelSettingsInput>;

export const Channel = Type.Object({
  id: Uuid,
  type: Type.Enum(channelTypes),
  name: Type.String(),
  /**
   * The channel's own address: the support email address; the SMS or phone number (+E.164);
   * the WhatsApp phone number id; the Facebook page id; the Instagram or X account id. Chat: null.
   */
  address: Nullable(Type.String()),
  settings: ChannelSettings,
  /** Which of the type's secrets are stored (never their values). */
  secretsSet: Type.Array(Type.String()),
  /** Where the platform posts this channel's webhooks (null for email and chat). */
  webhookPath: Nullable(Type.String()),
  /** The same as a full URL, when the public URL is known (settings.publicUrl or RAPPORT_PUBLIC_URL). */
  webhookUrl: Nullable(Type.String()),
  /** The IMAP mailbox's last poll; null when the channel polls none. */
  imapStatus: Nullable(ImapStatus),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Channel = Static<typeof Channel>;

const SettingsByType = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'Per type, checked against it: email {acknowledgement, imap}; chat {greeting, colour, businessHours}; sms {accountSid, apiBaseUrl, publicUrl}; phone {accountSid, publicUrl}; whatsapp {businessAccountId, displayPhoneNumber, apiBaseUrl, apiVersion, templates}; messenger and instagram {apiBaseUrl, apiVersion}; x {handle, apiBaseUrl}. On update, email parts replace that part; other types’ fields replace that field (null removes it).',
  },
);
const SecretsByName = Type.Record(
  Type.String({ pattern: '^[A-Za-z]{1,40}$' }),
  Type.Union([Type.String({ minLength: 1, maxLength: 2000 }), Type.Null()]),
  {
    description:
      'Write-only, stored encrypted, never returned (see secretsSet); null removes one. Names per type: chat identitySecret; sms and phone authToken; whatsapp, messenger, instagram appSecret, accessToken, verifyToken; x consumerSecret, accessToken',
  },
);

export const ChannelInput = Type.Object(
  {
    type: Type.Enum(channelTypes),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    address: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 254,
        description:
          'Required except for chat: email the support address; sms and phone the number in +E.164; whatsapp the phone number id; messenger the page id; instagram and x the account id',
      }),
    ),
    settings: Type.Optional(SettingsByType),
    secrets: Type.Optional(SecretsByName),
  },
  { additionalProperties: false },
);
export type ChannelInput = Static<typeof ChannelInput>;

export const ChannelPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    address: Type.Optional(
      Type.String({ minLength: 1, maxLength: 254, description: 'Platform channels only (a moved number)' }),
    ),
    settings: Type.Optional(SettingsByType),
    secrets: Type.Optional(SecretsByName),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ChannelPatch = Static<typeof ChannelPatch>;
