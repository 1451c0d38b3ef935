/**
 * A platform channel's public face: where its webhook is, and the channel as its adapter sees
 * it (platforms/platform.ts PlatformChannel), secrets opened on demand.
 */
import type { PlatformChannelType } from '../../../shared/api/channel-settings.ts';
import type { ChannelRow } from './channels.queries.ts';
import { openChannelSecret } from './channels.secrets.ts';
import type { PlatformChannel } from './platforms/platform.ts';

export const webhookPath = (channelId: string) => `/webhooks/v1/channels/${channelId}`;

/**
 * The URL the platform is told to call: the channel's settings.publicUrl, else the server's
 * public URL (RAPPORT_PUBLIC_URL) + the webhook path; null when neither is known.
 */
export function webhookUrl(
  row: Pick<ChannelRow, 'id' | 'settings'>,
  publicBase: string | null,
): string | null {
  const own = (row.settings as { publicUrl?: unknown } | null)?.publicUrl;
  if (typeof own === 'string' && own) return own;
  return publicBase ? `${publicBase.replace(/\/+$/, '')}${webhookPath(row.id)}` : null;
}

/**
 * Secrets opened per channel row and key. The webhook routes keep a channel's row for seconds
 * and fetch a new one when the channel changes, so each delivery no longer decrypts the secret
 * it checks the signature with (a fifth of a webhook's own CPU time).
 */
const opened = new WeakMap<ChannelRow, { key: Buffer; secrets: Map<string, string | null> }>();

function openedSecret(key: Buffer, row: ChannelRow, name: string): string | null {
  let entry = opened.get(row);
  if (entry?.key !== key) {
    entry = { key, secrets: new Map() };
    opened.set(row, entry);
  }
  let secret = entry.secrets.get(name);
  if (secret === undefined) {
    secret = openChannelSecret(key, row, name);
    entry.secrets.set(name, secret);
  }
  return secret;
}

export function platformChannel(row: ChannelRow, key: Buffer, publicBase: string | null): PlatformChannel {
  return {
    tenantId: row.tenantId,
    id: row.id,
    type: row.type as PlatformChannelType,
    address: row.address,
    settings: (row.settings as Record<string, unknown>) ?? {},
    secret: (name) => openedSecret(key, row, name),
    webhookUrl: webhookUrl(row, publicBase),
  };
}
