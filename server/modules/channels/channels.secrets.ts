/**
 * A channel's platform credentials (channels.secrets): each sealed under its name and bound to
 * its row, so a value copied to another channel, tenant or name does not open. Write-only: the
 * API says which names are set (`secretsSet`), never a value.
 */
import { openSecret, sealSecret } from '../../lib/secrets.ts';

/** The sealed value's context; the web chat widget opens its identity secret with the same one. */
export const channelSecretContext = (tenantId: string, channelId: string, name: string) =>
  `channel-secret:${tenantId}:${channelId}:${name}`;

/** key: deriveKey(app secret, 'channel-secrets'). */
export function sealChannelSecret(
  key: Buffer,
  tenantId: string,
  channelId: string,
  name: string,
  value: string,
) {
  return sealSecret(key, value, channelSecretContext(tenantId, channelId, name));
}

/** The opened secret, or null when it is not set or does not open (the server secret changed). */
export function openChannelSecret(
  key: Buffer,
  row: { tenantId: string; id: string; secrets: unknown },
  name: string,
): string | null {
  const sealed = (row.secrets as Record<string, unknown> | null)?.[name];
  if (typeof sealed !== 'string' || sealed === '') return null;
  try {
    return openSecret(key, sealed, channelSecretContext(row.tenantId, row.id, name));
  } catch {
    return null;
  }
}

/** The names of the secrets a channel has, for the API. */
export function secretsSet(secrets: unknown): string[] {
  return Object.entries((secrets as Record<string, unknown> | null) ?? {})
    .filter(([, v]) => typeof v === 'string' && v !== '')
    .map(([k]) => k)
    .sort();
}

/**
 * The secrets to store after a write: a value seals and replaces, null removes, an absent name
 * keeps what is stored.
 */
export function applySecrets(
  key: Buffer,
  row: { tenantId: string; id: string },
  current: unknown,
  input: Record<string, string | null | undefined> | undefined,
): Record<string, string> {
  const next = { ...((current as Record<string, string> | null) ?? {}) };
  for (const [name, value] of Object.entries(input ?? {})) {
    if (value === undefined) continue;
    if (value === null) delete next[name];
    else next[name] = sealChannelSecret(key, row.tenantId, row.id, name, value);
  }
  return next;
}
