import {
  boolean,
  foreignKey,
  index,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, tenantId, ts } from './columns.ts';
import { tenants } from './tenancy.ts';

/** A company or body the customers belong to. */
export const organisations = pgTable(
  'organisations',
  {
    tenantId: tenantId().references(() => tenants.id),
    id: id(),
    name: text('name').notNull(),
    domain: text('domain'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('organisations_domain').on(t.tenantId, t.domain),
  ],
);

export const customers = pgTable(
  'customers',
  {
    tenantId: tenantId().references(() => tenants.id),
    id: id(),
    name: text('name'),
    organisationId: uuid('organisation_id'),
    language: text('language'),
    preferredChannel: text('preferred_channel'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({
      columns: [t.tenantId, t.organisationId],
      foreignColumns: [organisations.tenantId, organisations.id],
    }),
    index('customers_created').on(t.tenantId, t.createdAt.desc(), t.id.desc()),
  ],
);

/** A customer's address on one channel: email, E.164 phone, chat visitor id, social handle, external id. */
export const customerIdentities = pgTable(
  'customer_identities',
  {
    tenantId: tenantId(),
    id: id(),
    customerId: uuid('customer_id').notNull(),
    kind: text('kind').notNull(),
    /** Social platform for `social` handles; '' for every other kind. */
    platform: text('platform').notNull().default(''),
    value: text('value').notNull(),
    verified: boolean('verified').notNull().default(false),
    /** Email: when mail to this address last bounced (a delivery-status report came back). */
    bouncedAt: ts('bounced_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({
      columns: [t.tenantId, t.customerId],
      foreignColumns: [customers.tenantId, customers.id],
    }).onDelete('cascade'),
    uniqueIndex('customer_identities_value').on(t.tenantId, t.kind, t.platform, t.value),
    index('customer_identities_customer').on(t.tenantId, t.customerId),
  ],
);
