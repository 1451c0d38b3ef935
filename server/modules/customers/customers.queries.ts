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
  `json_build_object('id', ${alias}.id, 'kind', ${alias}.kind, 'platform', ${alias}.platform, 'value', ${alias}.value, 'verified', ${alias}.verified, 'profile', ${alias}.profile)`;
export const CUSTOMER_COLUMNS =
  sql.raw(`c.id, c.name, c.organisation_id, c.language, c.preferred_channel, c.created_at, c.merged_into_id,
  coalesce((select json_agg(${identityJson('i')} order by i.created_at) from customer_identities i
            where i.tenant_id = c.tenant_id and i.customer_id = c.id), '[]'::json) as identities`);

export interface CustomerRow {
  id: string;
  name: string | null;
  organisation_id: string | null;
  language: string | null;
  preferred_channel: string | null;
  created_at: string | Date;
  merged_into_id: string | null;
  identities: Customer['identities'] | string;
}

export function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    name: row.name,
    organisationId: row.organisation_id,
    language: row.language,
    preferredChannel: row.preferred_channel,
    createdAt: new Date(row.created_at).toISOString(),
    mergedIntoId: row.merged_into_id,
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

/** Customers by id, in the order asked; ids not in the tenant are left out. */
export async function listCustomersByIds(db: Executor, tenantId: string, ids: string[]): Promise<Customer[]> {
  if (ids.length === 0) return [];
  const found = await rows<CustomerRow>(
    db,
    sql`select ${CUSTOMER_COLUMNS} from customers c
        where c.tenant_id = ${tenantId} and c.id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`,
  );
  const byId = new Map(found.map((r) => [r.id, toCustomer(r)]));
  return ids.map((id) => byId.get(id)).filter((c): c is Customer => c !== undefined);
}

/** Locks the customer's row for the rest of the transaction: changes to one customer's identities queue up. */
export async function lockCustomer(tx: Executor, tenantId: string, customerId: string) {
  const [row] = await tx
    .select()
    .from(customers)
    .where(and(eq(customers.tenantId, tenantId), eq(customers.id, customerId)))
    .for('update');
  if (!row) throw new AppError('customer_not_found', 'No such customer here');
  return row;
}
