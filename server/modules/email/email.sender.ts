/**
 * The leasing sender: delivers queued outbound mail (email.outbox.ts) to the tenant's relay after
 * commit, with back-off, and records each outcome on the row (and so on its message). The loop
 * and the back-off are lib/leased-sender.ts; this file is the outbox table and the relay.
 *
 * Delivery is at least once: a row is leased (attempts + 1, next attempt pushed past the send
 * timeouts) before the send, so a crash after the relay accepted and before we recorded it
 * sends the same bytes, with the same Message-ID, once more when the lease runs out (CR-03).
 * Mail that fails for good stays `failed` until an admin retries it (email.outbox-admin.ts).
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type { Db } from '../../db/client.ts';
import { emailOutbox } from '../../db/schema/index.ts';
import {
  BACKOFF_MS,
  createLeasedSender,
  type LeasedSender,
  type Outcome,
  retryAt,
} from '../../lib/leased-sender.ts';
import { loadRaw, type RawMailStore } from './email.inbound.ts';
import { notifyDelivery, type OutboxRow } from './email.outbox.ts';

export interface OutboxLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboxSenderOptions {
  db: Db;
  log: OutboxLog;
  /** Where the bytes of large messages are (their rows name them). */
  rawMail: RawMailStore | null;
  /** smtp://user:pass@host:port or smtps://…; null keeps everything queued. */
  url: string | null;
  now?: () => Date;
  /** How often due rows are looked for without a kick (default 5 s). */
  pollMs?: number;
  batchSize?: number;
  /** Waits after the 1st, 2nd, … failed attempt; one more failure after the last is final. */
  backoffMs?: readonly number[];
  /** How long a claimed row is left alone; longer than any send can take (default 5 min). */
  leaseMs?: number;
}

export type OutboxSender = LeasedSender;

const MINUTE = 60_000;
const SEND_TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 };

/**
 * Leases due rows: the next attempt is moved past the lease and counted before the send, so
 * another node (or this one after a crash) takes the row again only when the lease has run out.
 */
export async function claimDue(db: Db, now: Date, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  return db.transaction(async (tx) => {
    const due = await tx
      .select({ tenantId: emailOutbox.tenantId, id: emailOutbox.id })
      .from(emailOutbox)
      .where(and(eq(emailOutbox.status, 'queued'), sql`${emailOutbox.nextAttemptAt} <= ${now.toISOString()}`))
      .orderBy(asc(emailOutbox.nextAttemptAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    return tx
      .update(emailOutbox)
      .set({
        attempts: sql`${emailOutbox.attempts} + 1`,
        nextAttemptAt: new Date(now.getTime() + leaseMs),
      })
      .where(
        sql`(${emailOutbox.tenantId}, ${emailOutbox.id}) in (${sql.join(
          due.map((d) => sql`(${d.tenantId}::uuid, ${d.id}::uuid)`),
          sql`, `,
        )})`,
      )
      .returning();
  });
}

/** The relay's reply or the socket error, one line, with the URL's credentials removed. */
export function errorText(err: unknown, url: string | null): string {
  const e = err as { response?: unknown; message?: unknown };
  let text = typeof e?.response === 'string' && e.response ? e.response : String(e?.message ?? err);
  text = text.replace(/\b(smtps?:\/\/)[^@\s/]*@/gi, '$1');
  if (url) {
    try {
      const u = new URL(url);
      for (const s of [u.password, decodeURIComponent(u.password)]) {
        if (s.length >= 3) text = text.split(s).join('***');
      }
    } catch {}
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}

/** A 5xx from the relay rejects this message for good; a login failure is our configuration. */
function permanent(err: unknown): boolean {
  const e = err as { responseCode?: unknown; code?: unknown };
  return (
    typeof e?.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600 && e.code !== 'EAUTH'
  );
}

/** Records an outcome for the attempt we claimed, and tells the case's viewers. */
async function record(
  db: Db,
  row: OutboxRow,
  set: Partial<Pick<OutboxRow, 'status' | 'nextAttemptAt' | 'lastError' | 'sentAt' | 'failedAt'>>,
): Promise<void> {
  await db.transaction(async (tx) => {
    const updated = await tx
      .update(emailOutbox)
      .set(set)
      .where(
        and(
          eq(emailOutbox.tenantId, row.tenantId),
          eq(emailOutbox.id, row.id),
          eq(emailOutbox.status, 'queued'),
          eq(emailOutbox.attempts, row.attempts),
        ),
      )
      .returning({ id: emailOutbox.id });
    if (updated.length > 0) await notifyDelivery(tx, row.tenantId, row.messageId);
  });
}

export function createOutboxSender(options: OutboxSenderOptions): OutboxSender {
  const { db, log, url } = options;
  const now = options.now ?? (() => new Date());
  const backoff = options.backoffMs ?? BACKOFF_MS;
  const leaseMs = options.leaseMs ?? 5 * MINUTE;
  if (!url) return keepQueued(log);
  const transport = nodemailer.createTransport({ url, ...SEND_TIMEOUTS });

  async function deliver(row: OutboxRow): Promise<Outcome> {
    let raw: Buffer;
    try {
      raw = await loadRaw(options.rawMail, row);
    } catch (err) {
      // Bytes that are gone do not come back by waiting: fail now, with the reason.
      const lastError = errorText(err, url);
      log.error(
        { outboxId: row.id, tenantId: row.tenantId, lastError },
        'email failed: its bytes are missing',
      );
      await record(db, row, { status: 'failed', lastError, failedAt: now() });
      return 'failed';
    }
    try {
      await transport.sendMail({ envelope: { from: row.envelopeFrom, to: row.envelopeTo }, raw });
    } catch (err) {
      const lastError = errorText(err, url);
      const at = permanent(err) ? null : retryAt(row.attempts, backoff, now());
      if (!at) {
        log.warn(
          { outboxId: row.id, tenantId: row.tenantId, attempts: row.attempts, lastError },
          'email failed',
        );
        // A failed row's next attempt is never due: it keeps when it failed, for the admins' list.
        await record(db, row, { status: 'failed', lastError, failedAt: now() });
        return 'failed';
      }
      log.info({ outboxId: row.id, attempts: row.attempts, lastError }, 'email deferred');
      await record(db, row, { nextAttemptAt: at, lastError });
      return 'retried';
    }
    await record(db, row, { status: 'sent', sentAt: now(), lastError: null });
    return 'sent';
  }

  const sender = createLeasedSender({
    log,
    name: 'email outbox',
    claim: (at, limit) => claimDue(db, at, limit, leaseMs),
    deliver,
    now,
    pollMs: options.pollMs,
    batchSize: options.batchSize,
    // One message after another: one connection to the relay at a time (the transport is not pooled).
    oneAtATime: true,
  });
  return {
    ...sender,
    async stop() {
      await sender.stop();
      transport.close();
    },
  };
}

/** Without a relay nothing is sent: mail stays queued (shown as such), and the log says why once. */
function keepQueued(log: OutboxLog): OutboxSender {
  let warned = false;
  const warn = () => {
    if (!warned) log.warn({}, 'RAPPORT_SMTP_OUTBOUND_URL is not set: outgoing email stays queued');
    warned = true;
  };
  return {
    kick() {},
    async drain() {
      warn();
      return { sent: 0, retried: 0, failed: 0 };
    },
    start: warn,
    async stop() {},
  };
}
