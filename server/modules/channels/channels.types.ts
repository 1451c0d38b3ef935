/**
 * The rules of each channel type beyond email: what its address looks like, which settings it
 * takes (shared/api/channel-settings.ts, chat.ts) and which secrets. Settings and secrets are
 * checked here rather than at the HTTP boundary because which schema applies depends on the
 * channel's type, which a PATCH does not repeat.
 */
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import {
  channelSecretNames,
  type PlatformChannelType,
  platformSettings,
  secretsInput,
} from '../../../shared/api/channel-settings.ts';
import type { ChannelType } from '../../../shared/api/channels.ts';
import { ChatChannelSettings } from '../../../shared/api/chat.ts';
import { AppError } from '../../errors.ts';
import { EgressRefused, resolveEgressUrl } from '../../lib/egress.ts';
import { parseEmail, parsePhone } from '../customers/customers.identity.ts';

type Detail = { path: string; message: string };

/** Checks a value against a schema, answering as the HTTP boundary would (400 with paths). */
export function checkShape<T>(schema: TSchema, value: unknown, base: string): T {
  if (Value.Check(schema, value)) return value as T;
  const details: Detail[] = [];
  let unknown = false;
  for (const e of Value.Errors(schema, value)) {
    if (e.keyword === 'boolean') continue;
    const path = `${base}${e.instancePath.replaceAll('/', '.')}`;
    if (e.keyword === 'additionalProperties') {
      unknown = true;
      for (const field of (e.params as { additionalProperties: string[] }).additionalProperties)
        details.push({ path: `${path}.${field}`, message: `unknown field "${field}"` });
    } else {
      details.push({ path, message: e.message });
    }
  }
  const first = details[0] ?? { path: base, message: 'is invalid' };
  throw new AppError(
    unknown ? 'unknown_field' : 'validation_failed',
    `${first.path} ${first.message}`,
    details,
  );
}

const invalidAddress = (path: string, message: string) =>
  new AppError('validation_failed', `${path} ${message}`, [{ path, message }]);

/** The channel's address in its stored form, or null for chat (which has none). */
export function channelAddress(
  type: ChannelType,
  raw: string | undefined,
  path = 'body.address',
): string | null {
  if (type === 'chat') {
    if (raw !== undefined) throw invalidAddress(path, 'a chat channel has no address');
    return null;
  }
  if (raw === undefined) throw invalidAddress(path, 'is required');
  const value = raw.trim();
  switch (type) {
    case 'email':
      try {
        return parseEmail(value).value;
      } catch {
        throw invalidAddress(path, 'must be an email address');
      }
    case 'sms':
    case 'phone':
      try {
        return parsePhone(value).value;
      } catch {
        throw invalidAddress(path, 'must be a phone number in E.164 form, such as +447700900123');
      }
    default:
      // WhatsApp phone number ids, page ids, Instagram and X account ids: digits only.
      if (!/^[0-9]{1,30}$/.test(value))
        throw invalidAddress(path, `must be the ${type} account's numeric id`);
      return value;
  }
}

/** The settings schema of a non-email type. */
export function settingsSchema(type: Exclude<ChannelType, 'email'>): TSchema {
  return type === 'chat' ? ChatChannelSettings : platformSettings[type as PlatformChannelType];
}

/**
 * A non-email channel's settings after a write: each field given replaces that field, null
 * removes it; the result must be valid for the type as a whole.
 */
export function mergeSettings(
  type: Exclude<ChannelType, 'email'>,
  current: Record<string, unknown>,
  input: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const next = { ...current };
  for (const [k, v] of Object.entries(input ?? {})) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return checkShape(settingsSchema(type), next, 'body.settings');
}

/** The secrets written, checked against the names the type takes. */
export function checkSecrets(
  type: ChannelType,
  input: Record<string, string | null> | undefined,
): Record<string, string | null> | undefined {
  if (input === undefined) return undefined;
  return checkShape(secretsInput(channelSecretNames[type]), input, 'body.secrets');
}

/**
 * SS-01 when saved: an API base URL whose host is, or resolves to, an address Rapport does not
 * connect to (loopback, private, link-local, metadata; server/lib/egress.ts) is refused. A name
 * that does not resolve yet may be saved; every send checks again.
 */
export async function refuseUnreachableUrl(settings: unknown, path = 'body.settings.apiBaseUrl') {
  const url = (settings as { apiBaseUrl?: unknown } | null | undefined)?.apiBaseUrl;
  if (typeof url !== 'string') return;
  try {
    await resolveEgressUrl(url);
  } catch (err) {
    // Not a URL at all is the settings check's to say; a name that does not resolve yet may wait.
    if (!(err instanceof EgressRefused) || err.kind !== 'forbidden') return;
    throw new AppError('destination_refused', `Rapport will not connect to ${err.message}`, [
      { path, message: 'must be a public host (or in RAPPORT_EGRESS_ALLOW)' },
    ]);
  }
}
