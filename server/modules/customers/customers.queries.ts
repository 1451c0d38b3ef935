import { and, eq, sql } from 'drizzle-orm';
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

/** A customer row (alias c) with its identities, oldest first, as one result row. */
const identityJson = (alias: string) =>
  `json_build_object('kind', ${alias}.kind, 'platform', ${alias}.platform, 'value', ${alias}.value, 'verified', ${alias}.verified)`;
const CUSTOMER_COLUMNS =
  sql.raw(`c.id, c.name, c.organisation_id, c.language, c.preferred_channel, c.created_at,
  coalesce((select json_agg(${identityJson('i')} order by i.created_at) from customer_identities i
            where i.tenant_id = c.tenant_id and i.customer_id = c.id), '[]'::json) as identities`);

interface CustomerRow {
  id: string;
  name: string | null;
  organisation_id: string | null;
  language: string | null;
  preferred_channel: string | null;
  created_at: string | Date;
  identities: Customer['identities'] | string;
}

function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    name: row.name,
    organisationId: row.organisation_id,
    language: row.language,
    preferredChannel: row.preferred_channel,
    createdAt: new Date(row.created_at).toISOString(),
    identities: typeof row.identities === 'string' ? JSON.parse(row.identities) : row.identities,
  };
}

export async function findCustomer(
  db: Executor,
  tenantId: string,
  customerId: string,
): Promise<Customer | null> {
  const [row] = await rows<CustomerRow>(
    db,
    sql`select ${CUSTOMER_COLUMNS} from customers c where c.tenant_id = ${tenantId} and c.id = ${customerId}`,
  );
  return row ? toCustomer(row) : null;
}

export async function getCustomer(db: Executor, tenantId: string, customerId: string): Promise<Customer> {
  const customer = await findCustomer(db, tenantId, customerId);
  if (!customer) throw new AppError('customer_not_found', 'No such customer here');
  return customer;
}

/**
 * The customer with this identity, found and row-locked in one round trip (so concurrent contacts
 * from one customer take turns and pick the same case); null when nobody has the identity yet.
 */
export async function lockCustomerByIdentity(
  db: Executor,
  tenantId: string,
  identity: ParsedIdentity,
): Promise<Customer | null> {
  const [row] = await rows<CustomerRow>(
    db,
    sql`select ${CUSTOMER_COLUMNS} from customers c
        where c.tenant_id = ${tenantId} and c.id = (
          select customer_id from customer_identities where tenant_id = ${tenantId}
            and kind = ${identity.kind} and platform = ${identity.platform} and value = ${identity.value})
        for update of c`,
  );
  return row ? toCustomer(row) : null;
}

/** A new customer with one identity, in one statement; returns it as findCustomer would. */
export async function insertCustomer(
  db: Executor,
  tenantId: string,
  name: string | null,
  identity: ParsedIdentity,
): Promise<Customer> {
  // A concurrent insert of the same identity violates the unique key, nothing is kept, and the
  // caller retries.
  const [row] = await rows<CustomerRow>(
    db,
    sql`with c as (insert into customers (tenant_id, name) values (${tenantId}, ${name}) returning *),
        i as (insert into customer_identities (tenant_id, customer_id, kind, platform, value)
              select ${tenantId}, c.id, ${identity.kind}, ${identity.platform}, ${identity.value} from c
              returning kind, platform, value, verified)
        select c.id, c.name, c.organisation_id, c.language, c.preferred_channel, c.created_at,
               json_build_array(${sql.raw(identityJson('i'))}) as identities
        from c, i`,
  );
  return toCustomer(row!);
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
