/**
 * The durable raw store of inbound mail: every message is written to `inbound_emails` exactly as
 * received (status pending) before the sender is told 250 (SMTP) or the message is marked seen
 * (IMAP); the processor turns pending rows into cases later. Redelivery is recognised by the
 * Message-ID (or a hash of the bytes when there is none) per tenant and mailbox.
 */
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { inboundEmails } from '../../db/schema/index.ts';
import type { ChannelRow } from '../channels/channels.queries.ts';

/** How far into a message the header block is searched for a Message-ID. */
const HEADER_SCAN_BYTES = 256 * 1024;
/** Longer "Message-IDs" are noise (RFC 5322 lines stop at 998 characters). */
const MAX_MESSAGE_ID = 900;

export interface StoreInboundInput {
  channel: ChannelRow;
  source: 'smtp' | 'imap';
  raw: Buffer;
  /** MAIL FROM ('' for the null sender `<>`); null when unknown (IMAP). */
  envelopeFrom: string | null;
  envelopeTo: string[];
}

export interface StoredInbound {
  /** inbound_emails.id: the new row, or the one stored earlier when this is a redelivery. */
  id: string;
  duplicate: boolean;
}

/**
 * The Message-ID of the root header block (unfolded, angle brackets stripped, lower-cased), read
 * without parsing the message; null when it is missing, empty, absurdly long or holds whitespace
 * or control characters.
 */
export function headerMessageId(raw: Buffer): string | null {
  // latin1 maps every byte to one character, so no byte sequence can make the scan throw.
  const head = raw.subarray(0, HEADER_SCAN_BYTES).toString('latin1');
  let value: string | null = null;
  let start = 0;
  while (start < head.length) {
    const nl = head.indexOf('\n', start);
    const end = nl < 0 ? head.length : nl;
    const line = head.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (line === '') break; // the blank line ends the header block
    if (value !== null) {
      if (line[0] === ' ' || line[0] === '\t') {
        value += line;
        if (value.length > MAX_MESSAGE_ID + 100) return null;
        continue;
      }
      break; // the first Message-ID header is complete
    }
    if (/^message-id[ \t]*:/i.test(line)) value = line.slice(line.indexOf(':') + 1);
  }
  if (value === null) return null;
  let id = value.trim();
  const bracketed = /^<([^<>]*)>$/.exec(id);
  if (bracketed) id = (bracketed[1] as string).trim();
  // Whitespace, controls (C0, DEL, C1) or stray brackets: not an id we can trust to match again.
  if (id === '' || id.length > MAX_MESSAGE_ID || /[\s<>]/.test(id) || hasControl(id)) return null;
  return id.toLowerCase();
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** The key redelivery is recognised by: the Message-ID, else `sha256:<hex>` of the raw bytes. */
export function dedupeKey(raw: Buffer): string {
  return headerMessageId(raw) ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/**
 * Stores one received message (one row, one statement, committed when this resolves). A message
 * already stored for this tenant and mailbox is not stored again: `duplicate` with the earlier id.
 */
export async function storeInbound(db: Db, input: StoreInboundInput): Promise<StoredInbound> {
  const { channel, raw } = input;
  const key = dedupeKey(raw);
  const [row] = await db
    .insert(inboundEmails)
    .values({
      tenantId: channel.tenantId,
      channelId: channel.id,
      source: input.source,
      dedupeKey: key,
      raw,
      size: raw.length,
      envelopeFrom: input.envelopeFrom,
      envelopeTo: input.envelopeTo,
      status: 'pending',
    })
    .onConflictDoNothing({
      target: [inboundEmails.tenantId, inboundEmails.channelId, inboundEmails.dedupeKey],
    })
    .returning({ id: inboundEmails.id });
  if (row) return { id: row.id, duplicate: false };
  const [existing] = await db
    .select({ id: inboundEmails.id })
    .from(inboundEmails)
    .where(
      and(
        eq(inboundEmails.tenantId, channel.tenantId),
        eq(inboundEmails.channelId, channel.id),
        eq(inboundEmails.dedupeKey, key),
      ),
    );
  if (!existing) throw new Error('inbound email conflicted with a row that is not there');
  return { id: existing.id, duplicate: true };
}
