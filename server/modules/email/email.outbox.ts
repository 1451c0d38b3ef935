/**
 * The durable outbox of outbound email (SECURITY.md 3.4). The use case that decides to send
 * composes the raw message (email.reply.ts, email.acknowledge.ts) and queues it here in its own
 * transaction; the leasing sender (email.sender.ts) delivers the stored bytes after commit and
 * records the outcome, which each message shows as its delivery.
 *
 * A message over RAW_ROW_MAX_BYTES (a reply with files) keeps its bytes in the raw mail store,
 * like large inbound mail (a 30 MB bytea through the embedded engine costs the process
 * gigabytes); its row holds the store key in `raw_key` instead (migration 0008).
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { ErrorCode } from '../../../shared/api/errors.ts';
import type { Executor } from '../../db/client.ts';
import { emailOutbox, tenants } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import type { ComposedEmail, ComposeError } from './email.compose.ts';
import { RAW_ROW_MAX_BYTES, type RawMailStore } from './email.inbound.ts';

export type OutboxRow = typeof emailOutbox.$inferSelect;

/** What a message shows about its email; null for messages that are not outbound email. */
export interface Delivery {
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  lastError?: string;
  sentAt?: string;
}

export const bare = (id: string) => id.replace(/^<|>$/g, '');
export const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

/** A ComposeError as the API's 422, with the field that was wrong. */
export function composeFailure(err: ComposeError): AppError {
  return new AppError(`email_${err.code}` as ErrorCode, `The email cannot be sent: ${err.message}`, [
    { path: err.field, message: err.message },
  ]);
}

export async function organisationName(db: Executor, tenantId: string): Promise<string> {
  const [row] = await db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, tenantId));
  return row?.name ?? '';
}

export interface QueueInput {
  tenantId: string;
  channelId: string;
  /** The case message this mail carries. */
  messageId: string | null;
  kind: 'reply' | 'acknowledgement';
  /** The first recipient: caps automatic mail per recipient. */
  recipient: string;
  mail: ComposedEmail;
}

/**
 * Queues composed mail in the caller's transaction. A large message is made durable in the raw
 * mail store first (`rawMail` is required for it), so the row never names missing bytes.
 */
export async function queueMail(tx: Executor, rawMail: RawMailStore | null, input: QueueInput) {
  let raw: Buffer | null = input.mail.raw;
  let rawKey: string | null = null;
  if (raw.length > RAW_ROW_MAX_BYTES) {
    if (rawMail === null) throw new Error('a message this large needs the raw mail store');
    rawKey = (await rawMail.put(raw)).key;
    raw = null;
  }
  const [row] = await tx
    .insert(emailOutbox)
    .values({
      tenantId: input.tenantId,
      channelId: input.channelId,
      messageId: input.messageId,
      kind: input.kind,
      recipient: input.recipient.toLowerCase(),
      headerMessageId: bare(input.mail.messageId),
      envelopeFrom: input.mail.envelope.from,
      envelopeTo: input.mail.envelope.to,
      raw,
      rawKey,
    })
    .returning({ id: emailOutbox.id });
  return row!;
}

export function toDelivery(row: Pick<OutboxRow, 'status' | 'attempts' | 'lastError' | 'sentAt'>): Delivery {
  return {
    status: row.status as Delivery['status'],
    attempts: row.attempts,
    ...(row.lastError ? { lastError: row.lastError } : {}),
    ...(row.sentAt ? { sentAt: row.sentAt.toISOString() } : {}),
  };
}

/** The delivery of each message that went out by email (the newest outbox row per message). */
export async function deliveryByMessage(
  db: Executor,
  tenantId: string,
  messageIds: string[],
): Promise<Map<string, Delivery>> {
  const out = new Map<string, Delivery>();
  if (messageIds.length === 0) return out;
  const list = await db
    .select({
      messageId: emailOutbox.messageId,
      status: emailOutbox.status,
      attempts: emailOutbox.attempts,
      lastError: emailOutbox.lastError,
      sentAt: emailOutbox.sentAt,
    })
    .from(emailOutbox)
    .where(and(eq(emailOutbox.tenantId, tenantId), inArray(emailOutbox.messageId, messageIds)))
    .orderBy(asc(emailOutbox.createdAt));
  for (const row of list) if (row.messageId) out.set(row.messageId, toDelivery(row));
  return out;
}

/** Tells the viewers of the case a row's message is on that its delivery changed. */
export async function notifyDelivery(tx: Executor, tenantId: string, messageId: string | null) {
  if (messageId === null) return;
  // Not an event of the case's story, but its viewers refetch the message's status.
  await tx.execute(
    sql`select pg_notify('rapport_events', json_build_object(
          'tenantId', m.tenant_id, 'type', 'message.delivery_changed', 'caseId', m.case_id, 'eventId', 0)::text)
        from messages m where m.tenant_id = ${tenantId} and m.id = ${messageId}`,
  );
}
