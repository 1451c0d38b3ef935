import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { platformChannelTypes } from '../../../shared/api/channel-settings.ts';
import type { Channel, ImapStatus } from '../../../shared/api/channels.ts';
import type { Executor } from '../../db/client.ts';
import { channels, imapMailboxes } from '../../db/schema/index.ts';
import { imapMailboxKey, storedImap } from './channels.imap.ts';
import { webhookPath, webhookUrl } from './channels.platform.ts';
import { secretsSet } from './channels.secrets.ts';

export type ChannelRow = typeof channels.$inferSelect;

/**
 * The API's view of a channel: the IMAP password only as `passwordSet`, secrets only by name,
 * the webhook a platform posts to, plus the mailbox's last poll.
 */
export function toChannel(
  row: ChannelRow,
  imapStatus: ImapStatus | null = null,
  publicBase: string | null = null,
): Channel {
  const hooked = (platformChannelTypes as readonly string[]).includes(row.type);
  const { imap: _imap, ...rest } = row.settings as Record<string, unknown>;
  const imap = storedImap(row.settings);
  return {
    id: row.id,
    type: row.type as Channel['type'],
    name: row.name,
    address: row.address,
    settings: {
      ...(rest as Channel['settings']),
      ...(imap ? { imap: { ...imap, passwordSet: row.imapPassword !== null } } : {}),
    },
    secretsSet: secretsSet(row.secrets),
    webhookPath: hooked ? webhookPath(row.id) : null,
    webhookUrl: hooked ? webhookUrl(row, publicBase) : null,
    imapStatus: imap
      ? (imapStatus ?? { state: 'waiting', error: null, polledAt: null, lastSuccessAt: null })
      : null,
    active: row.active,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Channels as the API shows them, each with its mailbox's last poll (for the folder it reads now). */
export async function channelViews(
  db: Executor,
  tenantId: string,
  rows: ChannelRow[],
  publicBase: string | null = null,
): Promise<Channel[]> {
  const polling = rows.filter((r) => storedImap(r.settings));
  const polled =
    polling.length === 0
      ? []
      : await db
          .select()
          .from(imapMailboxes)
          .where(
            and(
              eq(imapMailboxes.tenantId, tenantId),
              inArray(
                imapMailboxes.channelId,
                polling.map((r) => r.id),
              ),
            ),
          );
  return rows.map((row) => {
    const imap = storedImap(row.settings);
    const mailbox =
      imap &&
      polled.find(
        (m) => m.channelId === row.id && m.folder === imap.folder && m.mailboxKey === imapMailboxKey(imap),
      );
    // A row left by another mailbox (host or user changed) says nothing about this one yet.
    if (!mailbox?.polledAt) return toChannel(row, null, publicBase);
    return toChannel(
      row,
      {
        state: mailbox.pollError ? 'error' : 'ok',
        error: mailbox.pollError,
        polledAt: mailbox.polledAt.toISOString(),
        lastSuccessAt: mailbox.lastSuccessAt?.toISOString() ?? null,
      },
      publicBase,
    );
  });
}

export async function listChannels(db: Executor, tenantId: string): Promise<ChannelRow[]> {
  return db.select().from(channels).where(eq(channels.tenantId, tenantId)).orderBy(asc(channels.name));
}

export async function findChannel(db: Executor, tenantId: string, id: string): Promise<ChannelRow | null> {
  const [row] = await db
    .select()
    .from(channels)
    .where(and(eq(channels.tenantId, tenantId), eq(channels.id, id)));
  return row ?? null;
}

/** `support+anything@x` → `support@x`: plus-addressed replies belong to the base address. */
export function baseAddress(address: string): string {
  return address.replace(/\+[^@]*@/, '@');
}

/**
 * The active email channel an address belongs to, in any tenant: inbound mail is routed by its
 * recipient before anyone knows the tenant. Plus-addressed replies (support+token@…) match
 * their base address.
 */
export async function findEmailChannelByAddress(db: Executor, address: string): Promise<ChannelRow | null> {
  const lower = address.trim().toLowerCase();
  const base = baseAddress(lower);
  const [row] = await db
    .select()
    .from(channels)
    .where(
      and(
        eq(channels.type, 'email'),
        eq(channels.active, true),
        sql`${channels.address} in (${lower}, ${base})`,
      ),
    )
    .limit(1);
  return row ?? null;
}

/**
 * Every active email channel that polls an IMAP mailbox, in every tenant: the pollers run for
 * the whole installation, before any request names a tenant.
 */
export async function listImapChannels(db: Executor): Promise<ChannelRow[]> {
  return db
    .select()
    .from(channels)
    .where(
      and(
        eq(channels.type, 'email'),
        eq(channels.active, true),
        sql`${channels.settings} ? 'imap'`,
        sql`${channels.imapPassword} is not null`,
      ),
    );
}

/**
 * A channel by id in any tenant: a platform's webhook names the channel before anyone knows the
 * tenant. The caller checks type and active.
 */
export async function findChannelAnyTenant(db: Executor, id: string): Promise<ChannelRow | null> {
  const [row] = await db.select().from(channels).where(eq(channels.id, id)).limit(1);
  return row ?? null;
}
