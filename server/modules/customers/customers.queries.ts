import { and, asc, eq, sql } from 'drizzle-orm';
import type { Customer } from '../../../shared/api/customers.ts';
import { type Executor, rows } from '../../db/client.ts';
import { customerIdentities, customers } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import type { ParsedIdentity } from './customers.identity.ts';

export async function findCustomerIdByIdentity(
  db: Executor,
  tenantId: string,
  identity: ParsedIdentity,
): Promise<string | null> {
  const [row] = await db
    .select({ customerId: customerIdentities.customerId })
    .from(customerIdentities)
    .where(
      and(
        eq(customerIdentities.tenantId, tenantId),
        eq(customerIdentities.kind, identity.kind),
        eq(customerIdentities.platform, identity.platform),
        eq(customerIdentities.value, identity.value),
      ),
    );
  return row?.customerId ?? null;
}

export async function findCustomer(
  db: Executor,
  tenantId: string,
  customerId: string,
): Promise<Customer | null> {
  const [row] = await db
    .select()
    .from(customers)
    .where(and(eq(customers.tenantId, tenantId), eq(customers.id, customerId)));
  if (!row) return null;
  const identities = await db
    .select({
      kind: customerIdentities.kind,
      platform: customerIdentities.platform,
      value: customerIdentities.value,
      verified: customerIdentities.verified,
    })
    .from(customerIdentities)
    .where(and(eq(customerIdentities.tenantId, tenantId), eq(customerIdentities.customerId, customerId)))
    .orderBy(asc(customerIdentities.createdAt));
  return {
    id: row.id,
    name: row.name,
    organisationId: row.organisationId,
    language: row.language,
    preferredChannel: row.preferredChannel,
    createdAt: row.createdAt.toISOString(),
    identities: identities as Customer['identities'],
  };
}

export async function getCustomer(db: Executor, tenantId: string, customerId: string): Promise<Customer> {
  const customer = await findCustomer(db, tenantId, customerId);
  if (!customer) throw new AppError('customer_not_found', 'No such customer here');
  return customer;
}

/** Locks the customer row so concurrent contacts from one customer pick the same open case. */
export async function lockCustomer(
  db: Executor,
  tenantId: string,
  customerId: string,
): Promise<{ name: string | null }> {
  const [row] = await rows<{ name: string | null }>(
    db,
    sql`select name from customers where tenant_id = ${tenantId} and id = ${customerId} for update`,
  );
  if (!row) throw new AppError('customer_not_found', 'No such customer here');
  return row;
}

export async function insertCustomer(
  db: Executor,
  tenantId: string,
  name: string | null,
  identity: ParsedIdentity,
): Promise<string> {
  const [row] = await db.insert(customers).values({ tenantId, name }).returning({ id: customers.id });
  const customerId = row!.id;
  // A concurrent insert of the same identity violates the unique key and the caller retries.
  await db.insert(customerIdentities).values({ tenantId, customerId, ...identity });
  return customerId;
}

export async function setCustomerName(
  db: Executor,
  tenantId: string,
  customerId: string,
  name: string,
): Promise<void> {
  await db
    .update(customers)
    .set({ name, updatedAt: sql`now()` })
    .where(and(eq(customers.tenantId, tenantId), eq(customers.id, customerId)));
}
