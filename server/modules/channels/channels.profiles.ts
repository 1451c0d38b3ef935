/**
 * What a platform says about the sender of an inbound message — an X screen name, follower count
 * and "verified" badge, a WhatsApp display name — kept on their identity
 * (customer_identities.profile) for agents to read. Information only: nothing reads it for
 * priority, routing or SLA (tests/no-loudness-bonus.test.ts). The latest message's profile wins.
 */
import { sql } from 'drizzle-orm';
import type { Channel } from '../../../shared/domain/channels.ts';
import { type Executor, rows } from '../../db/client.ts';
import { identityForChannel } from '../customers/customers.identity.ts';
import type { InboundContact } from './platforms/platform.ts';

/** Called by the webhook pipeline after the contacts are stored (their identities exist then). */
export async function recordProfiles(
  db: Executor,
  channel: { tenantId: string; type: string },
  contacts: readonly InboundContact[],
): Promise<number> {
  let updated = 0;
  for (const c of contacts) {
    const profile = c.attributes.profile;
    if (!profile || Object.keys(profile).length === 0) continue;
    const { kind, platform, value } = identityForChannel(channel.type as Channel, c.identity);
    // customer_identities_value (tenant_id, kind, platform, value); unchanged profiles are not rewritten.
    const changed = await rows<{ id: string }>(
      db,
      sql`update customer_identities set profile = ${JSON.stringify(profile)}::jsonb
          where tenant_id = ${channel.tenantId} and kind = ${kind} and platform = ${platform} and value = ${value}
            and profile is distinct from ${JSON.stringify(profile)}::jsonb
          returning id`,
    );
    updated += changed.length;
  }
  return updated;
}
