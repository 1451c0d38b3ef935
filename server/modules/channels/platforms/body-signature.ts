/**
 * A webhook signed in one header as "sha256=" + HMAC-SHA256(secret, raw body), hex (Meta's
 * X-Hub-Signature-256) or base64 (X's x-twitter-webhooks-signature). Checked over the exact bytes
 * received, in constant time; a channel without its secret fails closed.
 */
import { createHmac } from 'node:crypto';
import { safeEqual } from '../../../lib/secrets.ts';
import type { Verification, WebhookRequest } from './platform.ts';

const SIGNATURE = {
  hex: /^sha256=([0-9a-fA-F]{64})$/,
  base64: /^sha256=([A-Za-z0-9+/]{43}=)$/,
};

export function verifyBodySignature(
  request: WebhookRequest,
  check: {
    secret: string | null | undefined;
    /** As the platform's documentation writes it; looked up in lower case. */
    header: string;
    encoding: keyof typeof SIGNATURE;
    /** Why nothing can be verified: which secret the channel lacks. */
    notConfigured: string;
  },
): Verification {
  if (!check.secret) return { ok: false, reason: 'not_configured', message: check.notConfigured };
  const sent = request.headers[check.header.toLowerCase()];
  if (!sent) return { ok: false, reason: 'missing', message: `${check.header} is missing` };
  const value = SIGNATURE[check.encoding].exec(sent.trim())?.[1];
  const expected = createHmac('sha256', check.secret).update(request.rawBody).digest(check.encoding);
  // Hex digits may come in either case; base64 is case-sensitive.
  if (!value || !safeEqual(check.encoding === 'hex' ? value.toLowerCase() : value, expected)) {
    return { ok: false, reason: 'invalid', message: `${check.header} does not match the body` };
  }
  return { ok: true };
}
