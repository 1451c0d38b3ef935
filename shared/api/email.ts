import { type Static, Type } from 'typebox';
import { Nullable, Timestamp, Uuid } from './common.ts';

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
