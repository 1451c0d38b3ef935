/**
 * Channels (a tenant's support addresses and, later, its chat, SMS and social accounts) and the
 * email channel's own tables: the raw inbound store (also the quarantine), the parsed details of
 * each email message, attachments, and the outbound outbox.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  customType,
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
import { messages } from './cases.ts';
import { id, tenantId, ts } from './columns.ts';
import { tenants } from './tenancy.ts';

/** Raw bytes; PGlite hands back a Uint8Array, pg a Buffer: both become a Buffer. */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

export const channels = pgTable(
  'channels',
  {
    tenantId: tenantId().references(() => tenants.id),
    id: id(),
    /** 'email' (more channel types come with their adapters). */
    type: text('type').notNull(),
    name: text('name').notNull(),
    /** Email: the support address, lower-case. Unique across tenants: it routes inbound mail. */
    address: text('address'),
    /** Per type: acknowledgement (enabled, locale, templates), IMAP mailbox, … Never secrets. */
    settings: jsonb('settings').notNull().default({}),
    active: boolean('active').notNull().default(true),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('channels_tenant_name').on(t.tenantId, t.name),
    uniqueIndex('channels_address').on(t.address).where(sql`address is not null`),
  ],
);

/**
 * Every inbound email as received, raw bytes first: stored before the sender is told 250 (SMTP)
 * or the message is marked seen (IMAP), then processed into a case. Status: pending → processed
 * | ignored (own mail come back, duplicates) | quarantined (unparseable, oversized, repeatedly
 * failing; kept with its reason and reprocessable).
 */
export const inboundEmails = pgTable(
  'inbound_emails',
  {
    tenantId: tenantId(),
    id: id(),
    channelId: uuid('channel_id').notNull(),
    /** 'smtp' or 'imap'. */
    source: text('source').notNull(),
    /** Message-ID, or `sha256:<hex>` of the raw bytes when it has none: redelivery is ignored. */
    dedupeKey: text('dedupe_key').notNull(),
    /** The raw bytes, for messages up to RAW_ROW_MAX_BYTES; null when the raw mail store keeps them. */
    raw: bytea('raw'),
    /** Where the raw mail store keeps the bytes (`sha256/…`) of a larger message; null when `raw` holds them. */
    rawKey: text('raw_key'),
    /** The message's size in bytes, wherever its bytes are. */
    size: integer('size').notNull(),
    envelopeFrom: text('envelope_from'),
    envelopeTo: text('envelope_to').array().notNull().default(sql`'{}'::text[]`),
    status: text('status').notNull().default('pending'),
    reason: text('reason'),
    attempts: integer('attempts').notNull().default(0),
    caseId: uuid('case_id'),
    messageId: uuid('message_id'),
    receivedAt: ts('received_at').notNull().defaultNow(),
    processedAt: ts('processed_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
    uniqueIndex('inbound_emails_dedupe').on(t.tenantId, t.channelId, t.dedupeKey),
    index('inbound_emails_pending').on(t.receivedAt).where(sql`status = 'pending'`),
    index('inbound_emails_status').on(t.tenantId, t.status, t.receivedAt),
    check('inbound_emails_raw_or_key', sql`(raw is null) <> (raw_key is null)`),
  ],
);

/** What an email message (inbound or outbound) carried beyond its text. */
export const emailMessages = pgTable(
  'email_messages',
  {
    tenantId: tenantId(),
    /** The message (messages.id) this email is. */
    messageId: uuid('message_id').notNull(),
    channelId: uuid('channel_id').notNull(),
    inboundEmailId: uuid('inbound_email_id'),
    /** The RFC 5322 Message-ID, without angle brackets. */
    headerMessageId: text('header_message_id'),
    inReplyTo: text('in_reply_to'),
    references: text('references').array().notNull().default(sql`'{}'::text[]`),
    fromAddress: text('from_address'),
    fromName: text('from_name'),
    to: jsonb('to').notNull().default([]),
    cc: jsonb('cc').notNull().default([]),
    subject: text('subject'),
    /** Sanitised at ingest (allowlist); the raw message keeps the original. */
    html: text('html'),
    /** auto_reply | bounce | list | null_sender when a machine sent it. */
    automatic: text('automatic'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.messageId] }),
    foreignKey({ columns: [t.tenantId, t.messageId], foreignColumns: [messages.tenantId, messages.id] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
    index('email_messages_header_id').on(t.tenantId, t.channelId, t.headerMessageId),
  ],
);

/** Files that came with (or went out with) a message; bytes live in the attachment store. */
export const attachments = pgTable(
  'attachments',
  {
    tenantId: tenantId(),
    id: id(),
    messageId: uuid('message_id').notNull(),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    /** Where the store keeps the bytes (a path under the data directory by default). */
    storageKey: text('storage_key').notNull(),
    /** For inline images referenced as `cid:` from the HTML. */
    contentId: text('content_id'),
    inline: boolean('inline').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.messageId], foreignColumns: [messages.tenantId, messages.id] }),
    index('attachments_message').on(t.tenantId, t.messageId),
  ],
);

/**
 * Outbound mail, written in the transaction that decided to send it and delivered after commit
 * with retries. Status: queued → sent | failed (after the last attempt). The message's delivery
 * status is read from here.
 */
export const emailOutbox = pgTable(
  'email_outbox',
  {
    tenantId: tenantId(),
    id: id(),
    channelId: uuid('channel_id').notNull(),
    /** The message this mail carries; null for mail that is not a case message. */
    messageId: uuid('message_id'),
    /** 'reply' | 'acknowledgement' | 'notification'. */
    kind: text('kind').notNull(),
    /** The first recipient, lower-case: caps automatic mail per recipient. */
    recipient: text('recipient').notNull(),
    headerMessageId: text('header_message_id').notNull(),
    envelopeFrom: text('envelope_from').notNull(),
    envelopeTo: text('envelope_to').array().notNull(),
    raw: bytea('raw').notNull(),
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    sentAt: ts('sent_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
    index('email_outbox_due').on(t.nextAttemptAt).where(sql`status = 'queued'`),
    index('email_outbox_message').on(t.tenantId, t.messageId),
    index('email_outbox_recipient').on(t.tenantId, t.recipient, t.createdAt),
  ],
);
