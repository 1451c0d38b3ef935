/**
 * Turns the identity a channel hands us into its canonical form, or says exactly why not.
 * Canonical forms: lower-case email, E.164 phone, opaque chat id, lower-case social handle.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Channel, IdentityKind } from '../../../shared/domain/channels.ts';
import { AppError } from '../../errors.ts';

export interface ParsedIdentity {
  kind: IdentityKind;
  platform: string;
  value: string;
}

const EMAIL = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;.]{2,}$/;
const OPAQUE = /^[A-Za-z0-9._:@-]{1,128}$/;

function invalid(raw: string, what: string): AppError {
  return new AppError('identity_invalid', `"${raw.slice(0, 80)}" is not ${what}`, [
    { path: 'body.from.identity', message: `must be ${what}` },
  ]);
}

export function parseEmail(raw: string): ParsedIdentity {
  const value = raw.trim().toLowerCase();
  if (value.length > 254 || !EMAIL.test(value)) throw invalid(raw, 'an email address');
  return { kind: 'email', platform: '', value };
}

export function parsePhone(raw: string): ParsedIdentity {
  const trimmed = raw.trim();
  const phone = trimmed.startsWith('+') ? parsePhoneNumberFromString(trimmed) : undefined;
  if (!phone?.isValid()) throw invalid(raw, 'a phone number in E.164 form, such as +447911123456');
  return { kind: 'phone', platform: '', value: phone.number };
}

export function identityForChannel(channel: Channel, raw: string): ParsedIdentity {
  const trimmed = raw.trim();
  switch (channel) {
    case 'email':
      return parseEmail(trimmed);
    case 'sms':
    case 'whatsapp':
    case 'phone':
      return parsePhone(trimmed);
    case 'chat':
      if (!OPAQUE.test(trimmed)) throw invalid(raw, 'a chat visitor id (letters, digits, . _ : - up to 128)');
      return { kind: 'chat', platform: '', value: trimmed };
    case 'x':
    case 'instagram':
    case 'messenger': {
      const handle = channel === 'messenger' ? trimmed : trimmed.replace(/^@/, '').toLowerCase();
      if (!/^[A-Za-z0-9_.-]{1,100}$/.test(handle)) throw invalid(raw, `a ${channel} handle or id`);
      return { kind: 'social', platform: channel, value: handle };
    }
    case 'portal':
    case 'api':
      return parseAnyIdentity(trimmed);
  }
}

/**
 * An identity written without a channel: `a@b.example` (email), `+44…` (phone), or a prefixed
 * form `chat:<id>`, `x:@handle`, `instagram:<id>`, `messenger:<id>`, `ext:<id>` (external id).
 */
export function parseAnyIdentity(raw: string): ParsedIdentity {
  const trimmed = raw.trim();
  if (trimmed.startsWith('+')) return parsePhone(trimmed);
  const colon = trimmed.indexOf(':');
  const prefix = colon > 0 ? trimmed.slice(0, colon) : '';
  const rest = trimmed.slice(colon + 1);
  if (prefix === 'chat' || prefix === 'x' || prefix === 'instagram' || prefix === 'messenger') {
    return identityForChannel(prefix, rest);
  }
  if (prefix === 'ext') {
    if (!OPAQUE.test(rest)) throw invalid(raw, 'an external id (letters, digits, . _ : @ - up to 128)');
    return { kind: 'external', platform: '', value: rest };
  }
  if (trimmed.includes('@')) return parseEmail(trimmed);
  if (!OPAQUE.test(trimmed)) throw invalid(raw, 'an email address, +E.164 phone number or external id');
  return { kind: 'external', platform: '', value: trimmed };
}
