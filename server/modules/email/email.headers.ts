/**
 * Root headers of an inbound email, read from the raw header lines rather than MailParser's
 * decoded map so that an undeclared 8-bit charset, a duplicate From, an unparseable Date or a
 * hostile References header are handled here, each wrong header noted in `problems`.
 */
import libmime from 'libmime';
import { type HeaderLines, parseAddressHeader } from 'mailparser';
import type { LoopHeaders } from './email.auto.ts';

export interface EmailAddress {
  /** Lower-cased. */
  address: string;
  name: string;
}

export const utf8 = new TextDecoder('utf-8', { fatal: true });
export const cp1252 = new TextDecoder('windows-1252');

/** Strip what Postgres `text` rejects. */
export const clean = (s: string) => (s.includes('\0') ? s.replace(/\0/g, '') : s);

/** Bytes as UTF-8 when they are valid UTF-8, else as Windows-1252 (the usual undeclared charset). */
export function decodeBytes(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return cp1252.decode(bytes);
  }
}

/** Unfolded, charset-decoded values of every header `key` of the root part, in order. */
export function headerValues(lines: HeaderLines, key: string): string[] {
  return lines
    .filter((l) => l.key === key)
    .map((l) => {
      const value = String(libmime.decodeHeader(l.line).value ?? '');
      return clean(decodeBytes(Buffer.from(value, 'binary')).replace(/[\r\n]+/g, ' '));
    });
}

export function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function isAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return at > 0 && at < address.length - 1 && !/[\s@<>]/.test(address.slice(at + 1));
}

/** Encoded words holding a comma or other special would be split by the address parser. */
const quoteEncodedWords = (value: string) =>
  value.replace(
    /(^|[^"])(=\?[^?\s]{1,40}\?[bBqQ]\?[^?\s]{0,500}\?=)/g,
    (whole, before: string, word: string) => (/[,;<>@()[\]]/.test(word) ? `${before}"${word}"` : whole),
  );

function parseAddresses(value: string): EmailAddress[] {
  const parsed = parseAddressHeader(quoteEncodedWords(value), { flatten: true }).value;
  const list = parsed.map((a) => ({
    address: clean(a.address ?? '')
      .trim()
      .replace(/^<+|>+$/g, '')
      .toLowerCase(),
    name: clean(decodeWords(a.name ?? ''))
      .replace(/[\r\n\t]+/g, ' ')
      .trim(),
  }));
  // `Name <local part with spaces@host>`: keep what the sender put between the brackets rather
  // than the fragment next to the @, which would name somebody else's mailbox.
  const open = value.indexOf('<');
  const close = value.indexOf('>', open);
  const first = list[0];
  if (first && open >= 0 && close > open && value.indexOf('<', open + 1) < 0) {
    const inner = value
      .slice(open + 1, close)
      .trim()
      .toLowerCase();
    if (/\s/.test(inner) && inner.includes('@') && inner.endsWith(first.address)) {
      first.address = inner;
      first.name = clean(decodeWords(value.slice(0, open).trim().replace(/^"|"$/g, ''))).trim();
    }
  }
  return list;
}

export function addressHeader(
  lines: HeaderLines,
  key: string,
  label: string,
  problems: string[],
): EmailAddress[] {
  const values = headerValues(lines, key);
  const all = values.flatMap(parseAddresses);
  const valid = all.filter((a) => isAddress(a.address));
  if (values.some((v) => v.trim() !== '') && valid.length < all.length)
    problems.push(`unparseable ${label} header`);
  return valid;
}

/** The sender: the first valid From, else Sender, Reply-To or Return-Path, saying which. */
export function sender(lines: HeaderLines, problems: string[]): EmailAddress | null {
  const froms = headerValues(lines, 'from');
  if (froms.length > 1) problems.push('more than one From header');
  for (const value of froms) {
    const found = parseAddresses(value).find((a) => a.address.includes('@'));
    if (found) return found;
  }
  problems.push(froms.length > 0 ? 'unparseable From header' : 'no From header');
  for (const [key, label] of [
    ['sender', 'Sender'],
    ['reply-to', 'Reply-To'],
    ['return-path', 'Return-Path'],
  ] as const) {
    const found = headerValues(lines, key)
      .flatMap(parseAddresses)
      .find((a) => isAddress(a.address));
    if (found) {
      problems.push(`sender taken from ${label}`);
      return found;
    }
  }
  return null;
}

export function parseDate(lines: HeaderLines, problems: string[]): Date | null {
  const value = headerValues(lines, 'date')[0];
  if (value === undefined || value.trim() === '') {
    problems.push('no Date header');
    return null;
  }
  for (const candidate of [value, value.replace(/\([^()]*\)/g, '').replace(/^\s*[a-z]{2,9},/i, '')]) {
    const date = new Date(candidate.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  problems.push('unparseable Date header');
  return null;
}

/** Message ids in a header value, without angle brackets (a bare id when there are none). */
function messageIds(value: string): string[] {
  const ids = [...value.matchAll(/<([^<>\s]{1,900})>/g)].map((m) => m[1] as string);
  if (ids.length === 0 && /^\S{1,900}$/.test(value.trim())) ids.push(value.trim());
  return ids;
}

export function threading(lines: HeaderLines, problems: string[]) {
  const rawId = headerValues(lines, 'message-id')[0];
  const messageId = rawId === undefined ? null : (messageIds(rawId)[0] ?? null);
  if (rawId === undefined) problems.push('no Message-ID header');
  else if (messageId === null) problems.push('unparseable Message-ID header');
  const inReplyTo = messageIds(headerValues(lines, 'in-reply-to').join(' '))[0] ?? null;
  let references = [...new Set(messageIds(headerValues(lines, 'references').join(' ')))];
  // Keep the thread root and the most recent ids; a hostile header may carry thousands.
  if (references.length > 100) references = [references[0] as string, ...references.slice(-99)];
  return { messageId, inReplyTo, references };
}

export function loopHeaders(lines: HeaderLines): LoopHeaders {
  const first = (key: string) => headerValues(lines, key)[0]?.trim() ?? null;
  const returnPath = first('return-path');
  return {
    autoSubmitted: first('auto-submitted'),
    precedence: first('precedence'),
    listId: first('list-id'),
    listUnsubscribe: first('list-unsubscribe'),
    xAutoreply: first('x-autoreply'),
    xAutorespond: first('x-autorespond'),
    autoResponseSuppress: first('x-auto-response-suppress'),
    returnPath:
      returnPath === null
        ? null
        : /^<?\s*>?$/.test(returnPath)
          ? ''
          : (parseAddresses(returnPath)[0]?.address ?? ''),
  };
}
