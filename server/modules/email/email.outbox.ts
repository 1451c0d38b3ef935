/**
 * Outbound email through a durable outbox (SECURITY.md 3.4). The use case that decides to send
 * composes the raw message and writes an `email_outbox` row in its own transaction; a sender
 * delivers the stored bytes to the relay after commit, with back-off, and records the outcome.
 *
 * When a reply goes out by email: the reply's channel (the one named, else the channel the
 * customer last wrote on, else the case's first channel; see add-message.ts) is email, the
 * tenant has an active email channel, and the customer has an email address. The mail goes
 * through the channel of the case's latest inbound email (else the tenant's oldest active email
 * channel) to the address that email came from when it is one of the customer's, else to the
 * customer's newest email identity. A tenant without an email channel records the reply only.
 *
 * Delivery is at least once: a row is leased (attempts + 1, next attempt pushed past the send
 * timeouts) before the send, so a crash after the relay accepted and before we recorded it
 * sends the same bytes, with the same Message-ID, once more when the lease runs out (CR-03).
 */
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type { Acknowledgement as AckSettings } from '../../../shared/api/channels.ts';
import type { ErrorCode } from '../../../shared/api/errors.ts';
import { type Db, type Executor, rows } from '../../db/client.ts';
import {
  cases,
  channels,
  customerIdentities,
  customers,
  emailMessages,
  emailOutbox,
  messages,
  tenants,
  users,
} from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { ackLocale, acknowledgement } from './email.ack.ts';
import { ComposeError, type ComposeInput, composeEmail } from './email.compose.ts';
import { messageIdFor, replyAddress, subjectWithTag, type ThreadingSecret } from './email.threading.ts';

// ---------------------------------------------------------------------------------------------
// The threading secret

let registeredSecret: ThreadingSecret | null = null;

/**
 * The key every outbound token and tag is signed with: `deriveKey(appSecret, 'email-threading')`,
 * registered by buildApp. enqueueAcknowledgement's signature is fixed by its callers, so the key
 * is held here rather than passed along.
 */
export function useThreadingSecret(secret: ThreadingSecret): void {
  registeredSecret = secret;
}

function threadingSecret(given?: ThreadingSecret): ThreadingSecret {
  const secret = given ?? registeredSecret;
  if (secret === null) throw new Error('email outbox: no threading secret (buildApp registers it)');
  return secret;
}

// ---------------------------------------------------------------------------------------------
// Enqueueing

const bare = (id: string) => id.replace(/^<|>$/g, '');
const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

/** A ComposeError as the API's 422, with the field that was wrong. */
function composeFailure(err: ComposeError): AppError {
  return new AppError(`email_${err.code}` as ErrorCode, `The email cannot be sent: ${err.message}`, [
    { path: err.field, message: err.message },
  ]);
}

async function organisationName(db: Executor, tenantId: string): Promise<string> {
  const [row] = await db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, tenantId));
  return row?.name ?? '';
}

/** The newest inbound email of the case: what a reply answers. */
async function latestInboundEmail(db: Executor, tenantId: string, caseId: string) {
  const [row] = await db
    .select({
      channelId: emailMessages.channelId,
      headerMessageId: emailMessages.headerMessageId,
      references: emailMessages.references,
      subject: emailMessages.subject,
      fromAddress: emailMessages.fromAddress,
    })
    .from(emailMessages)
    .innerJoin(
      messages,
      and(eq(messages.tenantId, emailMessages.tenantId), eq(messages.id, emailMessages.messageId)),
    )
    .where(
      and(eq(emailMessages.tenantId, tenantId), eq(messages.caseId, caseId), eq(messages.kind, 'inbound')),
    )
    .orderBy(desc(messages.createdAt))
    .limit(1);
  return row ?? null;
}

async function emailChannel(db: Executor, tenantId: string, preferred: string | null) {
  const [row] = await db
    .select()
    .from(channels)
    .where(
      and(
        eq(channels.tenantId, tenantId),
        eq(channels.type, 'email'),
        eq(channels.active, true),
        sql`${channels.address} is not null`,
      ),
    )
    .orderBy(
      sql`${channels.id} = ${preferred ?? '00000000-0000-0000-0000-000000000000'} desc`,
      asc(channels.createdAt),
    )
    .limit(1);
  return row ?? null;
}

export interface ReplyInput {
  tenantId: string;
  caseId: string;
  /** The outbound message just inserted (messages.id). */
  messageId: string;
  authorUserId: string | null;
  text: string;
  date: Date;
}

/** What a message shows about its email; null for messages that are not outbound email. */
export interface Delivery {
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  lastError?: string;
  sentAt?: string;
}

/**
 * Composes an agent's reply and queues it, in the caller's transaction (the one that inserted
 * the message). Returns the delivery to show, or null when the tenant has no email channel.
 * A message that cannot be composed safely throws a 422 AppError, rolling the reply back.
 */
export async function enqueueReply(
  tx: Executor,
  input: ReplyInput,
  options: { secret?: ThreadingSecret } = {},
): Promise<Delivery | null> {
  const secret = threadingSecret(options.secret);
  const [current] = await tx
    .select({ number: cases.number, subject: cases.subject, customerId: cases.customerId })
    .from(cases)
    .where(and(eq(cases.tenantId, input.tenantId), eq(cases.id, input.caseId)));
  if (!current) throw new AppError('case_not_found', 'No such case here');
  const inbound = await latestInboundEmail(tx, input.tenantId, input.caseId);
  const channel = await emailChannel(tx, input.tenantId, inbound?.channelId ?? null);
  if (!channel?.address) return null;

  const identities = await tx
    .select({ value: customerIdentities.value })
    .from(customerIdentities)
    .where(
      and(
        eq(customerIdentities.tenantId, input.tenantId),
        eq(customerIdentities.customerId, current.customerId),
        eq(customerIdentities.kind, 'email'),
      ),
    )
    .orderBy(desc(customerIdentities.createdAt));
  const wroteFrom = inbound?.fromAddress?.toLowerCase();
  const recipient = identities.find((i) => i.value === wroteFrom)?.value ?? identities[0]?.value;
  if (!recipient) {
    throw new AppError('email_recipient_missing', 'The customer has no email address to reply to', [
      { path: 'body.channel', message: 'the customer has no email address' },
    ]);
  }
  const [customer] = await tx
    .select({ name: customers.name })
    .from(customers)
    .where(and(eq(customers.tenantId, input.tenantId), eq(customers.id, current.customerId)));
  const [author] = input.authorUserId
    ? await tx
        .select({ name: users.displayName, signature: users.signature })
        .from(users)
        .where(and(eq(users.tenantId, input.tenantId), eq(users.id, input.authorUserId)))
    : [];
  const organisation = await organisationName(tx, input.tenantId);
  const ref = { tenantId: input.tenantId, caseId: input.caseId };
  const subject = subjectWithTag(
    secret,
    input.tenantId,
    current.number,
    inbound?.subject ? `Re: ${inbound.subject}` : current.subject,
  );
  const compose: ComposeInput = {
    from: {
      address: channel.address,
      name: author ? `${author.name} via ${organisation}` : organisation,
    },
    to: [{ address: recipient, name: customer?.name ?? null }],
    replyTo: { address: replyAddress(secret, channel.address, ref) },
    subject,
    text: input.text,
    signature: author?.signature ?? '',
    messageId: messageIdFor(secret, { ...ref, messageId: input.messageId }, domainOf(channel.address)),
    inReplyTo: inbound?.headerMessageId ?? null,
    references: inbound?.references ?? [],
    date: input.date,
  };
  let mail: Awaited<ReturnType<typeof composeEmail>>;
  try {
    mail = await composeEmail(compose);
  } catch (err) {
    if (err instanceof ComposeError) throw composeFailure(err);
    throw err;
  }
  const headerMessageId = bare(mail.messageId);
  const inReplyTo = inbound?.headerMessageId ? bare(inbound.headerMessageId) : null;
  await tx.insert(emailMessages).values({
    tenantId: input.tenantId,
    messageId: input.messageId,
    channelId: channel.id,
    headerMessageId,
    inReplyTo,
    references: [...(inbound?.references ?? []).map(bare), ...(inReplyTo ? [inReplyTo] : [])],
    fromAddress: channel.address,
    fromName: compose.from.name ?? null,
    to: [{ address: recipient, name: customer?.name ?? null }],
    subject,
  });
  await tx.insert(emailOutbox).values({
    tenantId: input.tenantId,
    channelId: channel.id,
    messageId: input.messageId,
    kind: 'reply',
    recipient: recipient.toLowerCase(),
    headerMessageId,
    envelopeFrom: mail.envelope.from,
    envelopeTo: mail.envelope.to,
    raw: mail.raw,
  });
  return { status: 'queued', attempts: 0 };
}

export interface AcknowledgementInput {
  tenantId: string;
  channelId: string;
  caseId: string;
  recipient: string;
  customerName: string | null;
  caseNumber: number;
  subject: string;
  ownerName: string | null;
  teamName: string | null;
  /** The customer's language; a language without a built-in template yields to the channel's. */
  locale: string;
  /** The customer's Message-ID (with or without angle brackets). */
  inReplyTo: string | null;
}

/** At most this many acknowledgements per recipient per channel per window (EL-03). */
export const ACK_CAP = 1;
export const ACK_WINDOW_HOURS = 24;

/**
 * Queues the new-case acknowledgement as automatic mail ('auto-replied'), in the caller's
 * transaction. False when nothing was queued: the channel's acknowledgement is off, the
 * recipient had one from this channel in the last 24 h (EL-03), or the mail cannot be composed
 * (an address we cannot write safely: the customer's mail is still processed).
 */
export async function enqueueAcknowledgement(
  db: Executor,
  input: AcknowledgementInput,
  options: { secret?: ThreadingSecret; now?: Date } = {},
): Promise<boolean> {
  const secret = threadingSecret(options.secret);
  const [channel] = await db
    .select()
    .from(channels)
    .where(and(eq(channels.tenantId, input.tenantId), eq(channels.id, input.channelId)));
  const settings = (channel?.settings as { acknowledgement?: AckSettings } | undefined)?.acknowledgement;
  if (!channel?.address || channel.type !== 'email' || !settings?.enabled) return false;
  const recipient = input.recipient.trim().toLowerCase();

  // Two deliveries from the same sender at once must not both pass the count.
  await db.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`ack:${input.tenantId}:${input.channelId}:${recipient}`}, 0))`,
  );
  const [recent] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from email_outbox
        where tenant_id = ${input.tenantId} and channel_id = ${input.channelId}
          and recipient = ${recipient} and kind = 'acknowledgement'
          and created_at > now() - make_interval(hours => ${ACK_WINDOW_HOURS})`,
  );
  if ((recent?.n ?? 0) >= ACK_CAP) return false;

  const customerLocale = input.locale?.trim() ?? '';
  const ownLanguage =
    customerLocale !== '' && (ackLocale(customerLocale) !== 'en' || /^en\b/i.test(customerLocale));
  const organisation = await organisationName(db, input.tenantId);
  const ack = acknowledgement({
    locale: ownLanguage ? customerLocale : settings.locale,
    customerName: input.customerName,
    caseNumber: input.caseNumber,
    ownerName: input.ownerName,
    teamName: input.teamName,
    organisationName: organisation,
    subject: input.subject,
    template: { subject: settings.subject, body: settings.body },
  });
  const ref = { tenantId: input.tenantId, caseId: input.caseId };
  let mail: Awaited<ReturnType<typeof composeEmail>>;
  try {
    mail = await composeEmail({
      from: { address: channel.address, name: organisation },
      to: [{ address: recipient, name: input.customerName }],
      replyTo: { address: replyAddress(secret, channel.address, ref) },
      subject: subjectWithTag(secret, input.tenantId, input.caseNumber, ack.subject),
      text: ack.text,
      html: ack.html,
      // Not a case message: the id only has to be unique and name the case.
      messageId: messageIdFor(secret, { ...ref, messageId: randomUUID() }, domainOf(channel.address)),
      inReplyTo: input.inReplyTo,
      references: input.inReplyTo ? [input.inReplyTo] : [],
      automatic: 'auto-replied',
      headers: { 'Content-Language': ack.locale },
      date: options.now ?? new Date(),
    });
  } catch (err) {
    if (err instanceof ComposeError) return false;
    throw err;
  }
  await db.insert(emailOutbox).values({
    tenantId: input.tenantId,
    channelId: channel.id,
    messageId: null,
    kind: 'acknowledgement',
    recipient,
    headerMessageId: bare(mail.messageId),
    envelopeFrom: mail.envelope.from,
    envelopeTo: mail.envelope.to,
    raw: mail.raw,
  });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Delivery status of messages

type OutboxRow = typeof emailOutbox.$inferSelect;

function toDelivery(row: Pick<OutboxRow, 'status' | 'attempts' | 'lastError' | 'sentAt'>): Delivery {
  return {
    status: row.status as Delivery['status'],
    attempts: row.attempts,
    ...(row.lastError ? { lastError: row.lastError } : {}),
    ...(row.sentAt ? { sentAt: row.sentAt.toISOString() } : {}),
  };
}

/** The delivery of each message that went out by email (the newest outbox row per message). */
export async function deliveryByMessage(
  db: Executor,
  tenantId: string,
  messageIds: string[],
): Promise<Map<string, Delivery>> {
  const out = new Map<string, Delivery>();
  if (messageIds.length === 0) return out;
  const list = await db
    .select({
      messageId: emailOutbox.messageId,
      status: emailOutbox.status,
      attempts: emailOutbox.attempts,
      lastError: emailOutbox.lastError,
      sentAt: emailOutbox.sentAt,
    })
    .from(emailOutbox)
    .where(and(eq(emailOutbox.tenantId, tenantId), inArray(emailOutbox.messageId, messageIds)))
    .orderBy(asc(emailOutbox.createdAt));
  for (const row of list) if (row.messageId) out.set(row.messageId, toDelivery(row));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface OutboxLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboxSenderOptions {
  db: Db;
  log: OutboxLog;
  /** smtp://user:pass@host:port or smtps://…; null keeps everything queued. */
  url: string | null;
  now?: () => Date;
  /** How often due rows are looked for without a kick (default 5 s). */
  pollMs?: number;
  batchSize?: number;
  /** Waits after the 1st, 2nd, … failed attempt; one more failure after the last is final. */
  backoffMs?: readonly number[];
  /** How long a claimed row is left alone; longer than any send can take (default 5 min). */
  leaseMs?: number;
}

export interface DrainResult {
  sent: number;
  retried: number;
  failed: number;
}

export interface OutboxSender {
  /** Look for due mail soon (after a commit that queued some). */
  kick(): void;
  /** Send everything due now; resolves when done. Concurrent calls share one run. */
  drain(): Promise<DrainResult>;
  start(): void;
  stop(): Promise<void>;
}

const MINUTE = 60_000;
export const BACKOFF_MS = [1 * MINUTE, 5 * MINUTE, 30 * MINUTE, 120 * MINUTE, 360 * MINUTE] as const;
const SEND_TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 };

/**
 * Leases due rows: the next attempt is moved past the lease and counted before the send, so
 * another node (or this one after a crash) takes the row again only when the lease has run out.
 */
export async function claimDue(db: Db, now: Date, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  return db.transaction(async (tx) => {
    const due = await tx
      .select({ tenantId: emailOutbox.tenantId, id: emailOutbox.id })
      .from(emailOutbox)
      .where(and(eq(emailOutbox.status, 'queued'), sql`${emailOutbox.nextAttemptAt} <= ${now.toISOString()}`))
      .orderBy(asc(emailOutbox.nextAttemptAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    return tx
      .update(emailOutbox)
      .set({
        attempts: sql`${emailOutbox.attempts} + 1`,
        nextAttemptAt: new Date(now.getTime() + leaseMs),
      })
      .where(
        sql`(${emailOutbox.tenantId}, ${emailOutbox.id}) in (${sql.join(
          due.map((d) => sql`(${d.tenantId}::uuid, ${d.id}::uuid)`),
          sql`, `,
        )})`,
      )
      .returning();
  });
}

/** The relay's reply or the socket error, one line, with the URL's credentials removed. */
export function errorText(err: unknown, url: string | null): string {
  const e = err as { response?: unknown; message?: unknown };
  let text = typeof e?.response === 'string' && e.response ? e.response : String(e?.message ?? err);
  text = text.replace(/\b(smtps?:\/\/)[^@\s/]*@/gi, '$1');
  if (url) {
    try {
      const u = new URL(url);
      for (const s of [u.password, decodeURIComponent(u.password)]) {
        if (s.length >= 3) text = text.split(s).join('***');
      }
    } catch {}
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}

/** A 5xx from the relay rejects this message for good; a login failure is our configuration. */
function permanent(err: unknown): boolean {
  const e = err as { responseCode?: unknown; code?: unknown };
  return (
    typeof e?.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600 && e.code !== 'EAUTH'
  );
}

/** Records an outcome for the attempt we claimed, and tells the case's viewers. */
async function record(
  db: Db,
  row: OutboxRow,
  set: Partial<Pick<OutboxRow, 'status' | 'nextAttemptAt' | 'lastError' | 'sentAt'>>,
): Promise<void> {
  await db.transaction(async (tx) => {
    const updated = await tx
      .update(emailOutbox)
      .set(set)
      .where(
        and(
          eq(emailOutbox.tenantId, row.tenantId),
          eq(emailOutbox.id, row.id),
          eq(emailOutbox.status, 'queued'),
          eq(emailOutbox.attempts, row.attempts),
        ),
      )
      .returning({ id: emailOutbox.id });
    if (updated.length === 0 || row.messageId === null) return;
    // Not an event of the case's story, but its viewers refetch the message's status.
    await tx.execute(
      sql`select pg_notify('rapport_events', json_build_object(
            'tenantId', m.tenant_id, 'type', 'message.delivery_changed', 'caseId', m.case_id, 'eventId', 0)::text)
          from messages m where m.tenant_id = ${row.tenantId} and m.id = ${row.messageId}`,
    );
  });
}

export function createOutboxSender(options: OutboxSenderOptions): OutboxSender {
  const { db, log, url } = options;
  const now = options.now ?? (() => new Date());
  const batchSize = options.batchSize ?? 20;
  const backoff = options.backoffMs ?? BACKOFF_MS;
  const leaseMs = options.leaseMs ?? 5 * MINUTE;
  const transport = url ? nodemailer.createTransport({ url, ...SEND_TIMEOUTS }) : null;
  let warned = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopped = false;
  let current: Promise<DrainResult> = Promise.resolve({ sent: 0, retried: 0, failed: 0 });
  let pending: Promise<DrainResult> | null = null;

  async function deliver(row: OutboxRow, result: DrainResult): Promise<void> {
    try {
      await transport!.sendMail({ envelope: { from: row.envelopeFrom, to: row.envelopeTo }, raw: row.raw });
    } catch (err) {
      const lastError = errorText(err, url);
      const final = permanent(err) || row.attempts > backoff.length;
      if (final) {
        result.failed++;
        log.warn(
          { outboxId: row.id, tenantId: row.tenantId, attempts: row.attempts, lastError },
          'email failed',
        );
        await record(db, row, { status: 'failed', lastError });
      } else {
        result.retried++;
        const wait = backoff[row.attempts - 1] ?? backoff[backoff.length - 1] ?? MINUTE;
        log.info({ outboxId: row.id, attempts: row.attempts, lastError }, 'email deferred');
        await record(db, row, { nextAttemptAt: new Date(now().getTime() + wait), lastError });
      }
      return;
    }
    result.sent++;
    await record(db, row, { status: 'sent', sentAt: now(), lastError: null });
  }

  async function drainOnce(): Promise<DrainResult> {
    const result: DrainResult = { sent: 0, retried: 0, failed: 0 };
    if (!transport) {
      if (!warned) log.warn({}, 'RAPPORT_SMTP_OUTBOUND_URL is not set: outgoing email stays queued');
      warned = true;
      return result;
    }
    try {
      while (!stopped) {
        const batch = await claimDue(db, now(), batchSize, leaseMs);
        for (const row of batch) await deliver(row, result);
        if (batch.length < batchSize) break;
      }
    } catch (err) {
      log.error({ err }, 'email outbox: sending stopped early; retrying on the next round');
    }
    return result;
  }

  function drain(): Promise<DrainResult> {
    if (pending) return pending;
    const next = current.then(() => {
      pending = null;
      return drainOnce();
    });
    pending = next;
    current = next;
    return next;
  }

  return {
    kick() {
      if (!stopped && transport) void drain();
    },
    drain,
    start() {
      if (timer || stopped) return;
      if (!transport) {
        void drainOnce();
        return;
      }
      timer = setInterval(() => void drain(), options.pollMs ?? 5_000);
      timer.unref();
      void drain();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
      await current.catch(() => {});
      transport?.close();
    },
  };
}
