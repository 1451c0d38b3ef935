import {
  boolean,
  foreignKey,
  index,
  jsonb,
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
    // No foreign key to tenants (as on cases): the intake creates customers concurrently, and
    // each key check would take a share lock on the one tenant row (migration 0010).
    tenantId: tenantId(),
    id: id(),
    name: text('name'),
    organisationId: uuid('organisation_id'),
    language: text('language'),
    preferredChannel: text('preferred_channel'),
    /** Set when this customer was merged into another (customer_merges); such a row is history. */
    mergedIntoId: uuid('merged_into_id'),
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
    /**
     * What the platform says about this account (display name, follower count, "verified"
     * badge, avatar): shown to agents as information only, never used for priority or routing.
     */
    profile: jsonb('profile'),
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

/**
 * Two customer records an agent confirmed to be one person. `moved` lists what went from the
 * merged customer to the survivor (identity, case, conversation, contact, message ids and the
 * merged record's own fields), so a wrong merge can be split back exactly.
 */
export const customerMerges = pgTable(
  'customer_merges',
  {
    tenantId: tenantId(),
    id: id(),
    survivorId: uuid('survivor_id').notNull(),
    mergedId: uuid('merged_id').notNull(),
    moved: jsonb('moved').notNull(),
    mergedBy: uuid('merged_by'),
    mergedAt: ts('merged_at').notNull().defaultNow(),
    splitBy: uuid('split_by'),
    splitAt: ts('split_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.survivorId], foreignColumns: [customers.tenantId, customers.id] }),
    foreignKey({ columns: [t.tenantId, t.mergedId], foreignColumns: [customers.tenantId, customers.id] }),
    index('customer_merges_survivor').on(t.tenantId, t.survivorId),
    index('customer_merges_merged').on(t.tenantId, t.mergedId),
  ],
);

/** A suggested match an agent said is not the same person: not suggested again. Pair ordered a < b. */
export const customerMatchDismissals = pgTable(
  'customer_match_dismissals',
  {
    tenantId: tenantId(),
    customerA: uuid('customer_a').notNull(),
    customerB: uuid('customer_b').notNull(),
    dismissedBy: uuid('dismissed_by'),
    dismissedAt: ts('dismissed_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.customerA, t.customerB] })],
);
