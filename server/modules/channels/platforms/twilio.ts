/**
 * What Twilio's products share: the X-Twilio-Signature check and the form-encoded webhook body.
 * https://www.twilio.com/docs/usage/security#validating-requests
 */
import { createHash, createHmac } from 'node:crypto';
import { safeEqual } from '../../../lib/secrets.ts';
import type { PlatformChannel, Verification, WebhookRequest } from './platform.ts';
import { WebhookPayloadError } from './platform.ts';

export const TWIML_EMPTY = {
  contentType: 'text/xml',
  body: '<?xml version="1.0" encoding="UTF-8"?><Response/>',
};

/** A form body's fields in order, names repeated as sent. */
export type FormFields = [string, string][];

export function readForm(body: Buffer): FormFields {
  return [...new URLSearchParams(body.toString('utf8')).entries()];
}

/**
 * Base64(HMAC-SHA1(authToken, url + every field name and value, sorted by name)). Sorting is
 * by code unit (Twilio: "Unix-style case-sensitive"); a repeated name's values are sorted too.
 */
export function twilioSignature(authToken: string, url: string, fields: FormFields): string {
  const sorted = [...fields].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const hmac = createHmac('sha1', authToken).update(url, 'utf8');
  for (const [name, value] of sorted) hmac.update(name + value, 'utf8');
  return hmac.digest('base64');
}

/** The same URL with and without the default port: Twilio signs whichever form it called. */
function urlForms(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [url];
  }
  const defaultPort = u.protocol === 'https:' ? '443' : '80';
  const origin = `${u.protocol}//${u.host}`;
  const rest = url.slice(url.indexOf(u.host) + u.host.length);
  // new URL drops a default port, so an explicit one is put back by hand.
  if (u.port !== '') return [url];
  if (url.includes(`${u.host}:${defaultPort}`)) return [url, url.replace(`:${defaultPort}`, '')];
  return [url, `${origin}:${defaultPort}${rest}`];
}

/**
 * Checks X-Twilio-Signature against the channel's auth token and its public URL. Form bodies
 * are signed field by field; a JSON body is signed through the bodySHA256 query parameter.
 * No token or no known public URL: fails closed.
 */
export function verifyTwilio(request: WebhookRequest, channel: PlatformChannel): Verification {
  const token = channel.secret('authToken');
  if (!token) return { ok: false, reason: 'not_configured', message: 'The channel has no Twilio auth token' };
  if (!request.publicUrl) {
    return {
      ok: false,
      reason: 'not_configured',
      message:
        'The channel has no public URL to check signatures against (settings.publicUrl or RAPPORT_PUBLIC_URL)',
    };
  }
  const sent = request.headers['x-twilio-signature'];
  if (!sent) return { ok: false, reason: 'missing', message: 'X-Twilio-Signature is missing' };
  const contentType = request.headers['content-type'] ?? '';
  let fields: FormFields = [];
  if (contentType.startsWith('application/json')) {
    const hash = request.query.bodySHA256;
    const actual = createHash('sha256').update(request.rawBody).digest('hex');
    if (!hash || !safeEqual(hash.toLowerCase(), actual)) {
      return { ok: false, reason: 'invalid', message: 'bodySHA256 does not match the body' };
    }
  } else {
    fields = readForm(request.rawBody);
  }
  for (const url of urlForms(request.publicUrl)) {
    if (safeEqual(twilioSignature(token, url, fields), sent)) return { ok: true };
  }
  return { ok: false, reason: 'invalid', message: 'X-Twilio-Signature does not match' };
}

/** Fields by name (first value), for reading a verified form body. */
export function formMap(body: Buffer): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of readForm(body)) if (!map.has(name)) map.set(name, value);
  return map;
}

export function required(fields: Map<string, string>, name: string): string {
  const value = fields.get(name)?.trim();
  if (!value) throw new WebhookPayloadError(`${name} is missing`);
  return value;
}

/** Twilio's ids: two letters and 32 hex digits (SM…, MM…, CA…). */
export function twilioSid(fields: Map<string, string>, name: string, prefixes: readonly string[]): string {
  const value = required(fields, name);
  if (!/^[A-Z]{2}[0-9a-fA-F]{32}$/.test(value) || !prefixes.includes(value.slice(0, 2))) {
    throw new WebhookPayloadError(`${name} is not a Twilio id`);
  }
  return value;
}
