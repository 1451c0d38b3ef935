/**
 * The email channel's own tables: the raw inbound store (also the quarantine), the parsed details
 * of each email message, attachments, the outbound outbox and polled IMAP mailboxes.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
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
import { channels } from './channels.ts';
import { id, tenantId, ts } from './columns.ts';

/** Raw bytes; PGlite hands back a Uint8Array, pg a Buffer: both become a Buffer. */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

/**
 * An email channel's IMAP mailbox: where polling got to (UIDVALIDITY + last UID delivered and
 * marked), the last round's outcome, and which app node polls it (a lease, so several nodes on
 * one database never poll one mailbox at once). One row per channel and folder; a row for another
 * mailbox (host or user changed) is recognised by mailbox_key and read from the start.
 */
export const imapMailboxes = pgTable(
  'imap_mailboxes',
  {
    tenantId: tenantId(),
    channelId: uuid('channel_id').notNull(),
    folder: text('folder').notNull(),
    /** imap://user@host:port/folder: the mailbox the checkpoint belongs to. */
    mailboxKey: text('mailbox_key').notNull(),
    /** UIDVALIDITY when last_uid was delivered; null before the first round. */
    uidValidity: text('uid_validity'),
    /** Every message up to this UID was stored and marked (UIDs are unsigned 32-bit). */
    lastUid: bigint('last_uid', { mode: 'number' }).notNull().default(0),
    /** The app node polling this mailbox until lease_until; renewed while it runs. */
    leaseOwner: text('lease_owner'),
    leaseUntil: ts('lease_until'),
    /** When the last round ended, and its error (null: it went well). */
    polledAt: ts('polled_at'),
    pollError: text('poll_error'),
    lastSuccessAt: ts('last_success_at'),
    /** Failed rounds in a row. */
    failures: integer('failures').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.channelId, t.folder] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
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
    /** The message's bytes, or null when it is larger than a row should carry (see rawKey). */
    raw: bytea('raw'),
    /** The raw mail store's key of a large message (a reply with files); exactly one of raw/rawKey. */
    rawKey: text('raw_key'),
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    sentAt: ts('sent_at'),
    failedAt: ts('failed_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.channelId], foreignColumns: [channels.tenantId, channels.id] }),
    check('email_outbox_raw_or_key', sql`(raw is null) <> (raw_key is null)`),
    index('email_outbox_due').on(t.nextAttemptAt).where(sql`status = 'queued'`),
    /** Settings → Outbound mail: a tenant's mail in one status, newest first. */
    index('email_outbox_list').on(t.tenantId, t.status, t.createdAt.desc(), t.id.desc()),
    index('email_outbox_message').on(t.tenantId, t.messageId),
    index('email_outbox_recipient').on(t.tenantId, t.recipient, t.createdAt),
  ],
);
