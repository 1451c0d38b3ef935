/**
 * The quarantine admins see: inbound mail kept with its raw bytes and the reason it was not
 * turned into a contact, and the way back (reprocess: pending again, attempts reset).
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import libmime from 'libmime';
import type { QuarantinedEmail } from '../../../shared/api/email.ts';
import type { Executor } from '../../db/client.ts';
import { channels, inboundEmails } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { loadRawHead, type RawMailStore } from './email.inbound.ts';

/** Enough of a message to find its From and Subject without reading a 30 MB body. */
const HEAD_BYTES = 64 * 1024;
const LIST_MAX = 200;
const SHOWN_MAX = 300;

/** A header's value from a raw header block, RFC 2047 decoded; null when absent or unreadable. */
export function rawHeader(head: Buffer, name: string): string | null {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const block = (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n[ \t]+/g, ' ');
  const line = block.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (line === undefined) return null;
  const value = line.slice(name.length + 1);
  let decoded: string;
  try {
    decoded = libmime.decodeWords(Buffer.from(value, 'latin1').toString('utf8'));
  } catch {
    decoded = value;
  }
  const shown = decoded
    .replace(/[\p{Cc}]+/gu, ' ')
    .trim()
    .slice(0, SHOWN_MAX);
  return shown === '' ? null : shown;
}

/** Quarantined mail of a tenant, newest first; From and Subject read from the row or the raw mail store. */
export async function listQuarantine(
  db: Executor,
  rawMail: RawMailStore,
  tenantId: string,
): Promise<QuarantinedEmail[]> {
  const found = await db
    .select({
      id: inboundEmails.id,
      channelId: inboundEmails.channelId,
      channel: channels.name,
      receivedAt: inboundEmails.receivedAt,
      head: sql<Buffer | Uint8Array | null>`substring(${inboundEmails.raw} from 1 for ${HEAD_BYTES})`,
      rawKey: inboundEmails.rawKey,
      size: inboundEmails.size,
      reason: inboundEmails.reason,
      attempts: inboundEmails.attempts,
    })
    .from(inboundEmails)
    .innerJoin(
      channels,
      and(eq(channels.tenantId, inboundEmails.tenantId), eq(channels.id, inboundEmails.channelId)),
    )
    .where(and(eq(inboundEmails.tenantId, tenantId), eq(inboundEmails.status, 'quarantined')))
    .orderBy(desc(inboundEmails.receivedAt), desc(inboundEmails.id))
    .limit(LIST_MAX);
  const heads = await Promise.all(
    found.map((r) =>
      loadRawHead(rawMail, { head: r.head && Buffer.from(r.head), rawKey: r.rawKey }, HEAD_BYTES)
        // A file that cannot be read still lists the message (without From and Subject).
        .catch(() => Buffer.alloc(0)),
    ),
  );
  return found.map((r, i) => {
    const head = heads[i]!;
    return {
      id: r.id,
      channelId: r.channelId,
      channel: r.channel,
      receivedAt: r.receivedAt.toISOString(),
      from: rawHeader(head, 'from'),
      subject: rawHeader(head, 'subject'),
      size: r.size,
      reason: r.reason,
      attempts: r.attempts,
    };
  });
}

/** Back to pending with a fresh count of attempts; only a quarantined message of this tenant. */
export async function reprocessInbound(db: Executor, tenantId: string, id: string): Promise<void> {
  const [row] = await db
    .select({ status: inboundEmails.status })
    .from(inboundEmails)
    .where(and(eq(inboundEmails.tenantId, tenantId), eq(inboundEmails.id, id)));
  if (!row) throw new AppError('inbound_email_not_found', 'No such inbound email here');
  if (row.status !== 'quarantined') {
    throw new AppError('conflict', `This email is ${row.status}, not quarantined`);
  }
  await db
    .update(inboundEmails)
    .set({ status: 'pending', attempts: 0, reason: null, processedAt: null })
    .where(
      and(
        eq(inboundEmails.tenantId, tenantId),
        eq(inboundEmails.id, id),
        eq(inboundEmails.status, 'quarantined'),
      ),
    );
}
