import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, tenantId, ts } from './columns.ts';
import { customers } from './customers.ts';
import { teams, users } from './tenancy.ts';

/**
 * One problem, one owner. `active` (new/open/pending) drives every inbox view; each list
 * index leads with the filter columns and ends with (updated_at, id) so pages walk it in order.
 */
export const cases = pgTable(
  'cases',
  {
    // No foreign key to tenants: the one to customers (same tenant_id) already implies it, and
    // each would take a share lock on the one tenant row for every new case.
    tenantId: tenantId(),
    id: id(),
    number: integer('number').notNull(),
    subject: text('subject').notNull(),
    status: text('status').notNull().default('new'),
    active: boolean('active').notNull().generatedAlwaysAs(sql`status in ('new', 'open', 'pending')`),
    priority: text('priority').notNull().default('normal'),
    reason: text('reason'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    ownerId: uuid('owner_id'),
    teamId: uuid('team_id'),
    customerId: uuid('customer_id').notNull(),
    /** Channel of the first contact. */
    channel: text('channel').notNull(),
    contactCount: integer('contact_count').notNull().default(0),
    repeatContactCount: integer('repeat_contact_count').notNull().default(0),
    reopenCount: integer('reopen_count').notNull().default(0),
    lastContactAt: ts('last_contact_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    firstResponseAt: ts('first_response_at'),
    resolvedAt: ts('resolved_at'),
    closedAt: ts('closed_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('cases_number').on(t.tenantId, t.number),
    foreignKey({ columns: [t.tenantId, t.customerId], foreignColumns: [customers.tenantId, customers.id] }),
    foreignKey({ columns: [t.tenantId, t.ownerId], foreignColumns: [users.tenantId, users.id] }),
    foreignKey({ columns: [t.tenantId, t.teamId], foreignColumns: [teams.tenantId, teams.id] }),
    index('cases_recent').on(t.tenantId, t.updatedAt.desc(), t.id.desc()),
    index('cases_active').on(t.tenantId, t.active, t.updatedAt.desc(), t.id.desc()),
    index('cases_status').on(t.tenantId, t.status, t.updatedAt.desc(), t.id.desc()),
    index('cases_owner').on(t.tenantId, t.ownerId, t.active, t.updatedAt.desc(), t.id.desc()),
    index('cases_team').on(t.tenantId, t.teamId, t.active, t.updatedAt.desc(), t.id.desc()),
    index('cases_unassigned')
      .on(t.tenantId, t.active, t.updatedAt.desc(), t.id.desc())
      .where(sql`owner_id is null`),
    index('cases_customer').on(t.tenantId, t.customerId, t.updatedAt.desc(), t.id.desc()),
    index('cases_channel').on(t.tenantId, t.channel, t.active, t.updatedAt.desc(), t.id.desc()),
  ],
);

/** A thread with the customer on one channel within a case (an email thread, a chat, an SMS exchange). */
export const conversations = pgTable(
  'conversations',
  {
    tenantId: tenantId(),
    id: id(),
    caseId: uuid('case_id').notNull(),
    customerId: uuid('customer_id').notNull(),
    channel: text('channel').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.caseId], foreignColumns: [cases.tenantId, cases.id] }),
    uniqueIndex('conversations_case_channel').on(t.tenantId, t.caseId, t.channel),
  ],
);

/** Inbound (from the customer), outbound (a reply) or note (internal, never sent). */
export const messages = pgTable(
  'messages',
  {
    tenantId: tenantId(),
    id: id(),
    caseId: uuid('case_id').notNull(),
    conversationId: uuid('conversation_id'),
    kind: text('kind').notNull(),
    channel: text('channel').notNull(),
    authorUserId: uuid('author_user_id'),
    authorCustomerId: uuid('author_customer_id'),
    text: text('text').notNull(),
    /**
     * What the channel adds to an outbound message: X reply visibility (public / direct),
     * a WhatsApp template and its parameters, a call's direction and outcome. Null for most.
     */
    metadata: jsonb('metadata'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.caseId], foreignColumns: [cases.tenantId, cases.id] }),
    foreignKey({
      columns: [t.tenantId, t.conversationId],
      foreignColumns: [conversations.tenantId, conversations.id],
    }),
    foreignKey({ columns: [t.tenantId, t.authorUserId], foreignColumns: [users.tenantId, users.id] }),
    index('messages_case').on(t.tenantId, t.caseId, t.createdAt),
  ],
);

/** One inbound touch by a customer, on any channel; idempotent on (channel, external_id). */
export const contacts = pgTable(
  'contacts',
  {
    tenantId: tenantId(),
    id: id(),
    caseId: uuid('case_id').notNull(),
    customerId: uuid('customer_id').notNull(),
    messageId: uuid('message_id').notNull(),
    channel: text('channel').notNull(),
    externalId: text('external_id'),
    repeat: boolean('repeat').notNull(),
    /**
     * A further line of a conversation already counted as a contact (a live chat session):
     * stored and shown like any inbound message, but it is not a new contact of the case.
     */
    continuation: boolean('continuation').notNull().default(false),
    attributes: jsonb('attributes').notNull().default({}),
    receivedAt: ts('received_at').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.caseId], foreignColumns: [cases.tenantId, cases.id] }),
    foreignKey({ columns: [t.tenantId, t.customerId], foreignColumns: [customers.tenantId, customers.id] }),
    foreignKey({ columns: [t.tenantId, t.messageId], foreignColumns: [messages.tenantId, messages.id] }),
    uniqueIndex('contacts_external').on(t.tenantId, t.channel, t.externalId),
    index('contacts_case').on(t.tenantId, t.caseId, t.receivedAt),
  ],
);

/**
 * Inbox badge counts, maintained in the same transaction as the case change. Each count is
 * spread over a few shards so concurrent intake does not queue on one row; a badge sums ≤ 8 rows.
 * view: 'all' | 'unassigned' | 'owner' | 'team'; subject_id is the owner/team (nil uuid otherwise).
 */
export const inboxCounters = pgTable(
  'inbox_counters',
  {
    tenantId: tenantId(),
    view: text('view').notNull(),
    subjectId: uuid('subject_id').notNull(),
    shard: smallint('shard').notNull(),
    count: bigint('count', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.view, t.subjectId, t.shard] })],
);

/**
 * Domain events, written in the same transaction as the state they describe. A trigger announces
 * each one by NOTIFY, delivered on commit (realtime); the timeline reads them.
 */
export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    type: text('type').notNull(),
    caseId: uuid('case_id'),
    actorType: text('actor_type').notNull(),
    actorId: uuid('actor_id'),
    data: jsonb('data').notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('events_case').on(t.tenantId, t.caseId, t.id)],
);
