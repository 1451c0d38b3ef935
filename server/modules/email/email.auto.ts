/**
 * Loop and noise safety: which inbound messages were written by a machine (auto-replies,
 * bounces, mailing lists, null senders). Such mail is stored but never acknowledged and never
 * reopens a case (SECURITY.md H); a bounce also names the message of ours that bounced.
 */
import { BOUNCE_SENDER, NO_REPLY_SENDER } from '../../../shared/domain/email-senders.ts';

/** The raw values of the headers loop safety looks at (null when absent). */
export interface LoopHeaders {
  autoSubmitted: string | null;
  precedence: string | null;
  listId: string | null;
  listUnsubscribe: string | null;
  xAutoreply: string | null;
  xAutorespond: string | null;
  autoResponseSuppress: string | null;
  /** '' for the null sender `<>` (bounces, RFC 3834 auto-replies), else the address. */
  returnPath: string | null;
}

export type AutomaticKind = 'auto_reply' | 'bounce' | 'list' | 'null_sender';

export interface Automatic {
  kind: AutomaticKind;
  reason: string;
}

export interface AutomaticInput {
  from: string | null;
  headers: LoopHeaders;
  /** multipart/report; report-type=delivery-status, or a message/delivery-status part. */
  deliveryReport: boolean;
}

/** The first rule that matches, most specific first: a bounce outranks its auto-reply headers. */
export function classifyAutomatic({ from, headers: h, deliveryReport }: AutomaticInput): Automatic | null {
  const local = from?.slice(0, from.lastIndexOf('@')) ?? '';
  if (deliveryReport) return { kind: 'bounce', reason: 'multipart/report delivery-status' };
  if (BOUNCE_SENDER.test(local)) return { kind: 'bounce', reason: `sender ${local.toLowerCase()}@` };

  const token = (v: string | null) => (v ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const autoSubmitted = token(h.autoSubmitted);
  if (autoSubmitted !== '' && autoSubmitted !== 'no') {
    return { kind: 'auto_reply', reason: `Auto-Submitted: ${autoSubmitted}` };
  }
  if (h.xAutoreply !== null && token(h.xAutoreply) !== 'no') {
    return { kind: 'auto_reply', reason: `X-Autoreply: ${token(h.xAutoreply)}` };
  }
  if (h.xAutorespond !== null) return { kind: 'auto_reply', reason: 'X-Autorespond' };
  const precedence = token(h.precedence);
  if (precedence === 'auto_reply') return { kind: 'auto_reply', reason: 'Precedence: auto_reply' };
  // Exchange stamps its own automatic mail (out-of-office, receipts) with this header.
  if (/\b(?:all|oof|autoreply)\b/i.test(h.autoResponseSuppress ?? '')) {
    return { kind: 'auto_reply', reason: `X-Auto-Response-Suppress: ${h.autoResponseSuppress}` };
  }
  if (NO_REPLY_SENDER.test(local)) return { kind: 'auto_reply', reason: 'no-reply sender' };

  if (['bulk', 'junk', 'list'].includes(precedence))
    return { kind: 'list', reason: `Precedence: ${precedence}` };
  if (h.listId !== null) return { kind: 'list', reason: 'List-Id' };
  if (h.listUnsubscribe !== null) return { kind: 'list', reason: 'List-Unsubscribe' };

  if (h.returnPath === '') return { kind: 'null_sender', reason: 'Return-Path: <>' };
  return null;
}

const RETURNED_TYPES = new Set([
  'message/rfc822',
  'text/rfc822-headers',
  'message/rfc822-headers',
  'message/global',
  'message/global-headers',
]);

/** The Message-ID in an unfolded header block or a text, without angle brackets. */
function messageIdIn(text: string): string | null {
  // Anchored per line; quoted DSN text may prefix the header with "> ".
  const match = /^[ \t>]*Message-ID:[ \t]*<([^<>\s]{1,900})>/im.exec(text);
  return match?.[1] ?? null;
}

/**
 * The Message-ID of the message that bounced: from the returned message or its headers when
 * the DSN carries them, else (best effort) from a "Message-ID:" line quoted in the bounce text.
 */
export function bouncedMessageId(
  parts: { contentType: string; content: Buffer }[],
  text: string,
): string | null {
  for (const part of parts) {
    if (!RETURNED_TYPES.has(part.contentType)) continue;
    const head = part.content.subarray(0, 256 * 1024).toString('latin1');
    const end = head.search(/\r?\n\r?\n/);
    const headers = (end >= 0 ? head.slice(0, end) : head).replace(/\r?\n[ \t]+/g, ' ');
    const id = messageIdIn(headers);
    if (id) return id;
  }
  return messageIdIn(text);
}
