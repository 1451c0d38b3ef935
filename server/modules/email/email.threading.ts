/**
 * Signed threading hints for outbound mail: a reply token (in the reply address and in our
 * Message-IDs) and a subject tag `[#1042-abcde]`. Each carries an HMAC-SHA256 over the tenant and
 * the case under a server secret, so a forged In-Reply-To, address or tag never verifies
 * (SECURITY.md IN-04) and a hint minted for one tenant never verifies in another (MI-04).
 *
 * The tenant is not written into the token but bound by the HMAC: every reader takes the tenant
 * of the mailbox the message arrived in. That keeps `support+<token>@` within the 64-octet
 * limit of a local part (RFC 5321 §4.5.3.1.1) and makes a cross-tenant match impossible to
 * forget. Tokens are lowercase base32, read case-insensitively, as some MTAs fold local parts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type ThreadingSecret = string | Buffer;

export interface CaseRef {
  tenantId: string;
  caseId: string;
}

export interface MessageRef extends CaseRef {
  /** Our message's uuid. */
  messageId: string;
}

export interface SubjectTag {
  number: number;
  /** The tag's signature verified for this tenant; a bare `[#1042]` is unsigned. */
  signed: boolean;
}

/** 80 bits, the floor for a MAC an attacker gets unlimited offline tries against. */
const MAC_BYTES = 10;
/** 25 bits: a tag only ever names a case number, and the sender sees it in every reply. */
const TAG_CHARS = 5;
const LOCAL_PART_MAX = 64;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

// Each kind of hint signs under its own label, so one can never be replayed as another.
const REPLY = 'rapport email reply-token v1';
const MESSAGE = 'rapport email message-id v1';
const TAG = 'rapport email subject-tag v1';

function uuidBytes(value: string, what: string): Buffer {
  if (!UUID.test(value)) throw new TypeError(`${what} is not a uuid: ${JSON.stringify(value)}`);
  return Buffer.from(value.replace(/-/g, ''), 'hex');
}

function uuidString(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function mac(secret: ThreadingSecret, label: string, tenantId: string, payload: Buffer): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (key.length < 16) throw new TypeError('the threading secret must be at least 16 bytes');
  return createHmac('sha256', key)
    .update(`${label}\0`)
    .update(uuidBytes(tenantId, 'tenantId'))
    .update(payload)
    .digest();
}

export function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Case-insensitive; null for a foreign character or non-zero padding bits (not our encoding). */
export function fromBase32(text: string): Buffer | null {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text.toLowerCase()) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return null;
    value = ((value << 5) | digit) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) return null;
  return Buffer.from(out);
}

function seal(secret: ThreadingSecret, label: string, tenantId: string, payload: Buffer): string {
  return base32(Buffer.concat([payload, mac(secret, label, tenantId, payload).subarray(0, MAC_BYTES)]));
}

/** The payload when `text` is a sealed payload of `size` bytes for this tenant, else null. */
function open(
  secret: ThreadingSecret,
  label: string,
  tenantId: string,
  text: string,
  size: number,
): Buffer | null {
  if (text.length !== Math.ceil(((size + MAC_BYTES) * 8) / 5)) return null;
  const bytes = fromBase32(text);
  if (bytes === null || bytes.length !== size + MAC_BYTES) return null;
  const payload = bytes.subarray(0, size);
  const expected = mac(secret, label, tenantId, payload).subarray(0, MAC_BYTES);
  return timingSafeEqual(bytes.subarray(size), expected) ? payload : null;
}

/** The reply token of a case: 42 base32 characters, the same for every message of the case. */
export function replyToken(secret: ThreadingSecret, ref: CaseRef): string {
  return seal(secret, REPLY, ref.tenantId, uuidBytes(ref.caseId, 'caseId'));
}

/** The case a reply token names, when it was made with this secret for this tenant. */
export function readReplyToken(secret: ThreadingSecret, tenantId: string, token: string): CaseRef | null {
  const payload = open(secret, REPLY, tenantId, token.trim(), 16);
  return payload === null ? null : { tenantId, caseId: uuidString(payload) };
}

function splitAddress(address: string): { local: string; domain: string } | null {
  const bare = address.trim().replace(/^<|>$/g, '');
  const at = bare.lastIndexOf('@');
  if (at <= 0 || at === bare.length - 1) return null;
  return { local: bare.slice(0, at), domain: bare.slice(at + 1) };
}

/**
 * `support+<token>@example.com` for the channel address `support@example.com`. When the
 * result would pass the 64-octet local-part limit the channel address is returned as it is:
 * the Message-ID and the subject tag still carry the thread.
 */
export function replyAddress(secret: ThreadingSecret, channelAddress: string, ref: CaseRef): string {
  const parts = splitAddress(channelAddress);
  if (parts === null) throw new TypeError(`not an email address: ${JSON.stringify(channelAddress)}`);
  const local = `${parts.local}+${replyToken(secret, ref)}`;
  return local.length > LOCAL_PART_MAX ? channelAddress.trim() : `${local}@${parts.domain}`;
}

/** The case named by the plus-tag of an address we received mail for (the last `+` part). */
export function tokenFromAddress(secret: ThreadingSecret, tenantId: string, address: string): CaseRef | null {
  const parts = splitAddress(address);
  const plus = parts?.local.lastIndexOf('+') ?? -1;
  if (parts === null || plus < 0) return null;
  return readReplyToken(secret, tenantId, parts.local.slice(plus + 1));
}

/**
 * Our Message-ID for one outbound message: `<…@domain>` whose local part is the case and the
 * message, signed together, so every id we send is unique and verifiable on its own.
 */
export function messageIdFor(secret: ThreadingSecret, ref: MessageRef, domain: string): string {
  if (!DOMAIN.test(domain)) throw new TypeError(`not a domain name: ${JSON.stringify(domain)}`);
  const payload = Buffer.concat([uuidBytes(ref.caseId, 'caseId'), uuidBytes(ref.messageId, 'messageId')]);
  return `<${seal(secret, MESSAGE, ref.tenantId, payload)}@${domain.toLowerCase()}>`;
}

/** The case and message behind one of our Message-IDs (with or without angle brackets). */
export function tokenFromMessageId(secret: ThreadingSecret, tenantId: string, id: string): MessageRef | null {
  const parts = splitAddress(id);
  if (parts === null) return null;
  const payload = open(secret, MESSAGE, tenantId, parts.local, 32);
  if (payload === null) return null;
  return {
    tenantId,
    caseId: uuidString(payload.subarray(0, 16)),
    messageId: uuidString(payload.subarray(16)),
  };
}

/** References beyond this many are not looked at; a hostile header may carry thousands. */
const MAX_REFERENCES_CHECKED = 100;

/**
 * The newest of our messages among an inbound mail's References and In-Reply-To, in header
 * order (oldest first, In-Reply-To last). Ids that are not ours, or are forged, are skipped.
 */
export function caseFromReferences(
  secret: ThreadingSecret,
  tenantId: string,
  ids: readonly string[],
): MessageRef | null {
  const newest = ids.slice(-MAX_REFERENCES_CHECKED).reverse();
  for (const id of newest) {
    const found = tokenFromMessageId(secret, tenantId, id);
    if (found) return found;
  }
  return null;
}

function tagSignature(secret: ThreadingSecret, tenantId: string, number: number): string {
  return base32(mac(secret, TAG, tenantId, Buffer.from(String(number)))).slice(0, TAG_CHARS);
}

function caseNumber(number: number): number {
  if (!Number.isSafeInteger(number) || number < 1) throw new TypeError(`not a case number: ${number}`);
  return number;
}

/** `[#1042-abcde]` */
export function subjectTag(secret: ThreadingSecret, tenantId: string, number: number): string {
  return `[#${caseNumber(number)}-${tagSignature(secret, tenantId, number)}]`;
}

const TAGS = /\[#(\d{1,15})(?:-([a-z2-7]{5}))?\]/gi;

function tagsIn(secret: ThreadingSecret, tenantId: string, subject: string) {
  return [...subject.matchAll(TAGS)].map((m) => {
    const number = Number(m[1]);
    const signature = m[2]?.toLowerCase();
    const valid =
      signature !== undefined &&
      Number.isSafeInteger(number) &&
      number >= 1 &&
      timingSafeEqual(Buffer.from(signature), Buffer.from(tagSignature(secret, tenantId, number)));
    return { text: m[0], number, signature, valid };
  });
}

/**
 * The case a subject's tag names: the first tag signed for this tenant, else the first bare
 * `[#1042]` (unsigned: to be trusted only when the sender owns that case). A signed tag that
 * does not verify, such as another tenant's, is ignored.
 */
export function tagFromSubject(
  secret: ThreadingSecret,
  tenantId: string,
  subject: string,
): SubjectTag | null {
  const tags = tagsIn(secret, tenantId, subject);
  const signed = tags.find((t) => t.valid);
  if (signed) return { number: signed.number, signed: true };
  const bare = tags.find((t) => t.signature === undefined && Number.isSafeInteger(t.number) && t.number >= 1);
  return bare ? { number: bare.number, signed: false } : null;
}

// Reply and forward prefixes of common mail clients, in the languages of our templates and beyond.
const REPLY_PREFIX = /^(?:re|aw|sv|vs|antw|antwort|odp|ref|réf|rif|r|resp)$/i;
const PREFIXES =
  /^(?:\s*(?:re|aw|sv|vs|antw|antwort|odp|ref|réf|rif|resp|fw|fwd|wg|tr|rv|enc|doorst)(?:\[\d+\]|\(\d+\))?\s*[:：])+\s*/i;

/**
 * The subject with this case's signed tag, once, after any reply prefixes: a chain like
 * `Re: AW: RE:` becomes one `Re:`. Tags for the same case (bare or signed) and this tenant's
 * signed tags for other cases are replaced rather than repeated.
 */
export function subjectWithTag(
  secret: ThreadingSecret,
  tenantId: string,
  number: number,
  subject: string,
): string {
  const tag = subjectTag(secret, tenantId, number);
  let rest = subject.replace(/[\p{Cc}]+/gu, ' ');
  for (const t of tagsIn(secret, tenantId, rest)) {
    if (t.valid || t.number === number) rest = rest.replace(t.text, ' ');
  }
  rest = rest.replace(/\s+/g, ' ').trim();
  const prefix = PREFIXES.exec(rest)?.[0] ?? '';
  rest = rest.slice(prefix.length).trim();
  // A tag removed from between two prefixes can leave a second chain behind it.
  const again = PREFIXES.exec(rest)?.[0] ?? '';
  rest = rest.slice(again.length).trim();
  const words = `${prefix}${again}`
    .split(/[:：]/)
    .map((w) => w.trim().replace(/[[(]\d+[\])]$/, ''))
    .filter((w) => w !== '');
  const lead = words.length === 0 ? '' : words.some((w) => REPLY_PREFIX.test(w)) ? 'Re: ' : 'Fwd: ';
  return `${lead}${tag}${rest === '' ? '' : ` ${rest}`}`;
}
