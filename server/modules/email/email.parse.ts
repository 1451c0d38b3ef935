/**
 * One raw inbound email → everything intake needs to store it, thread it and show it:
 * addresses, subject, date, threading ids, plain and sanitised HTML bodies, the visible
 * (unquoted) part, attachments, the loop-safety headers and whether a machine sent it.
 *
 * Malformed mail never throws: what could be read is returned with `problems` saying what was
 * wrong. Only input that is not an email at all, or breaks a hard limit, throws an
 * EmailRejectedError whose `reason` the caller quarantines the raw bytes with.
 */
import { createHash } from 'node:crypto';
import libmime from 'libmime';
import { type Automatic, bouncedMessageId, classifyAutomatic, type LoopHeaders } from './email.auto.ts';
import {
  addressHeader,
  clean,
  cp1252,
  decodeWords,
  type EmailAddress,
  headerValues,
  loopHeaders,
  parseDate,
  sender,
  threading,
  utf8,
} from './email.headers.ts';
import { htmlToText, MAX_SANITIZE_CHARS, sanitizeEmailHtml, textToHtml } from './email.html.ts';
import {
  type CollectedAttachment,
  charsetMayBeWrong,
  DEFAULT_LIMITS,
  EmailRejectedError,
  type MimeLimits,
  type MimeNode,
  type MimeResult,
  parseMime,
} from './email.mime.ts';
import { visibleText } from './email.quote.ts';

export type { Automatic, AutomaticKind, LoopHeaders } from './email.auto.ts';
export type { EmailAddress } from './email.headers.ts';
export { DEFAULT_LIMITS, EmailRejectedError, type RejectReason } from './email.mime.ts';

export interface ParsedAttachment {
  filename: string;
  contentType: string;
  /** Decoded size in bytes, also when the content was omitted. */
  size: number;
  /** Without angle brackets; what `cid:` URLs in the HTML refer to. */
  contentId: string | null;
  /** Shown inside the HTML body (a cid: image) rather than listed as a file. */
  inline: boolean;
  content: Buffer;
  /** sha256 hex of the full decoded content. */
  checksum: string;
  /** Outlook's winmail.dat (application/ms-tnef), kept as is: no TNEF decoder is installed. */
  tnef: boolean;
  /** Over maxAttachmentBytes: listed with size and checksum, `content` empty. */
  omitted: boolean;
}

export interface ParsedEmail {
  /** Without angle brackets; null when missing. */
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  from: EmailAddress | null;
  replyTo: EmailAddress | null;
  to: EmailAddress[];
  cc: EmailAddress[];
  /** RFC 2047 decoded, trimmed; '' when missing. */
  subject: string;
  date: Date | null;
  /** The whole plain body (a text rendering of the HTML when there is no text part). */
  text: string;
  /** Sanitised HTML, safe to show; null for text-only mail. */
  html: string | null;
  /** The original HTML, only ever to be shown in a sandboxed iframe. */
  rawHtml: string | null;
  /** `text` without quoted history and signature. */
  visibleText: string;
  attachments: ParsedAttachment[];
  headers: LoopHeaders;
  automatic: Automatic | null;
  /** For bounces: the Message-ID of the message that bounced. */
  bounceOf: string | null;
  /** sha256 hex of the raw bytes: the dedupe key when Message-ID is missing. */
  contentHash: string;
  problems: string[];
}

export interface ParseOptions extends Partial<MimeLimits> {}

/** A text part's string, re-decoded as Windows-1252 when a missing or wrong charset mangled it. */
function partText(node: MimeNode, textBytes: Map<unknown, Buffer>, problems: string[]): string {
  const text = (node.textContent ?? '').replace(/\r\n?/g, '\n');
  const bytes = textBytes.get(node.node);
  if (!text.includes('\uFFFD') || !bytes || !charsetMayBeWrong(node.charset)) return clean(text);
  try {
    utf8.decode(bytes);
    return clean(text); // valid UTF-8 that really contains U+FFFD
  } catch {
    problems.push(
      `${node.contentType} part is not in its declared charset (${node.charset || 'none'}); read as windows-1252`,
    );
    return clean(cp1252.decode(bytes).replace(/\r\n?/g, '\n'));
  }
}

interface Segment {
  html: boolean;
  content: string;
  /** The nearest multipart/alternative around the part. */
  group: MimeNode | null;
}

function segments(
  node: MimeNode | null,
  group: MimeNode | null,
  out: Segment[],
  read: (n: MimeNode) => string,
) {
  if (!node) return out;
  if (node.textContent !== undefined && !node.isAttachment) {
    out.push({ html: node.contentType === 'text/html', content: read(node), group });
  }
  const inner = node.contentType === 'multipart/alternative' ? node : group;
  for (const child of node.children) segments(child, inner, out, read);
  return out;
}

/** text and HTML bodies: one version of each alternative, every part of a mixed message. */
function bodies(tree: MimeNode | null, textBytes: Map<unknown, Buffer>, problems: string[]) {
  const parts = segments(tree, null, [], (n) => partText(n, textBytes, problems));
  const inGroupWith = (s: Segment, html: boolean) =>
    s.group !== null && parts.some((p) => p.group === s.group && p.html === html);
  const sanitized = new Map<Segment, string>();
  let budget = MAX_SANITIZE_CHARS;
  for (const s of parts.filter((p) => p.html)) {
    const result = sanitizeEmailHtml(s.content, budget);
    budget = Math.max(0, budget - s.content.length);
    for (const p of result.problems) if (!problems.includes(p)) problems.push(p);
    sanitized.set(s, result.html);
  }
  const text = parts
    .filter((s) => !s.html || !inGroupWith(s, false))
    .map((s) => (s.html ? htmlToText(sanitized.get(s) ?? '') : s.content.trim()))
    .filter((t) => t !== '')
    .join('\n\n');
  const anyHtml = parts.some((s) => s.html);
  const html = anyHtml
    ? parts
        .filter((s) => s.html || !inGroupWith(s, true))
        .map((s) => (s.html ? (sanitized.get(s) ?? '') : textToHtml(s.content)))
        .join('\n')
    : null;
  const rawHtml = anyHtml
    ? parts
        .filter((s) => s.html)
        .map((s) => s.content)
        .join('\n')
    : null;
  return { text, html, rawHtml };
}

function hasDeliveryReport(node: MimeNode | null): boolean {
  if (!node) return false;
  const type = node.headers.get('content-type') as
    | { value?: string; params?: Record<string, string> }
    | undefined;
  if (
    node.contentType === 'multipart/report' &&
    /delivery-status/i.test(type?.params?.['report-type'] ?? '')
  ) {
    return true;
  }
  if (/^message\/(?:global-)?delivery-status$/.test(node.contentType ?? '')) return true;
  return node.children.some(hasDeliveryReport);
}

const TNEF_TYPES = new Set(['application/ms-tnef', 'application/vnd.ms-tnef']);

const EXTENSIONS: Record<string, string> = {
  'message/rfc822': 'eml',
  'message/delivery-status': 'txt',
  'message/global-delivery-status': 'txt',
  'text/rfc822-headers': 'txt',
};

function safeFilename(name: string | undefined, contentType: string, index: number): string {
  const cleaned = clean(name ?? '')
    // Control and bidi-override characters (a "gpj.exe" shown as "exe.jpg"), and path separators.
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .replace(/[/\\]/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '')
    .slice(0, 255);
  if (cleaned !== '') return cleaned;
  const ext = EXTENSIONS[contentType] ?? (libmime.detectExtension(contentType) || 'bin');
  return `attachment-${index + 1}.${ext}`;
}

/** x-uuencode bodies (old Outlook, Zammad mail078) are left undecoded by the MIME parser. */
function uudecode(content: Buffer): Buffer | null {
  const lines = content.toString('latin1').split(/\r?\n/);
  // The "begin 644 name" line is often left out when the MIME header already names the file.
  const begin = lines.findIndex((l) => /^begin [0-7]{3,4} /.test(l));
  const body = lines.slice(begin + 1);
  const stop = body.findIndex((l) => l === 'end' || l === '`' || l === '');
  const data = body.slice(0, stop < 0 ? body.length : stop);
  if (data.length === 0 || !data.every((l) => /^[\x20-\x60]+$/.test(l))) return null;
  const out = Buffer.alloc(data.reduce((n, l) => n + ((l.charCodeAt(0) - 32) & 63), 0));
  let o = 0;
  for (const line of data) {
    const length = (line.charCodeAt(0) - 32) & 63;
    const six = (k: number) => ((line.charCodeAt(k) || 32) - 32) & 63;
    for (let i = 1, n = 0; n < length; i += 4) {
      const [a, b, c, d] = [six(i), six(i + 1), six(i + 2), six(i + 3)];
      for (const byte of [(a << 2) | (b >> 4), (b << 4) | (c >> 2), (c << 6) | d]) {
        if (n++ < length) out[o++] = byte & 255;
      }
    }
  }
  return out.subarray(0, o);
}

function attachmentOf(
  collected: CollectedAttachment,
  index: number,
  rawHtml: string | null,
): ParsedAttachment {
  const { stream, omitted } = collected;
  let { content } = collected;
  let size = stream.size ?? content.length;
  let checksum = stream.checksum ?? createHash('sha256').update(content).digest('hex');
  const encoding = String(stream.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (!omitted && /^x-?uue(?:ncode)?$|^uuencode$/.test(encoding)) {
    const decoded = uudecode(content);
    if (decoded) {
      content = decoded;
      size = decoded.length;
      checksum = createHash('sha256').update(decoded).digest('hex');
    }
  }
  // A damaged Content-Type header can leave the type unset.
  const contentType = String(stream.contentType || 'application/octet-stream').toLowerCase();
  const filename = safeFilename(stream.filename, contentType, index);
  const contentId = stream.cid ? clean(stream.cid) : null;
  const referenced = contentId !== null && rawHtml?.includes(`cid:${contentId}`) === true;
  return {
    filename,
    contentType,
    size,
    contentId,
    inline:
      contentId !== null && (stream.contentDisposition === 'inline' || stream.related === true || referenced),
    content,
    checksum,
    tnef: TNEF_TYPES.has(contentType) || filename.toLowerCase() === 'winmail.dat',
    omitted,
  };
}

const KNOWN_HEADERS = new Set(
  'from to cc subject date message-id received mime-version content-type return-path reply-to sender'.split(
    ' ',
  ),
);

/**
 * Parse one raw message. Resolves for anything that is recognisably an email, however broken
 * (see `problems`); rejects only with an EmailRejectedError, whose `reason` says why the raw
 * bytes belong in quarantine.
 */
export async function parseEmail(raw: Buffer, options: ParseOptions = {}): Promise<ParsedEmail> {
  const limits: MimeLimits = { ...DEFAULT_LIMITS, ...options };
  if (raw.length === 0) throw new EmailRejectedError('not_email', 'empty message');
  const mime = await parseMime(raw, limits);
  try {
    return assemble(raw, mime, limits);
  } catch (err) {
    if (err instanceof EmailRejectedError) throw err;
    // A bug or library failure on some shape of input: still a typed, quarantinable outcome.
    throw new EmailRejectedError(
      'unparseable',
      `could not assemble the parsed message: ${(err as Error).message}`,
    );
  }
}

function assemble(raw: Buffer, mime: MimeResult, limits: MimeLimits): ParsedEmail {
  const lines = mime.headerLines;
  if (!lines.some((l) => KNOWN_HEADERS.has(l.key))) {
    throw new EmailRejectedError('not_email', 'no email header found');
  }
  const problems: string[] = [];
  const from = sender(lines, problems);
  const replyToHeader = addressHeader(lines, 'reply-to', 'Reply-To', problems);
  const to = addressHeader(lines, 'to', 'To', problems);
  const cc = addressHeader(lines, 'cc', 'Cc', problems);
  const subject = decodeWords(headerValues(lines, 'subject')[0] ?? '')
    .replace(/[\r\n]+/g, ' ')
    .trim();
  const date = parseDate(lines, problems);
  const { text, html, rawHtml } = bodies(mime.tree, mime.textBytes, problems);
  const attachments = mime.attachments.map((a, i) => attachmentOf(a, i, rawHtml));
  for (const a of attachments.filter((x) => x.omitted)) {
    problems.push(
      `attachment "${a.filename}" (${a.size} bytes) is over ${limits.maxAttachmentBytes} bytes; content not kept`,
    );
  }
  const headers = loopHeaders(lines);
  const automatic = classifyAutomatic({
    from: from?.address ?? null,
    headers,
    deliveryReport: hasDeliveryReport(mime.tree),
  });
  return {
    ...threading(lines, problems),
    from,
    replyTo: replyToHeader[0] ?? null,
    to,
    cc,
    subject: clean(subject),
    date,
    text,
    html,
    rawHtml,
    visibleText: visibleText(text),
    attachments,
    headers,
    automatic,
    bounceOf: automatic?.kind === 'bounce' ? bouncedMessageId(attachments, text) : null,
    contentHash: createHash('sha256').update(raw).digest('hex'),
    problems: problems.map(clean),
  };
}
