/**
 * An agent removes an email address or phone number recorded on a customer by mistake. Other
 * identities (a chat visitor id, a social account, an external id) are the channel's own keys and
 * stay; a customer keeps at least one identity, the way their contacts find them.
 */
import { and, eq } from 'drizzle-orm';
import type { Customer } from '../../../shared/api/customers.ts';
import type { Ctx } from '../../context.ts';
import { customerIdentities } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { recordEvents } from '../../events/publish.ts';
import { identityEvents } from './add-identity.ts';
import { merged } from './customers.merges.ts';
import { getCustomer, lockCustomer } from './customers.queries.ts';

export async function removeIdentity(ctx: Ctx, customerId: string, identityId: string): Promise<Customer> {
  const { tenantId } = ctx;
  await ctx.db.transaction(async (tx) => {
    // The customer's lock orders removals: two at once cannot both leave the other as the last.
    const customer = await lockCustomer(tx, tenantId, customerId);
    if (customer.mergedIntoId) throw merged(customer);
    const held = await tx
      .select()
      .from(customerIdentities)
      .where(and(eq(customerIdentities.tenantId, tenantId), eq(customerIdentities.customerId, customer.id)));
    const target = held.find((i) => i.id === identityId);
    if (!target) throw new AppError('identity_not_found', 'This customer has no such identity');
    if (target.kind !== 'email' && target.kind !== 'phone') {
      throw new AppError(
        'identity_not_removable',
        'Only email addresses and phone numbers can be removed; this identity is how its channel knows the customer',
      );
    }
    if (held.length === 1) {
      throw new AppError(
        'last_identity',
        `${target.value} is this customer’s only identity; their contacts find them by it`,
      );
    }
    await tx
      .delete(customerIdentities)
      .where(and(eq(customerIdentities.tenantId, tenantId), eq(customerIdentities.id, target.id)));
    await recordEvents(
      tx,
      tenantId,
      ctx.actor,
      await identityEvents(tx, tenantId, 'customer.identity_removed', customer, target),
    );
  });
  return getCustomer(ctx.db, tenantId, customerId);
}
