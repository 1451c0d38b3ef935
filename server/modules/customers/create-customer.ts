/**
 * A customer created before their first contact (a chat visitor opening the widget), with the
 * identities a channel vouches for. Identities are unique per tenant: one that is `ifFree` is
 * added only when no customer has it yet, so a claim never attaches to someone else's record.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Actor } from '../../context.ts';
import type { Executor } from '../../db/client.ts';
import { customerIdentities, customers } from '../../db/schema/index.ts';
import { recordEvents } from '../../events/publish.ts';
import { sqlState } from '../../lib/retry.ts';
import type { ParsedIdentity } from './customers.identity.ts';
import { findCustomerIdByIdentity } from './customers.queries.ts';

export interface NewIdentity extends ParsedIdentity {
  verified: boolean;
  /** Added only if no customer of the tenant has it; otherwise left out, silently. */
  ifFree?: boolean;
}

export interface NewCustomer {
  name: string | null;
  preferredChannel?: string | null;
  /** The first one names the customer in its `customer.created` event; it must be free. */
  identities: [NewIdentity, ...NewIdentity[]];
}

/** Creates the customer and its identities with their event; throws 23505 when the first identity is taken. */
export async function createCustomer(
  db: Executor,
  tenantId: string,
  input: NewCustomer,
  actor: Actor,
): Promise<{ id: string }> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(customers)
      .values({ tenantId, name: input.name, preferredChannel: input.preferredChannel ?? null })
      .returning({ id: customers.id });
    const id = row!.id;
    for (const identity of input.identities) {
      const insert = tx.insert(customerIdentities).values({
        tenantId,
        customerId: id,
        kind: identity.kind,
        platform: identity.platform,
        value: identity.value,
        verified: identity.verified,
      });
      await (identity.ifFree ? insert.onConflictDoNothing() : insert);
    }
    const first = input.identities[0];
    await recordEvents(tx, tenantId, actor, [
      {
        type: 'customer.created',
        data: { customerId: id, identity: { kind: first.kind, value: first.value } },
      },
    ]);
    return { id };
  });
}

/**
 * The customer with this identity, or a new one holding it (verified). Two first visits at once
 * race on the identity's unique key; the loser finds the winner's customer.
 */
export async function findOrCreateCustomer(
  db: Executor,
  tenantId: string,
  identity: ParsedIdentity,
  name: string | null,
  actor: Actor,
): Promise<{ id: string; created: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const found = await findCustomerIdByIdentity(db, tenantId, identity);
    if (found) return { id: found, created: false };
    try {
      const { id } = await createCustomer(
        db,
        tenantId,
        { name, identities: [{ ...identity, verified: true }] },
        actor,
      );
      return { id, created: true };
    } catch (err) {
      if (sqlState(err) !== '23505' || attempt >= 2) throw err;
    }
  }
}

/** Records how the customer wants to be answered, unless they already said. */
export async function preferChannelIfUnset(
  db: Executor,
  tenantId: string,
  customerId: string,
  channel: string,
) {
  await db
    .update(customers)
    .set({ preferredChannel: channel, updatedAt: sql`now()` })
    .where(
      and(eq(customers.tenantId, tenantId), eq(customers.id, customerId), isNull(customers.preferredChannel)),
    );
}
