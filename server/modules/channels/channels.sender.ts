/**
 * The leasing sender of replies on platform channels (message_deliveries, written in the
 * reply's transaction): after commit it leases due rows, hands each to its platform adapter's
 * `send` and records the outcome, which the message shows as its delivery. The loop, the lease
 * rule and the back-off are lib/leased-sender.ts; this file is the table and the platform call.
 *
 * A lease moves the row to `sending`, counts the attempt and pushes its next attempt past the
 * send's timeout before anything is sent, so a crash after the platform accepted and before we
 * recorded it sends the reply once more when the lease runs out — at most one resend per crash
 * (SECURITY.md CR-03). A platform's 4xx (other than 408/429) fails at once; anything else backs
 * off 1 min, 5 min, 30 min, 2 h, 6 h and then fails.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/client.ts';
import { channels, messageDeliveries, messages } from '../../db/schema/index.ts';
import {
  BACKOFF_MS,
  createLeasedSender,
  type LeasedSender,
  type Outcome,
  retryAt,
} from '../../lib/leased-sender.ts';
import { notifyDelivery } from '../email/email.outbox.ts';
import { type DeliveryRow, lockAndApplyEarlyStatuses } from './channels.deliveries.ts';
import { platformChannel } from './channels.platform.ts';
import { platformFor } from './platforms/index.ts';
import { PlatformError } from './platforms/platform.ts';

export interface DeliverySenderOptions {
  db: Db;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  /** deriveKey(app secret, 'channel-secrets'): opens the channel's credentials. */
  secretKey: Buffer;
  /** RAPPORT_PUBLIC_URL: status callbacks are asked for at the channel's webhook. */
  publicUrl: string | null;
  now?: () => Date;
  /** How often due rows are looked for without a kick (default 5 s). */
  pollMs?: number;
  batchSize?: number;
  /** Waits after the 1st, 2nd, … failed attempt; one more failure after the last is final. */
  backoffMs?: readonly number[];
  /** How long a leased row is left alone: longer than a send can take (default 2 min). */
  leaseMs?: number;
}

export type DeliverySender = LeasedSender;

/** Leases due rows (pending, or sending whose lease ran out after a crash). */
export async function claimDueDeliveries(db: Db, now: Date, limit: number, leaseMs: number) {
  return db.transaction(async (tx) => {
    // message_deliveries_due: (next_attempt_at) where status in ('pending', 'sending').
    const due = await tx
      .select({ tenantId: messageDeliveries.tenantId, id: messageDeliveries.id })
      .from(messageDeliveries)
      .where(
        and(
          inArray(messageDeliveries.status, ['pending', 'sending']),
          sql`${messageDeliveries.nextAttemptAt} <= ${now.toISOString()}`,
        ),
      )
      .orderBy(asc(messageDeliveries.nextAttemptAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    const until = new Date(now.getTime() + leaseMs);
    return tx
      .update(messageDeliveries)
      .set({
        status: 'sending',
        attempts: sql`${messageDeliveries.attempts} + 1`,
        nextAttemptAt: until,
        leasedUntil: until,
        updatedAt: sql`now()`,
      })
      .where(
        sql`(${messageDeliveries.tenantId}, ${messageDeliveries.id}) in (${sql.join(
          due.map((d) => sql`(${d.tenantId}::uuid, ${d.id}::uuid)`),
          sql`, `,
        )})`,
      )
      .returning();
  });
}

/**
 * Records the outcome of the attempt we leased (not one a later lease took over) and tells the
 * case. With the platform's id for the message, status callbacks that beat us to it apply now.
 */
async function record(db: Db, row: DeliveryRow, set: Partial<DeliveryRow>) {
  await db.transaction(async (tx) => {
    const write = async () => {
      const updated = await tx
        .update(messageDeliveries)
        .set({ ...set, leasedUntil: null, updatedAt: sql`now()` })
        .where(
          and(
            eq(messageDeliveries.tenantId, row.tenantId),
            eq(messageDeliveries.id, row.id),
            eq(messageDeliveries.status, 'sending'),
            eq(messageDeliveries.attempts, row.attempts),
          ),
        )
        .returning({ id: messageDeliveries.id });
      return updated.length > 0;
    };
    const channel = { tenantId: row.tenantId, id: row.channelId };
    const recorded = set.providerMessageId
      ? await lockAndApplyEarlyStatuses(tx, channel, set.providerMessageId, write)
      : await write();
    if (recorded) await notifyDelivery(tx, row.tenantId, row.messageId);
  });
}

export function createDeliverySender(options: DeliverySenderOptions): DeliverySender {
  const { db, log } = options;
  const now = options.now ?? (() => new Date());
  const backoff = options.backoffMs ?? BACKOFF_MS;
  const leaseMs = options.leaseMs ?? 2 * 60_000;

  async function attempt(row: DeliveryRow) {
    const [channel] = await db
      .select()
      .from(channels)
      .where(and(eq(channels.tenantId, row.tenantId), eq(channels.id, row.channelId)));
    const platform = channel?.active ? platformFor(channel.type) : null;
    if (!channel || !platform?.send)
      throw new PlatformError('the channel is switched off or cannot send', true);
    const [message] = await db
      .select({ text: messages.text, metadata: messages.metadata })
      .from(messages)
      .where(and(eq(messages.tenantId, row.tenantId), eq(messages.id, row.messageId)));
    if (!message) throw new PlatformError('the message is gone', true);
    return platform.send(
      {
        to: row.recipient,
        text: message.text,
        metadata: (message.metadata as Record<string, unknown> | null) ?? null,
        deliveryId: row.id,
      },
      platformChannel(channel, options.secretKey, options.publicUrl),
    );
  }

  async function deliver(row: DeliveryRow): Promise<Outcome> {
    try {
      const sent = await attempt(row);
      await record(db, row, { status: 'sent', providerMessageId: sent.providerMessageId, lastError: null });
      return 'sent';
    } catch (err) {
      const lastError = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      const permanent = err instanceof PlatformError ? err.permanent : false;
      const where = { deliveryId: row.id, tenantId: row.tenantId, attempts: row.attempts, lastError };
      const at = permanent ? null : retryAt(row.attempts, backoff, now());
      if (!at) {
        log.warn(where, 'reply delivery failed');
        await record(db, row, { status: 'failed', lastError, nextAttemptAt: now() });
        return 'failed';
      }
      log.info(where, 'reply delivery deferred');
      await record(db, row, { status: 'pending', lastError, nextAttemptAt: at });
      return 'retried';
    }
  }

  return createLeasedSender({
    log,
    name: 'reply deliveries',
    claim: (at, limit) => claimDueDeliveries(db, at, limit, leaseMs),
    deliver,
    now,
    pollMs: options.pollMs,
    batchSize: options.batchSize,
  });
}
