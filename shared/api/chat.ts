/**
 * The web chat widget's public API (/widget/v1, no sign-in: a visitor holds a session token)
 * and its WebSocket frames, plus what a chat channel keeps in its settings. The widget
 * (web/widget) and the server both read these shapes.
 */
import { type Static, Type } from 'typebox';
import { Nullable, Timestamp, Uuid } from './common.ts';

/** Files a visitor may send: one per upload, up to this size, of these types only. */
export const CHAT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024;
export const CHAT_ATTACHMENT_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
] as const;
export const CHAT_TEXT_MAX = 5000;

/** The widget's own id for a message, so a resend after a dropped connection is stored once. */
export const ClientMessageId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
/** The site's id of its signed-in user (the customer's external id here). */
const SiteUserId = Type.String({ pattern: '^[A-Za-z0-9._:@-]{1,128}$' });

export const OpeningRange = Type.Object(
  {
    day: Type.Integer({ minimum: 1, maximum: 7, description: 'ISO weekday: 1 Monday … 7 Sunday' }),
    start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'Local time HH:MM' }),
    end: Type.String({ pattern: '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$', description: 'Exclusive' }),
  },
  { additionalProperties: false },
);

/**
 * What a chat channel keeps in `channels.settings` (never secrets; the signing secret for
 * visitor identities is `channels.secrets.identitySecret`, sealed).
 */
export const ChatChannelSettings = Type.Object(
  {
    greeting: Type.Optional(Type.String({ maxLength: 500 })),
    colour: Type.Optional(Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: 'Brand colour' })),
    businessHours: Type.Optional(
      Type.Object(
        {
          timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA, e.g. Europe/London' }),
          weekly: Type.Array(OpeningRange, { maxItems: 50 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ChatChannelSettings = Static<typeof ChatChannelSettings>;

export const WidgetConfigQuery = Type.Object({ channel: Uuid }, { additionalProperties: false });
export type WidgetConfigQuery = Static<typeof WidgetConfigQuery>;

export const WidgetConfig = Type.Object({
  channel: Uuid,
  name: Type.String(),
  greeting: Nullable(Type.String()),
  colour: Type.String(),
  online: Type.Boolean({ description: 'Within business hours and at least one agent signed in' }),
  offlineReason: Nullable(Type.Enum(['outside_hours', 'no_agent'] as const)),
  attachments: Type.Object({
    maxBytes: Type.Integer(),
    types: Type.Array(Type.String()),
  }),
});
export type WidgetConfig = Static<typeof WidgetConfig>;

/** A signed-in visitor: the site's user id and hex HMAC-SHA256 of it under the channel's secret. */
export const SignedIdentity = Type.Object(
  { userId: SiteUserId, userHash: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) },
  { additionalProperties: false },
);

const VisitorName = Type.String({ minLength: 1, maxLength: 200 });
const VisitorEmail = Type.String({ minLength: 3, maxLength: 254 });
const Page = Type.String({ maxLength: 2000, description: 'The page the widget runs on' });

export const ChatSessionInput = Type.Object(
  {
    channel: Uuid,
    name: Type.Optional(VisitorName),
    email: Type.Optional(VisitorEmail),
    identity: Type.Optional(SignedIdentity),
    page: Type.Optional(Page),
  },
  { additionalProperties: false },
);
export type ChatSessionInput = Static<typeof ChatSessionInput>;

export const ChatSession = Type.Object({
  id: Uuid,
  token: Type.String({ description: 'Resume token: send it in the socket hello and as Bearer; shown once' }),
  name: Nullable(Type.String()),
  email: Nullable(Type.String()),
  verified: Type.Boolean({ description: 'The site signed the visitor in: a known customer' }),
});
export type ChatSession = Static<typeof ChatSession>;

export const OfflineMessageInput = Type.Object(
  {
    channel: Uuid,
    clientId: ClientMessageId,
    name: Type.Optional(VisitorName),
    email: VisitorEmail,
    text: Type.String({ minLength: 1, maxLength: CHAT_TEXT_MAX }),
    identity: Type.Optional(SignedIdentity),
    page: Type.Optional(Page),
  },
  { additionalProperties: false },
);
export type OfflineMessageInput = Static<typeof OfflineMessageInput>;

export const OfflineMessageResult = Type.Object({
  received: Type.Boolean({ description: 'Stored; the answer comes by email' }),
});

export const ChatSessionRef = Type.Object({ id: Uuid }, { additionalProperties: false });
export const ChatFileRef = Type.Object({ id: Uuid, attachmentId: Uuid }, { additionalProperties: false });
export const ChatAttachmentQuery = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 255 }), clientId: ClientMessageId },
  { additionalProperties: false },
);
export type ChatAttachmentQuery = Static<typeof ChatAttachmentQuery>;

export const ChatTranscriptInput = Type.Object(
  { timezone: Type.Optional(Type.String({ maxLength: 64, description: "The visitor's IANA time zone" })) },
  { additionalProperties: false },
);
export type ChatTranscriptInput = Static<typeof ChatTranscriptInput>;

export const ChatTranscriptResult = Type.Object({ to: Type.String(), queued: Type.Boolean() });

export const ChatAgent = Type.Object({ name: Type.String(), avatarUrl: Nullable(Type.String()) });
export type ChatAgent = Static<typeof ChatAgent>;

/** A file on a chat message, either side's; the visitor downloads it by `id` with the session token. */
export const ChatFile = Type.Object({
  id: Uuid,
  filename: Type.String(),
  size: Type.Integer(),
  contentType: Type.String(),
});

export const ChatMessage = Type.Object({
  id: Uuid,
  from: Type.Enum(['visitor', 'agent'] as const),
  text: Type.String(),
  at: Timestamp,
  /** The widget's id for a visitor message; null for agents' messages. */
  clientId: Nullable(Type.String()),
  author: Nullable(ChatAgent),
  attachments: Type.Array(ChatFile),
});
export type ChatMessage = Static<typeof ChatMessage>;

export const ChatAttachmentResult = Type.Object({ message: ChatMessage });

/** An agent typing on a case (POST /api/v1/cases/:id/typing). */
export const AgentTyping = Type.Object({ typing: Type.Boolean() }, { additionalProperties: false });
export type AgentTyping = Static<typeof AgentTyping>;

/** Frames the widget sends. The first must be `hello`; anything else malformed closes with 4400. */
export const ChatClientFrame = Type.Union([
  Type.Object(
    { type: Type.Literal('hello'), token: Type.String({ minLength: 1, maxLength: 200 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('message'),
      clientId: ClientMessageId,
      text: Type.String({ minLength: 1, maxLength: CHAT_TEXT_MAX }),
    },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('typing'), typing: Type.Boolean() }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('ping') }, { additionalProperties: false }),
]);
export type ChatClientFrame = Static<typeof ChatClientFrame>;

/** Frames the server sends. */
export type ChatServerFrame =
  | {
      type: 'ready';
      session: { id: string; name: string | null; email: string | null; verified: boolean };
      agent: ChatAgent | null;
      /** Every message of the session so far, oldest first: the widget shows those it lacks. */
      messages: ChatMessage[];
    }
  | { type: 'message'; message: ChatMessage }
  | { type: 'ack'; clientId: string; message: ChatMessage }
  | { type: 'typing'; typing: boolean; name: string | null }
  | { type: 'agent'; agent: ChatAgent }
  | { type: 'error'; code: 'rate_limited' | 'message_refused'; message: string; clientId?: string }
  | { type: 'pong' };

/** WebSocket close codes: the widget starts over on 4401 and reconnects on everything else. */
export const CHAT_CLOSE = {
  malformed: 4400,
  unauthenticated: 4401,
  flooding: 4429,
} as const;
