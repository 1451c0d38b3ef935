/**
 * Outbound mail as admins and supervisors see it (Settings → Outbound mail): what failed for good
 * (or is still queued, or went out), with its case, and the way back for a failed one (retry:
 * queued again with a fresh series of attempts).
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { OutboundEmail, OutboxListQuery } from '../../../shared/api/email.ts';
import type { Db, Executor } from '../../db/client.ts';
import { cases, emailMessages, emailOutbox, messages } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { notifyDelivery } from './email.outbox.ts';
import { rawHeader } from './email.quarantine.ts';

const HEAD_BYTES = 16 * 1024;

interface Cursor {
  c: string;
  i: string;
}

function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ c: row.createdAt.toISOString(), i: row.id } satisfies Cursor)).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.c === 'string' && !Number.isNaN(Date.parse(c.c)) && /^[0-9a-f-]{36}$/.test(c.i)) return c;
  } catch {}
  throw new AppError('invalid_cursor', 'The cursor is not one this API handed out');
}

/** One page of a tenant's outbound mail in one status, newest first. */
export async function listOutbound(
  db: Executor,
  tenantId: string,
  query: OutboxListQuery,
): Promise<{ items: OutboundEmail[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  const status = query.status ?? 'failed';
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const found = await db
    .select({
      id: emailOutbox.id,
      kind: emailOutbox.kind,
      status: emailOutbox.status,
      recipient: emailOutbox.recipient,
      messageId: emailOutbox.messageId,
      attempts: emailOutbox.attempts,
      lastError: emailOutbox.lastError,
      createdAt: emailOutbox.createdAt,
      failedAt: emailOutbox.failedAt,
      sentAt: emailOutbox.sentAt,
      subject: emailMessages.subject,
      // Older acknowledgements carry no message: their subject is read from the raw header.
      head: sql<Buffer | Uint8Array | null>`case when ${emailMessages.subject} is null
        then substring(${emailOutbox.raw} from 1 for ${HEAD_BYTES}) end`,
      caseId: cases.id,
      caseNumber: cases.number,
    })
    .from(emailOutbox)
    .leftJoin(
      messages,
      and(eq(messages.tenantId, emailOutbox.tenantId), eq(messages.id, emailOutbox.messageId)),
    )
    .leftJoin(cases, and(eq(cases.tenantId, messages.tenantId), eq(cases.id, messages.caseId)))
    .leftJoin(
      emailMessages,
      and(
        eq(emailMessages.tenantId, emailOutbox.tenantId),
        eq(emailMessages.messageId, emailOutbox.messageId),
      ),
    )
    .where(
      and(
        eq(emailOutbox.tenantId, tenantId),
        eq(emailOutbox.status, status),
        after
          ? sql`(${emailOutbox.createdAt}, ${emailOutbox.id}) < (${after.c}::timestamptz, ${after.i}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(emailOutbox.createdAt), desc(emailOutbox.id))
    .limit(limit + 1);
  const more = found.length > limit;
  const page = more ? found.slice(0, limit) : found;
  return {
    items: page.map((r) => ({
      id: r.id,
      kind: r.kind as OutboundEmail['kind'],
      status: r.status as OutboundEmail['status'],
      recipient: r.recipient,
      subject: r.subject ?? (r.head ? rawHeader(Buffer.from(r.head), 'subject') : null),
      caseId: r.caseId,
      caseNumber: r.caseNumber,
      messageId: r.messageId,
      attempts: r.attempts,
      lastError: r.lastError,
      queuedAt: r.createdAt.toISOString(),
      failedAt: r.failedAt?.toISOString() ?? null,
      sentAt: r.sentAt?.toISOString() ?? null,
    })),
    nextCursor: more ? encodeCursor(page[page.length - 1]!) : null,
  };
}

/** A failed mail of this tenant back to queued, due now, with a fresh series of attempts. */
export async function retryOutbound(db: Db, tenantId: string, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .select({ status: emailOutbox.status, messageId: emailOutbox.messageId })
      .from(emailOutbox)
      .where(and(eq(emailOutbox.tenantId, tenantId), eq(emailOutbox.id, id)))
      .for('update');
    if (!row) throw new AppError('outbound_email_not_found', 'No such outbound email here');
    if (row.status !== 'failed') {
      throw new AppError(
        'outbound_email_not_failed',
        `This email is ${row.status}; only failed mail is retried`,
      );
    }
    await tx
      .update(emailOutbox)
      .set({ status: 'queued', attempts: 0, lastError: null, failedAt: null, nextAttemptAt: sql`now()` })
      .where(and(eq(emailOutbox.tenantId, tenantId), eq(emailOutbox.id, id)));
    await notifyDelivery(tx, tenantId, row.messageId);
  });
}
