/**
 * An agent records an email address or phone number the customer gave them (a number typed into
 * a chat), so the customer's later mail or texts find this record and its open case. Identities
 * are unique per tenant: one another customer holds is refused, naming that customer, so the two
 * records can be merged instead of an address silently changing hands.
 */
import { and, eq } from 'drizzle-orm';
import type { Customer, IdentityInput } from '../../../shared/api/customers.ts';
import type { Ctx } from '../../context.ts';
import type { Executor } from '../../db/client.ts';
import { cases, customerIdentities } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import type { EventType } from '../../events/catalog.ts';
import { type NewEvent, recordEvents } from '../../events/publish.ts';
import { withRetry } from '../../lib/retry.ts';
import { type ParsedIdentity, parseEmail, parsePhone } from './customers.identity.ts';
import { merged } from './customers.merges.ts';
import { findCustomerIdByIdentity, getCustomer, lockCustomer } from './customers.queries.ts';

/** `added` is false when the customer had the identity already: nothing changed. */
export async function addIdentity(
  ctx: Ctx,
  customerId: string,
  input: IdentityInput,
): Promise<{ customer: Customer; added: boolean }> {
  const identity = parseTyped(input);
  const { tenantId } = ctx;
  // Two adds of one value to two customers at once: the second waits on the unique key, fails
  // with 23505 once the first commits, runs again and finds the first one's holder (409).
  const added = await withRetry(() =>
    ctx.db.transaction(async (tx) => {
      const customer = await lockCustomer(tx, tenantId, customerId);
      if (customer.mergedIntoId) throw merged(customer);
      const holder = await findCustomerIdByIdentity(tx, tenantId, identity);
      if (holder === customer.id) return false;
      if (holder) {
        throw new AppError(
          'identity_taken',
          `${identity.value} belongs to another customer; if they are one person, merge the two`,
          [{ path: 'customerId', message: holder }],
        );
      }
      await tx.insert(customerIdentities).values({ tenantId, customerId: customer.id, ...identity });
      const events = await identityEvents(tx, tenantId, 'customer.identity_added', customer, identity);
      await recordEvents(tx, tenantId, ctx.actor, events);
      return true;
    }),
  );
  return { customer: await getCustomer(ctx.db, tenantId, customerId), added };
}

/** The intake's parsers, with the agent's field named when the value is not an address. */
function parseTyped(input: IdentityInput): ParsedIdentity {
  try {
    return input.kind === 'email' ? parseEmail(input.value) : parsePhone(input.value);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new AppError('identity_value_invalid', err.message, [
      { path: 'body.value', message: err.details?.[0]?.message ?? 'is not valid' },
    ]);
  }
}

/**
 * One event for the customer's record and one on each of their active cases, so the case an
 * agent works on says who added or removed which address.
 */
export async function identityEvents(
  tx: Executor,
  tenantId: string,
  type: Extract<EventType, 'customer.identity_added' | 'customer.identity_removed'>,
  customer: { id: string; name: string | null },
  identity: { kind: string; value: string },
): Promise<NewEvent[]> {
  const active = await tx
    .select({ id: cases.id })
    .from(cases)
    .where(and(eq(cases.tenantId, tenantId), eq(cases.customerId, customer.id), eq(cases.active, true)));
  const data = {
    customerId: customer.id,
    customerName: customer.name,
    kind: identity.kind,
    value: identity.value,
  };
  return [{ type, caseId: null, data }, ...active.map((c) => ({ type, caseId: c.id, data }))];
}
