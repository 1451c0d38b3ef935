/**
 * A tenant's channels (support addresses, chat widgets, SMS numbers, messaging and social
 * accounts) and what the non-email channels share: replies delivered to a platform's API, and
 * live chat sessions of the web widget.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { cases, conversations, messages } from './cases.ts';
import { id, tenantId, ts } from './columns.ts';
import { customers } from './customers.ts';
import { tenants } from './tenancy.ts';

export const channels = pgTable(
  'channels',
  {
    tenantId: tenantId().references(() => tenants.id),
    id: id(),
    /** email | chat | sms | whatsapp | messenger | instagram | x | phone (shared/domain/channels.ts). */
    type: text('type').notNull(),
    name: text('name').notNull(),
    /**
     * The channel's own address on its platform, which routes inbound traffic to it: the support
     * email address (lower-case), the SMS or voice number (E.164), the WhatsApp phone number id,
     * the Facebook page id, the Instagram account id, the X account id. Unique per type.
     */
    address: text('address'),
    /** Per type: acknowledgement, IMAP mailbox, business hours, API base URL, … Never secrets. */
    settings: jsonb('settings').notNull().default({}),
    /**
     * The IMAP mailbox's password, sealed (AES-256-GCM, key derived from the app secret, bound to
     * this row: server/lib/secrets.ts sealSecret); null when the channel polls no mailbox.
     */
    imapPassword: text('imap_password'),
    /**
     * The platform credentials by name (auth token, app secret, access token, widget signing
     * key), each sealed like imapPassword. Never returned by the API.
     */
    secrets: jsonb('secrets').notNull().default({}),
    active: boolean('active').notNull().default(true),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('channels_tenant_name').on(t.tenantId, t.name),
    uniqueIndex('channels_address').on(t.type, t.address).where(sql`address is not null`),
  ],
);

/**
 * A reply on a non-email channel, on its way to the platform's API (SMS, WhatsApp, Messenger,
 * Instagram, X): written in the reply's transaction, sent by a leasing sender with back-off, and
 * moved on by the platform's status callbacks (found by provider message id).
 */
export const messageDeliveries = pgTable(
  'message_deliveries',
  {
    tenantId: tenantId(),
    id: id(),
    messageId: uuid('message_id').notNull(),
    channelId: uuid('channel_id').notNull(),
    /** The customer's address on the platform: E.164 number, WhatsApp id, page-scoped id, X id. */
    recipient: text('recipient').notNull(),
    /** pending | sending | sent | delivered | read | failed */
    status: text('status').notNull().default('pending'),
    providerMessageId: text('provider_message_id'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    leasedUntil: ts('leased_until'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.messageId], foreignColumns: [messages.tenantId, messages.id] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
    index('message_deliveries_message').on(t.tenantId, t.messageId),
    uniqueIndex('message_deliveries_provider')
      .on(t.channelId, t.providerMessageId)
      .where(sql`provider_message_id is not null`),
    index('message_deliveries_due').on(t.nextAttemptAt).where(sql`status in ('pending', 'sending')`),
  ],
);

/**
 * Status callbacks that named a provider id no delivery of the channel had yet: the platform can
 * report "delivered" before the sender has recorded the id its send was answered with. The
 * sender applies them when it records the id; kept an hour, so statuses of messages sent
 * elsewhere (from the platform's own console) do not pile up.
 */
export const earlyDeliveryStatuses = pgTable(
  'early_delivery_statuses',
  {
    tenantId: tenantId(),
    channelId: uuid('channel_id').notNull(),
    providerMessageId: text('provider_message_id').notNull(),
    status: text('status').notNull(),
    error: text('error'),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.channelId, t.providerMessageId, t.status] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
  ],
);

/**
 * A visitor's conversation through the web chat widget. The widget keeps a random resume token
 * (only its SHA-256 is stored) so a reload or a dropped socket continues the same session.
 */
export const chatSessions = pgTable(
  'chat_sessions',
  {
    tenantId: tenantId(),
    id: id(),
    channelId: uuid('channel_id').notNull(),
    customerId: uuid('customer_id').notNull(),
    caseId: uuid('case_id'),
    conversationId: uuid('conversation_id'),
    tokenHash: text('token_hash').notNull(),
    visitorName: text('visitor_name'),
    visitorEmail: text('visitor_email'),
    /** The site's user id when the site signed it (HMAC with the channel's secret); else null. */
    verifiedUserId: text('verified_user_id'),
    /** Page, language, user agent: what the widget reported, for the agent's information. */
    attributes: jsonb('attributes').notNull().default({}),
    lastSeenAt: ts('last_seen_at'),
    endedAt: ts('ended_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
    foreignKey({ columns: [t.tenantId, t.customerId], foreignColumns: [customers.tenantId, customers.id] }),
    foreignKey({ columns: [t.tenantId, t.caseId], foreignColumns: [cases.tenantId, cases.id] }),
    foreignKey({
      columns: [t.tenantId, t.conversationId],
      foreignColumns: [conversations.tenantId, conversations.id],
    }),
    uniqueIndex('chat_sessions_token').on(t.tokenHash),
    index('chat_sessions_customer').on(t.tenantId, t.customerId, t.createdAt),
  ],
);
