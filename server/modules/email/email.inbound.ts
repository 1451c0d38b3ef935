/**
 * The durable raw store of inbound mail: every message is written to `inbound_emails` exactly as
 * received (status pending) before the sender is told 250 (SMTP) or the message is marked seen
 * (IMAP); the processor turns pending rows into cases later. Redelivery is recognised by the
 * Message-ID (or a hash of the bytes when there is none) per tenant and mailbox.
 *
 * A message over RAW_ROW_MAX_BYTES keeps its bytes in the raw mail store (files under
 * `<dataDir>/mail/`, content-addressed) and the row names them (`raw_key`): a 25 MB bytea through
 * the embedded engine costs the process gigabytes of memory, a file costs a write. The file is
 * durable before the row is inserted, so a row never names missing bytes; a crash in between
 * leaves an unnamed file, which the retry finds in place.
 */
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { inboundEmails } from '../../db/schema/index.ts';
import type { ChannelRow } from '../channels/channels.queries.ts';
import { type ContentStore, sha256Hex } from './email.attachments.ts';

/** Messages up to this size keep their raw bytes in the row; larger ones go to the raw mail store. */
export const RAW_ROW_MAX_BYTES = 1024 * 1024;

/** Where raw messages over RAW_ROW_MAX_BYTES are kept (a file store under `<dataDir>/mail/`). */
export type RawMailStore = ContentStore;

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
  return headerMessageId(raw) ?? `sha256:${sha256Hex(raw)}`;
}

/** A stored message's raw bytes (inbound or outbound), from its row or from the raw mail store. */
export async function loadRaw(
  rawMail: RawMailStore | null,
  row: { raw: Buffer | null; rawKey: string | null },
): Promise<Buffer> {
  if (row.raw !== null) return row.raw;
  if (row.rawKey === null) throw new Error('the stored email has neither raw bytes nor a raw key');
  if (rawMail === null)
    throw new Error(`the message ${row.rawKey} is in the raw mail store, which is not open here`);
  try {
    return await rawMail.get(row.rawKey);
  } catch (err) {
    // Said without the file's path: the reason is shown to the tenant's admins.
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`the raw message ${row.rawKey} could not be read from the raw mail store (${code})`);
  }
}

/** The first `length` bytes of a stored message (its header block), from the row or the store. */
export async function loadRawHead(
  rawMail: RawMailStore,
  row: { head: Buffer | null; rawKey: string | null },
  length: number,
): Promise<Buffer> {
  if (row.head !== null) return row.head.subarray(0, length);
  if (row.rawKey === null) throw new Error('inbound email has neither raw bytes nor a raw key');
  return rawMail.head(row.rawKey, length);
}

/**
 * Stores one received message (one row, one statement, committed when this resolves; a large
 * message's file is durable before that). A message already stored for this tenant and mailbox is
 * not stored again: `duplicate` with the earlier id.
 */
export async function storeInbound(
  db: Db,
  rawMail: RawMailStore,
  input: StoreInboundInput,
): Promise<StoredInbound> {
  const { channel, raw } = input;
  const key = dedupeKey(raw);
  let rawKey: string | null = null;
  if (raw.length > RAW_ROW_MAX_BYTES) {
    // A redelivery writes nothing (its bytes may differ from the first copy's: new Received lines).
    const earlier = await existingId(db, channel, key);
    if (earlier) return { id: earlier, duplicate: true };
    rawKey = (await rawMail.put(raw)).key;
  }
  const [row] = await db
    .insert(inboundEmails)
    .values({
      tenantId: channel.tenantId,
      channelId: channel.id,
      source: input.source,
      dedupeKey: key,
      raw: rawKey === null ? raw : null,
      rawKey,
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
  const existing = await existingId(db, channel, key);
  if (!existing) throw new Error('inbound email conflicted with a row that is not there');
  return { id: existing, duplicate: true };
}

async function existingId(db: Db, channel: ChannelRow, key: string): Promise<string | null> {
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
  return existing?.id ?? null;
}
