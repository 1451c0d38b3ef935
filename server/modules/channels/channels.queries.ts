import { and, asc, eq, sql } from 'drizzle-orm';
import type { Channel } from '../../../shared/api/channels.ts';
import type { Executor } from '../../db/client.ts';
import { channels } from '../../db/schema/index.ts';

export type ChannelRow = typeof channels.$inferSelect;

export function toChannel(row: ChannelRow): Channel {
  return {
    id: row.id,
    type: row.type as Channel['type'],
    name: row.name,
    address: row.address,
    settings: row.settings as Channel['settings'],
    active: row.active,
    createdAt: row.createdAt.toISOString(),
  };
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
