import { type Static, Type } from 'typebox';
import { Nullable, Page, Timestamp, Uuid } from './common.ts';

/** An inbound email kept in quarantine: unparseable, oversized or repeatedly failing. */
export const QuarantinedEmail = Type.Object({
  id: Uuid,
  channelId: Uuid,
  /** The mailbox's name. */
  channel: Type.String(),
  receivedAt: Timestamp,
  /** From and Subject as far as the raw header could be read; null when it could not. */
  from: Nullable(Type.String()),
  subject: Nullable(Type.String()),
  /** Bytes of the raw message, which is kept in full. */
  size: Type.Integer(),
  reason: Nullable(Type.String()),
  attempts: Type.Integer(),
});
export type QuarantinedEmail = Static<typeof QuarantinedEmail>;

export const QuarantineList = Type.Object({ items: Type.Array(QuarantinedEmail) });
export type QuarantineList = Static<typeof QuarantineList>;

export const ReprocessResult = Type.Object({
  id: Uuid,
  status: Type.Literal('pending'),
});
export type ReprocessResult = Static<typeof ReprocessResult>;

export const outboundStatuses = ['queued', 'sent', 'failed'] as const;

/** One outbound email as admins see it: what it is, where it went, and how delivery went. */
export const OutboundEmail = Type.Object({
  id: Uuid,
  kind: Type.Enum(['reply', 'acknowledgement'] as const, {
    description: "An agent's reply, or the automatic new-case acknowledgement",
  }),
  status: Type.Enum(outboundStatuses, {
    description: 'queued (retried with back-off), sent (the relay took it), failed (for good)',
  }),
  recipient: Type.String(),
  subject: Nullable(Type.String()),
  caseId: Nullable(Uuid),
  caseNumber: Nullable(Type.Integer()),
  /** The case message this mail carries. */
  messageId: Nullable(Uuid),
  attempts: Type.Integer({ description: 'Delivery attempts in the current series' }),
  lastError: Nullable(Type.String({ description: 'The relay’s answer to the last failed attempt' })),
  queuedAt: Timestamp,
  failedAt: Nullable(Timestamp),
  sentAt: Nullable(Timestamp),
});
export type OutboundEmail = Static<typeof OutboundEmail>;

export const OutboxListQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(outboundStatuses, { default: 'failed' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  },
  { additionalProperties: false },
);
export type OutboxListQuery = Static<typeof OutboxListQuery>;

export const OutboxList = Page(OutboundEmail);
export type OutboxList = Static<typeof OutboxList>;

export const RetryResult = Type.Object({ id: Uuid, status: Type.Literal('queued') });
export type RetryResult = Static<typeof RetryResult>;
