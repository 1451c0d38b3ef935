/**
 * Reading a platform's JSON webhook body (Meta, X) under MI-05 rules: invalid UTF-8, invalid
 * JSON, a wrong type or an absurd size is a WebhookPayloadError naming the path it failed at, so
 * the delivery is refused with 400 before anything is stored.
 */
import type { Channel } from '../../../../shared/domain/channels.ts';
import { AppError } from '../../../errors.ts';
import { identityForChannel } from '../../customers/customers.identity.ts';
import { WebhookPayloadError } from './platform.ts';

export type Json = Record<string, unknown>;

/** Real payloads nest about eight levels; far deeper is an attack on the parser, not a message. */
const MAX_DEPTH = 32;

/** How deep objects and arrays nest in JSON text (brackets inside strings do not count). */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** The body as JSON; invalid UTF-8, invalid JSON or a non-object is a WebhookPayloadError. */
export function readJson(raw: Buffer): Json {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new WebhookPayloadError('the body is not UTF-8');
  }
  if (nesting(text) > MAX_DEPTH)
    throw new WebhookPayloadError(`the body nests deeper than ${MAX_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Also a RangeError from absurd nesting: still just an unreadable body.
    throw new WebhookPayloadError('the body is not JSON');
  }
  return obj(value, 'body');
}

export function obj(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WebhookPayloadError(`${path} must be an object`);
  }
  return value as Json;
}

export function arr(value: unknown, path: string, max = 1000): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new WebhookPayloadError(`${path} must be an array`);
  if (value.length > max) throw new WebhookPayloadError(`${path} has more than ${max} items`);
  return value;
}

export function str(value: unknown, path: string, max = 100_000): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new WebhookPayloadError(`${path} must be a string`);
  if (value.length > max) throw new WebhookPayloadError(`${path} is too long`);
  return value;
}

export function optStr(value: unknown, path: string, max = 100_000): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : str(value, path, max);
}

/** A platform id: digits, letters and the few marks Meta's and X's ids use (wamid.…=, m_…, mid.…:…). */
export function platformId(value: unknown, path: string): string {
  const id = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof id !== 'string' || !/^[A-Za-z0-9._:=+/-]{1,400}$/.test(id)) {
    throw new WebhookPayloadError(`${path} is not a platform id`);
  }
  return id;
}

export function num(value: unknown, path: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new WebhookPayloadError(`${path} must be a number`);
  return n;
}

/** Seconds (WhatsApp, strings) or milliseconds (Messenger, numbers) since 1970 as ISO 8601; absent: undefined. */
export function timestamp(value: unknown, path: string, unit: 's' | 'ms'): string | undefined {
  if (value === undefined) return undefined;
  const n = num(value, path) * (unit === 's' ? 1000 : 1);
  const date = new Date(n);
  if (Number.isNaN(date.getTime()) || n < 0) throw new WebhookPayloadError(`${path} is not a time`);
  return date.toISOString();
}

/** The sender as the intake will read it, checked here so a bad one refuses the whole delivery. */
export function checkedIdentity(channel: Channel, raw: string, path: string): string {
  try {
    identityForChannel(channel, raw);
  } catch (err) {
    if (err instanceof AppError) throw new WebhookPayloadError(`${path}: ${err.message}`);
    throw err;
  }
  return raw;
}
