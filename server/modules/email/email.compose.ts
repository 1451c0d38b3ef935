/**
 * One outbound email as raw RFC 5322 bytes (nodemailer's MailComposer), ready for the outbox:
 * text and HTML parts, the signature on both, attachments, threading headers, and the
 * RFC 3834 markers on automatic mail (SECURITY.md EL-05).
 *
 * Header injection is impossible by construction (IN-02): addresses must be plain
 * `local@domain` or the message is refused with a ComposeError; display names and the subject
 * lose their control characters and are RFC 2047-encoded whenever they are not plain text, a
 * literal `=?…?=` included, so a decoder shows the text we were given. The envelope is
 * exactly the recipients passed in.
 */
import { domainToASCII } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer';
import { encodeWord } from 'nodemailer/lib/mime-funcs';
import type { MimeNodeHeader } from 'nodemailer/lib/mime-node';
import { textToHtml } from './email.html.ts';

export type ComposeErrorCode =
  | 'invalid_address'
  | 'no_recipients'
  | 'too_many_recipients'
  | 'invalid_message_id'
  | 'header_not_allowed'
  | 'invalid_header_value'
  | 'invalid_attachment';

/** A message we refuse to build; the API answers 422 with `code` and `field`. */
export class ComposeError extends Error {
  readonly code: ComposeErrorCode;
  /** Which input was wrong: `to[1].address`, `headers.X-Foo`, … */
  readonly field: string;
  constructor(code: ComposeErrorCode, field: string, message: string) {
    super(message);
    this.name = 'ComposeError';
    this.code = code;
    this.field = field;
  }
}

export interface ComposeAddress {
  address: string;
  name?: string | null;
}

export interface ComposeAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  /** Content-ID (without brackets) for an image the HTML shows as `cid:…`. */
  cid?: string;
}

/** Extra headers a caller may set; everything else that matters is set from the fields. */
export const ALLOWED_HEADERS = [
  'Content-Language',
  'Organization',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'Feedback-ID',
] as const;
export type AllowedHeader = (typeof ALLOWED_HEADERS)[number];

export interface ComposeInput {
  /** The display name is the caller's choice, e.g. "Sam Taylor via Northwind Broadband". */
  from: ComposeAddress;
  to: ComposeAddress[];
  cc?: ComposeAddress[];
  replyTo?: ComposeAddress;
  subject: string;
  text: string;
  /** Trusted HTML: the caller sanitises anything a person wrote. Generated from `text` when absent. */
  html?: string;
  /** Plain text, appended to both parts (escaped in the HTML). */
  signature?: string;
  /** Our Message-ID, with or without angle brackets. */
  messageId: string;
  inReplyTo?: string | null;
  /** Oldest first, as in the header; the thread root and the newest ids are kept. */
  references?: readonly string[];
  attachments?: ComposeAttachment[];
  /** Marks automatic mail so other systems never answer it (RFC 3834). */
  automatic?: 'auto-replied' | 'auto-generated';
  headers?: Partial<Record<AllowedHeader, string>>;
  date: Date;
}

export interface ComposedEmail {
  raw: Buffer;
  /** With angle brackets, as in the header. */
  messageId: string;
  /** The SMTP envelope: exactly the addresses passed in, each once. */
  envelope: { from: string; to: string[] };
}

export const MAX_RECIPIENTS = 100;
/** The References header keeps the thread root and the newest ids, this many in all. */
export const MAX_REFERENCES = 20;

// A dot-atom local part and an LDH (or IDN) domain: nothing that needs quoting, so nothing in
// an address can end it, open a comment or separate another recipient.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LOCAL = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`);
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MSG_ID = /^[\x21-\x7e]{1,900}$/;
const CID = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{1,250}$/;
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

function address(value: string, field: string): string {
  const fail = () => new ComposeError('invalid_address', field, `not a plain email address: ${field}`);
  if (typeof value !== 'string' || value.length > 254) throw fail();
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  if (at < 1 || local.length > 64 || !LOCAL.test(local)) throw fail();
  const raw = value.slice(at + 1);
  // Non-ASCII domains go out as A-labels; anything domainToASCII refuses is not a domain.
  const domain = /^[\x21-\x7e]*$/.test(raw) ? raw.toLowerCase() : domainToASCII(raw);
  const labels = domain.split('.');
  if (domain.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) throw fail();
  return `${local}@${domain}`;
}

/** Header text without line breaks or other control characters. */
function headerText(value: string): string {
  return value
    .replace(/[\r\n\t\v\f\u0085\u2028\u2029]+/g, ' ')
    .replace(/\p{Cc}/gu, '')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** Plain when it is plain ASCII words; RFC 2047 encoded words otherwise. */
function encodedText(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value) && !value.includes('=?') && !/\S{78}/.test(value)) return value;
  const nonAscii = value.replace(/[\x20-\x7e]/g, '').length;
  return encodeWord(value, nonAscii * 2 < value.length ? 'Q' : 'B', 52);
}

/**
 * A display name for nodemailer, which quotes ASCII names with specials and encodes the rest.
 * A literal `=?…?=` is encoded first: inside quotes most clients would still decode it into
 * whatever the sender hid there (a comma and another address); encoded, it reads as written.
 */
function displayName(value: string): string {
  const name = headerText(value);
  return /^[\x20-\x7e]*$/.test(name) && name.includes('=?') ? encodeWord(name, 'B', 52) : name;
}

function mailbox(a: ComposeAddress, field: string): { name: string; address: string } {
  return { name: displayName(a.name ?? ''), address: address(a.address, `${field}.address`) };
}

function messageId(value: string): string | null {
  const bare = value.trim().replace(/^<([^<>]*)>$/, '$1');
  return MSG_ID.test(bare) && !/[<>]/.test(bare) && bare.includes('@') ? `<${bare}>` : null;
}

/** Dedupe, append In-Reply-To, and keep the thread root plus the newest ids. */
function references(ids: readonly string[], inReplyTo: string | null): string[] {
  const valid = ids.map((id) => messageId(id)).filter((id): id is string => id !== null);
  if (inReplyTo !== null) valid.push(inReplyTo);
  const unique = [...new Set(valid.reverse())].reverse();
  if (unique.length <= MAX_REFERENCES) return unique;
  return [unique[0] as string, ...unique.slice(-(MAX_REFERENCES - 1))];
}

function extraHeaders(headers: ComposeInput['headers']): MimeNodeHeader[] {
  const out: MimeNodeHeader[] = [];
  for (const [key, value] of Object.entries(headers ?? {})) {
    const allowed = ALLOWED_HEADERS.find((h) => h.toLowerCase() === key.toLowerCase());
    if (!allowed)
      throw new ComposeError('header_not_allowed', `headers.${key}`, `header not allowed: ${key}`);
    if (typeof value !== 'string' || !/^[\x20-\x7e]{1,900}$/.test(value) || value.trim() === '') {
      throw new ComposeError('invalid_header_value', `headers.${key}`, `${allowed} must be printable ASCII`);
    }
    out.push({ key: allowed, value: value.trim() });
  }
  return out;
}

function attachment(a: ComposeAttachment, i: number) {
  const field = `attachments[${i}]`;
  if (!Buffer.isBuffer(a.content)) {
    throw new ComposeError('invalid_attachment', `${field}.content`, 'attachment content must be bytes');
  }
  if (!CONTENT_TYPE.test(a.contentType ?? '')) {
    throw new ComposeError('invalid_attachment', `${field}.contentType`, 'not a plain type/subtype');
  }
  if (a.cid !== undefined && !CID.test(a.cid)) {
    throw new ComposeError('invalid_attachment', `${field}.cid`, 'not a plain Content-ID');
  }
  // Path separators and controls out: the receiving side may save the file under this name.
  const filename = headerText(a.filename ?? '').replace(/[/\\]/g, '_') || `attachment-${i + 1}`;
  return {
    filename,
    contentType: a.contentType.toLowerCase(),
    content: a.content,
    ...(a.cid === undefined ? {} : { cid: a.cid }),
  };
}

function withSignature(input: ComposeInput): { text: string; html: string } {
  const signature = input.signature?.replace(/\r\n?/g, '\n').trim() ?? '';
  const body = input.text.replace(/\r\n?/g, '\n').trimEnd();
  const text = signature === '' ? `${body}\n` : `${body}\n\n-- \n${signature}\n`;
  const signatureHtml =
    signature === '' ? '' : `\n<div class="signature">-- <br>\n${textToHtml(signature)}</div>`;
  if (input.html === undefined) {
    const html = `${textToHtml(body)}${signatureHtml}`;
    return {
      text,
      html: `<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n${html}\n</body></html>\n`,
    };
  }
  const close = input.html.search(/<\/body\s*>/i);
  const html =
    close < 0
      ? `${input.html}${signatureHtml}`
      : `${input.html.slice(0, close)}${signatureHtml}\n${input.html.slice(close)}`;
  return { text, html };
}

/**
 * Build one outbound message. Throws a ComposeError for input that cannot be sent safely;
 * never widens the recipients.
 */
export async function composeEmail(input: ComposeInput): Promise<ComposedEmail> {
  const from = mailbox(input.from, 'from');
  const to = input.to.map((a, i) => mailbox(a, `to[${i}]`));
  const cc = (input.cc ?? []).map((a, i) => mailbox(a, `cc[${i}]`));
  const replyTo = input.replyTo ? mailbox(input.replyTo, 'replyTo') : null;
  // Each mailbox once (domains compare case-insensitively, and so do local parts in practice).
  const seen = new Map<string, string>();
  for (const r of [...to, ...cc])
    if (!seen.has(r.address.toLowerCase())) seen.set(r.address.toLowerCase(), r.address);
  const recipients = [...seen.values()];
  if (recipients.length === 0) throw new ComposeError('no_recipients', 'to', 'a message needs a recipient');
  if (recipients.length > MAX_RECIPIENTS) {
    throw new ComposeError('too_many_recipients', 'to', `at most ${MAX_RECIPIENTS} recipients`);
  }
  const id = messageId(input.messageId);
  if (id === null) throw new ComposeError('invalid_message_id', 'messageId', 'not a Message-ID');
  const parent = input.inReplyTo ? messageId(input.inReplyTo) : null;
  const refs = references(input.references ?? [], parent);
  const { text, html } = withSignature(input);

  const headers: MimeNodeHeader[] = [
    ...extraHeaders(input.headers),
    // Written as given: nodemailer leaves a literal `=?…?=` in a plain ASCII subject unencoded.
    {
      key: 'Subject',
      value: { prepared: true, foldLines: true, value: encodedText(headerText(input.subject)) },
    },
  ];
  if (input.automatic) {
    headers.push({ key: 'Auto-Submitted', value: input.automatic });
    headers.push({ key: 'X-Auto-Response-Suppress', value: 'All' });
  }

  const raw = await new MailComposer({
    headers,
    from,
    to,
    ...(cc.length === 0 ? {} : { cc }),
    ...(replyTo === null ? {} : { replyTo }),
    messageId: id,
    ...(parent === null ? {} : { inReplyTo: parent }),
    ...(refs.length === 0 ? {} : { references: refs }),
    date: input.date,
    text,
    html,
    attachments: (input.attachments ?? []).map(attachment),
    envelope: { from: from.address, to: recipients },
    disableFileAccess: true,
    disableUrlAccess: true,
    newline: 'windows',
  })
    .compile()
    .build();
  return { raw, messageId: id, envelope: { from: from.address, to: recipients } };
}
