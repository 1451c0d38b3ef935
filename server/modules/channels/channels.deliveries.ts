/**
 * Replies on platform channels and how they are doing (message_deliveries): written in the
 * reply's transaction, moved on by the sender (channels.sender.ts) and by the platform's status
 * callbacks. A status never moves backwards: a late "sent" does not undo "delivered", and one
 * that arrives before the sender recorded the platform's id waits for it.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Delivery } from '../../../shared/api/cases.ts';
import { type Channel, channelLabels } from '../../../shared/domain/channels.ts';
import type { Executor } from '../../db/client.ts';
import { earlyDeliveryStatuses, messageDeliveries } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { notifyDelivery } from '../email/email.outbox.ts';
import { platformFor } from './platforms/index.ts';
import type { DeliveryStatus, StatusUpdate } from './platforms/platform.ts';

export type DeliveryRow = typeof messageDeliveries.$inferSelect;

const rank: Record<DeliveryStatus, number> = {
  pending: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  failed: 5,
};

/** The statuses a callback may move a delivery from: only forwards, never out of delivered/read into failed. */
function movesFrom(to: StatusUpdate['status']): DeliveryStatus[] {
  if (to === 'failed') return ['pending', 'sending', 'sent'];
  return (Object.keys(rank) as DeliveryStatus[]).filter((s) => s !== 'failed' && rank[s] < rank[to]);
}

/**
 * A status callback and the sender's record of the id it names take this lock first, so one of
 * them always sees the other: the callback finds the delivery, or the sender finds the callback
 * kept in early_delivery_statuses.
 */
async function lockProviderId(tx: Executor, channelId: string, providerMessageId: string) {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`${channelId}:${providerMessageId}`}, 0))`,
  );
}

/** Moves the channel's delivery with that provider id forwards; false when none moved. */
async function moveDelivery(
  tx: Executor,
  channel: { tenantId: string; id: string },
  update: StatusUpdate,
): Promise<boolean> {
  const [row] = await tx
    .update(messageDeliveries)
    .set({
      status: update.status,
      lastError: update.status === 'failed' ? (update.error ?? 'failed') : null,
      leasedUntil: null,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(messageDeliveries.tenantId, channel.tenantId),
        eq(messageDeliveries.channelId, channel.id),
        eq(messageDeliveries.providerMessageId, update.providerMessageId),
        inArray(messageDeliveries.status, movesFrom(update.status)),
      ),
    )
    .returning({ messageId: messageDeliveries.messageId });
  if (row) await notifyDelivery(tx, channel.tenantId, row.messageId);
  return row !== undefined;
}

/**
 * Applies a platform's status callback to the delivery it names on this channel; false when it
 * moved nothing. A provider id no delivery has yet may be a send the platform accepted a moment
 * ago and the sender has not recorded: the status is kept for it (an hour at most).
 */
export async function applyStatus(
  db: Executor,
  channel: { tenantId: string; id: string },
  update: StatusUpdate,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockProviderId(tx, channel.id, update.providerMessageId);
    if (await moveDelivery(tx, channel, update)) return true;
    const [known] = await tx
      .select({ id: messageDeliveries.id })
      .from(messageDeliveries)
      .where(
        and(
          eq(messageDeliveries.tenantId, channel.tenantId),
          eq(messageDeliveries.channelId, channel.id),
          eq(messageDeliveries.providerMessageId, update.providerMessageId),
        ),
      );
    if (known) return false;
    const ofChannel = and(
      eq(earlyDeliveryStatuses.tenantId, channel.tenantId),
      eq(earlyDeliveryStatuses.channelId, channel.id),
    );
    await tx
      .delete(earlyDeliveryStatuses)
      .where(and(ofChannel, sql`received_at < now() - interval '1 hour'`));
    await tx
      .insert(earlyDeliveryStatuses)
      .values({
        tenantId: channel.tenantId,
        channelId: channel.id,
        providerMessageId: update.providerMessageId,
        status: update.status,
        error: update.error ?? null,
      })
      .onConflictDoNothing();
    return false;
  });
}

/**
 * In the sender's transaction that records the provider id a send was answered with: takes the
 * lock, then applies the callbacks that came first, in the order statuses move.
 */
export async function lockAndApplyEarlyStatuses(
  tx: Executor,
  channel: { tenantId: string; id: string },
  providerMessageId: string,
  record: () => Promise<boolean>,
): Promise<boolean> {
  await lockProviderId(tx, channel.id, providerMessageId);
  if (!(await record())) return false;
  const early = await tx
    .delete(earlyDeliveryStatuses)
    .where(
      and(
        eq(earlyDeliveryStatuses.tenantId, channel.tenantId),
        eq(earlyDeliveryStatuses.channelId, channel.id),
        eq(earlyDeliveryStatuses.providerMessageId, providerMessageId),
      ),
    )
    .returning();
  early.sort((a, b) => rank[a.status as DeliveryStatus] - rank[b.status as DeliveryStatus]);
  for (const e of early) {
    const status = e.status as StatusUpdate['status'];
    await moveDelivery(tx, channel, { providerMessageId, status, ...(e.error ? { error: e.error } : {}) });
  }
  return true;
}

/** A delivery as the timeline's badge shows it. */
export function toDelivery(
  row: Pick<DeliveryRow, 'status' | 'attempts' | 'lastError' | 'updatedAt'>,
): Delivery {
  const status = row.status === 'pending' || row.status === 'sending' ? 'queued' : row.status;
  return {
    status: status as Delivery['status'],
    attempts: row.attempts,
    ...(row.lastError && status !== 'sent' && status !== 'delivered' && status !== 'read'
      ? { lastError: row.lastError }
      : {}),
    ...(status !== 'queued' && status !== 'failed' ? { sentAt: row.updatedAt.toISOString() } : {}),
  };
}

/** The newest delivery of each message that went out through a platform. */
export async function platformDeliveryByMessage(
  db: Executor,
  tenantId: string,
  messageIds: string[],
): Promise<Map<string, Delivery>> {
  const out = new Map<string, Delivery>();
  if (messageIds.length === 0) return out;
  const list = await db
    .select()
    .from(messageDeliveries)
    .where(and(eq(messageDeliveries.tenantId, tenantId), inArray(messageDeliveries.messageId, messageIds)))
    .orderBy(messageDeliveries.createdAt);
  for (const row of list) out.set(row.messageId, toDelivery(row));
  return out;
}

/** Whether replies on this channel type go out through a platform adapter (SMS, WhatsApp, …). */
export function sendsOnPlatform(type: string): boolean {
  return platformFor(type)?.send !== undefined;
}

/**
 * Queues a reply for its platform in the reply's transaction: the sender takes it after commit.
 * Throws when the case has no active channel of that type the customer wrote on, or their
 * address there is unknown: the reply is then not stored, so nobody believes it was sent.
 */
export async function queueDelivery(
  tx: Executor,
  tenantId: string,
  messageId: string,
  type: string,
  target: { channel: { id: string; name: string }; recipient: string | null } | null,
): Promise<Delivery> {
  const label = channelLabels[type as Channel] ?? type;
  if (!target?.recipient) {
    throw new AppError(
      'reply_option_unavailable',
      target
        ? `The customer's address on ${target.channel.name} is not known: the reply cannot go there`
        : `No active ${label} channel has heard from this customer in this case: reply on another channel`,
      [{ path: 'body.channel', message: `no ${label} recipient in this case` }],
    );
  }
  const [row] = await tx
    .insert(messageDeliveries)
    .values({ tenantId, messageId, channelId: target.channel.id, recipient: target.recipient })
    .returning();
  return toDelivery(row!);
}
