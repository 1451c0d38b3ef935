import { type Static, Type } from 'typebox';
import { MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_ATTACHMENTS_TOTAL_BYTES } from '../domain/attachments.ts';
import { caseStatuses, priorities } from '../domain/cases.ts';
import { channels } from '../domain/channels.ts';
import { Nullable, Page, Timestamp, Uuid } from './common.ts';
import { ReplyTemplateInput, ReplyVisibilityInput, replyVisibilities } from './reply-options.ts';

const MIB = 1024 * 1024;

export const CaseStatus = Type.Enum(caseStatuses);
export const Priority = Type.Enum(priorities);
export const ChannelName = Type.Enum(channels);

export const Case = Type.Object({
  id: Uuid,
  number: Type.Integer({ description: 'Per-tenant number, shown as #1042' }),
  subject: Type.String(),
  status: CaseStatus,
  priority: Priority,
  reason: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  ownerId: Nullable(Uuid),
  teamId: Nullable(Uuid),
  customerId: Uuid,
  channel: ChannelName,
  contactCount: Type.Integer(),
  repeatContactCount: Type.Integer(),
  reopenCount: Type.Integer(),
  lastContactAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  firstResponseAt: Nullable(Timestamp),
  resolvedAt: Nullable(Timestamp),
  closedAt: Nullable(Timestamp),
});
export type Case = Static<typeof Case>;

export const CaseList = Page(Case);

export const CaseListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('active'), CaseStatus], {
        description: 'A status, or "active" (new, open, pending)',
      }),
    ),
    owner: Type.Optional(Type.Union([Uuid, Type.Enum(['me', 'none'] as const)])),
    team: Type.Optional(Uuid),
    customer: Type.Optional(Uuid),
    channel: Type.Optional(ChannelName),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  },
  { additionalProperties: false },
);
export type CaseListQuery = Static<typeof CaseListQuery>;

export const CaseUpdate = Type.Object(
  {
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    ownerId: Type.Optional(Nullable(Uuid)),
    teamId: Type.Optional(Nullable(Uuid)),
    status: Type.Optional(CaseStatus),
    priority: Type.Optional(Priority),
    reason: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 30, uniqueItems: true }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CaseUpdate = Static<typeof CaseUpdate>;

export const CaseRef = Type.Object(
  { id: Type.String({ description: 'Case id (uuid) or number', maxLength: 40 }) },
  { additionalProperties: false },
);

export const Badges = Type.Object({
  mine: Type.Integer(),
  team: Type.Integer(),
  unassigned: Type.Integer(),
  open: Type.Integer(),
});

export const Delivery = Type.Object(
  {
    status: Type.Union(
      [
        Type.Literal('queued'),
        Type.Literal('sent'),
        Type.Literal('delivered'),
        Type.Literal('read'),
        Type.Literal('failed'),
      ],
      {
        description:
          'queued until the relay or platform accepts it (retried with back-off), then sent; delivered and read when a messaging platform reports so; failed for good',
      },
    ),
    attempts: Type.Integer({ description: 'Delivery attempts made so far' }),
    lastError: Type.Optional(Type.String({ description: 'The relay’s answer to the last failed attempt' })),
    sentAt: Type.Optional(Timestamp),
  },
  { description: 'How an outbound email or platform message is doing' },
);
export type Delivery = Static<typeof Delivery>;

/** A file on a message, downloaded through GET /api/v1/attachments/{id} (always as a file). */
export const MessageFile = Type.Object({
  id: Uuid,
  filename: Type.String(),
  contentType: Type.String(),
  size: Type.Integer(),
});
export type MessageFile = Static<typeof MessageFile>;

export const EmailDetails = Type.Object(
  {
    subject: Nullable(Type.String()),
    fromAddress: Nullable(Type.String()),
    fromName: Nullable(Type.String()),
    to: Type.Array(Type.Object({ address: Type.String(), name: Type.String() })),
    cc: Type.Array(Type.Object({ address: Type.String(), name: Type.String() })),
    automatic: Nullable(
      Type.String({ description: 'auto_reply | bounce | list | null_sender: a machine sent it' }),
    ),
    hasHtml: Type.Boolean({ description: 'GET /api/v1/messages/{id}/html shows the whole message' }),
    attachments: Type.Array(
      Type.Object({
        id: Uuid,
        filename: Type.String(),
        contentType: Type.String(),
        size: Type.Integer(),
        inline: Type.Boolean(),
      }),
    ),
  },
  { description: 'What an email message carried beyond its text' },
);
export type EmailDetails = Static<typeof EmailDetails>;

export const TimelineMessage = Type.Object({
  id: Uuid,
  kind: Type.Union([Type.Literal('inbound'), Type.Literal('outbound'), Type.Literal('note')]),
  channel: ChannelName,
  text: Type.String(),
  authorUserId: Nullable(Uuid),
  authorCustomerId: Nullable(Uuid),
  createdAt: Timestamp,
  /** Outbound email only; null for every other message. */
  delivery: Nullable(Delivery),
  /** Email messages only; null for every other message. */
  email: Nullable(EmailDetails),
  /** X only: written in public (a post) or in private (a direct message). */
  visibility: Type.Optional(Type.Enum(replyVisibilities)),
  /** WhatsApp only: the approved template an outbound message was sent as. */
  template: Type.Optional(Type.String()),
  /** Chat only: the files the visitor sent (an email's are under `email.attachments`). */
  files: Type.Optional(Type.Array(MessageFile)),
});

export const TimelineEntry = Type.Object({
  id: Type.Integer({ description: 'Event id; entries come in event order' }),
  type: Type.String({
    description: 'Event type, e.g. contact.received, message.replied, case.owner_changed',
  }),
  at: Timestamp,
  actor: Type.Object({ type: Type.String(), id: Nullable(Uuid) }),
  data: Type.Record(Type.String(), Type.Unknown()),
  message: Type.Optional(TimelineMessage),
});
export type TimelineEntry = Static<typeof TimelineEntry>;

export const Timeline = Type.Object({ items: Type.Array(TimelineEntry) });

export const MessageInput = Type.Object(
  {
    kind: Type.Union([Type.Literal('reply'), Type.Literal('note')]),
    text: Type.String({ minLength: 1, maxLength: 100_000 }),
    channel: Type.Optional(ChannelName),
    template: Type.Optional(ReplyTemplateInput),
    visibility: Type.Optional(ReplyVisibilityInput),
  },
  { additionalProperties: false },
);
export type MessageInput = Static<typeof MessageInput>;

/** The same reply as multipart/form-data, with files (SECURITY: limits in shared/domain/attachments.ts). */
export const MessageForm = Type.Object(
  {
    // Files go by email only: a WhatsApp template or an X visibility never comes as a form.
    kind: MessageInput.properties.kind,
    text: MessageInput.properties.text,
    channel: MessageInput.properties.channel,
    files: Type.Optional(
      Type.Array(Type.String({ format: 'binary' }), {
        maxItems: MAX_ATTACHMENTS,
        description: `Files for a reply by email: at most ${MAX_ATTACHMENTS}, ${MAX_ATTACHMENT_BYTES / MIB} MB each, ${MAX_ATTACHMENTS_TOTAL_BYTES / MIB} MB in all`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const MessageResult = Type.Object({ message: TimelineMessage, case: Case });
