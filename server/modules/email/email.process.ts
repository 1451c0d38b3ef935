/**
 * Stored inbound mail → contacts on the right case (issue 3). Pending `inbound_emails` rows are
 * claimed a few at a time, oldest first (`for update skip locked`, so several nodes share the
 * work), parsed, threaded and handed to the intake every channel uses; then the email's details,
 * its attachments and the row's new status are written in one transaction.
 *
 * Claiming a row counts an attempt and stamps `processed_at` (for a pending row: when it was
 * last tried), which is also its lease: the row is not claimed again until its back-off has
 * passed. A crash at any point therefore retries the row later, and one that keeps failing, or
 * keeps killing the process, ends in quarantine after MAX_ATTEMPTS.
 *
 * Every step is idempotent on retry: the intake on (channel 'email', the row's dedupe key), the
 * attachment store by content, and everything after the intake commits together.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { ChannelSettings } from '../../../shared/api/channels.ts';
import { systemActor } from '../../context.ts';
import type { Db, Executor } from '../../db/client.ts';
import { rows } from '../../db/client.ts';
import {
  attachments,
  channels,
  customerIdentities,
  emailMessages,
  inboundEmails,
} from '../../db/schema/index.ts';
import { baseAddress } from '../channels/channels.queries.ts';
import { receiveContact } from '../contacts/receive-contact.ts';
import { identityForChannel } from '../customers/customers.identity.ts';
import { type AcknowledgementOutcome, acknowledgeNewCase } from './email.acknowledge.ts';
import type { AttachmentStore, StoredAttachment } from './email.attachments.ts';
import { textToHtml } from './email.html.ts';
import { loadRaw, loadRawHead, type RawMailStore } from './email.inbound.ts';
import { EmailRejectedError, type ParsedEmail, parseEmail } from './email.parse.ts';
import { type OrderKeys, orderKeys, threadQueues } from './email.round-order.ts';
import { threadOf } from './email.thread-lookup.ts';
import { tokenFromMessageId } from './email.threading.ts';

type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

export interface InboundProcessorOptions {
  db: Db;
  log: Log;
  /** deriveKey(appSecret, 'email-threading'): the key our reply tokens and tags are signed with. */
  secret: Buffer;
  store: AttachmentStore;
  /** Where the raw bytes of large inbound messages are (rows name them by `raw_key`). */
  rawMail: RawMailStore;
  now?: () => Date;
  /** The safety-net poll; `kick()` is the fast path. */
  pollMs?: number;
  /** Rows claimed per round. */
  batchSize?: number;
  /** Mail was queued in the outbox (an acknowledgement): the sender can take it now. */
  onMailQueued?: () => void;
  /** The per-recipient cap held an acknowledgement back (EL-03): counted as a possible mail loop. */
  onAcknowledgementSuppressed?: () => void;
}

export interface InboundProcessor {
  /** Something was stored: process it soon. */
  kick(): void;
  /** Processes every row that is due; resolves when none is left. */
  drain(): Promise<void>;
  start(): void;
  /** Stops polling and waits for the round in progress. */
  stop(): Promise<void>;
}

export const MAX_ATTEMPTS = 3;
/** Back-off after the n-th attempt: 30 s, 2 min, 8 min. Also the lease of a claimed row. */
export const BACKOFF_MS = 30_000;
const REASON_MAX = 1000;
/** How much of a claimed message's header is read to order it among the round's others. */
const SENDER_SCAN_BYTES = 16 * 1024;
const TEXT_MAX = 200_000;
const SUBJECT_MAX = 300;
const NAME_MAX = 200;
/** A Date header further from when we received the mail than this is not believed. */
const DATE_PAST_MS = 30 * 24 * 3600_000;
const DATE_FUTURE_MS = 15 * 60_000;

interface Claimed {
  tenantId: string;
  id: string;
  channelId: string;
  attempts: number;
  receivedAt: Date;
  /** One sender's mail, and a reply to a message in the same round, are processed in order. */
  keys: OrderKeys;
}

export function createInboundProcessor(options: InboundProcessorOptions): InboundProcessor {
  const { db, log, secret, store, rawMail } = options;
  const now = options.now ?? (() => new Date());
  const batchSize = options.batchSize ?? 8;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function claim(): Promise<Claimed[]> {
    const at = now();
    const claimed = await rows<{
      tenant_id: string;
      id: string;
      channel_id: string;
      attempts: number;
      received_at: string | Date;
      raw_key: string | null;
      head: Buffer | Uint8Array | null;
    }>(
      db,
      sql`update inbound_emails set attempts = attempts + 1, processed_at = ${at.toISOString()}::timestamptz
          where (tenant_id, id) in (
            select tenant_id, id from inbound_emails
            where status = 'pending'
              and (processed_at is null or processed_at <= ${at.toISOString()}::timestamptz
                   - make_interval(secs => ${BACKOFF_MS / 1000} * power(4, greatest(attempts - 1, 0))))
            order by received_at, id
            limit ${batchSize}
            for update skip locked)
          returning tenant_id, id, channel_id, attempts, received_at, raw_key,
            substring(raw from 1 for ${SENDER_SCAN_BYTES}) as head`,
    );
    const heads = await Promise.all(
      claimed.map((r) =>
        loadRawHead(rawMail, { head: r.head && Buffer.from(r.head), rawKey: r.raw_key }, SENDER_SCAN_BYTES)
          // Bytes that cannot be read now order as an empty header; processing it reports why.
          .catch(() => Buffer.alloc(0)),
      ),
    );
    return claimed
      .map((r, i) => ({
        tenantId: r.tenant_id,
        id: r.id,
        channelId: r.channel_id,
        attempts: r.attempts,
        receivedAt: new Date(r.received_at),
        keys: orderKeys(heads[i]!),
      }))
      .sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
  }

  async function finish(
    row: Claimed,
    status: 'processed' | 'ignored' | 'quarantined' | 'pending',
    values: { reason?: string | null; caseId?: string | null; messageId?: string | null } = {},
    executor: Executor = db,
  ): Promise<void> {
    await executor
      .update(inboundEmails)
      .set({
        status,
        reason: values.reason === undefined ? null : values.reason?.slice(0, REASON_MAX),
        caseId: values.caseId ?? null,
        messageId: values.messageId ?? null,
        processedAt: now(),
      })
      .where(and(eq(inboundEmails.tenantId, row.tenantId), eq(inboundEmails.id, row.id)));
  }

  async function processRow(row: Claimed): Promise<void> {
    if (row.attempts > MAX_ATTEMPTS) {
      log.warn({ inboundEmailId: row.id }, 'inbound email quarantined: processing never finished');
      await finish(row, 'quarantined', {
        reason: `processing did not finish in ${MAX_ATTEMPTS} attempts (the process stopped while it ran)`,
      });
      return;
    }
    try {
      await processOne(row);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (row.attempts >= MAX_ATTEMPTS) {
        log.error(
          { inboundEmailId: row.id, err: message },
          'inbound email quarantined after repeated failures',
        );
        await finish(row, 'quarantined', { reason: `failed ${row.attempts} times: ${message}` });
      } else {
        log.warn(
          { inboundEmailId: row.id, attempt: row.attempts, err: message },
          'inbound email failed; will retry',
        );
        // Stays pending; processed_at (set by the claim) starts its back-off.
        await db
          .update(inboundEmails)
          .set({ reason: `attempt ${row.attempts} failed: ${message}`.slice(0, REASON_MAX) })
          .where(and(eq(inboundEmails.tenantId, row.tenantId), eq(inboundEmails.id, row.id)));
      }
    }
  }

  async function processOne(row: Claimed): Promise<void> {
    const [stored] = await db
      .select({
        raw: inboundEmails.raw,
        rawKey: inboundEmails.rawKey,
        dedupeKey: inboundEmails.dedupeKey,
        envelopeFrom: inboundEmails.envelopeFrom,
        envelopeTo: inboundEmails.envelopeTo,
      })
      .from(inboundEmails)
      .where(and(eq(inboundEmails.tenantId, row.tenantId), eq(inboundEmails.id, row.id)));
    const [channel] = await db
      .select()
      .from(channels)
      .where(and(eq(channels.tenantId, row.tenantId), eq(channels.id, row.channelId)));
    if (!stored || !channel) return;

    let parsed: ParsedEmail;
    try {
      parsed = await parseEmail(await loadRaw(rawMail, stored));
    } catch (err) {
      if (!(err instanceof EmailRejectedError)) throw err;
      log.warn({ inboundEmailId: row.id, reason: err.reason }, 'inbound email quarantined');
      await finish(row, 'quarantined', { reason: `${err.reason}: ${err.message}` });
      return;
    }
    const tenantId = row.tenantId;

    // Our own mail come back (EL-04): a Message-ID we signed, or a sender that is one of our addresses.
    const ownAddresses = await tenantAddresses(db, tenantId);
    const fromAddress = parsed.from?.address.toLowerCase() ?? null;
    const ownId =
      parsed.messageId !== null && tokenFromMessageId(secret, tenantId, parsed.messageId) !== null;
    if (ownId || (fromAddress !== null && ownAddresses.has(baseAddress(fromAddress)))) {
      const reason = ownId ? 'our own message came back' : `sent from our own address ${fromAddress}`;
      log.warn({ inboundEmailId: row.id, channelId: channel.id, reason }, 'inbound email ignored: mail loop');
      await finish(row, 'ignored', { reason });
      return;
    }

    const sender = senderOf(parsed, stored.envelopeFrom);
    if (sender === null) {
      log.warn({ inboundEmailId: row.id }, 'inbound email quarantined: no usable sender');
      await finish(row, 'quarantined', {
        reason: 'sender_invalid: no usable sender address (From, Reply-To or envelope)',
      });
      return;
    }

    const threading = await threadOf(
      db,
      secret,
      tenantId,
      channel.id,
      parsed,
      stored.envelopeTo,
      sender.address,
    );
    const text = bodyText(parsed);
    const subject = (parsed.subject || '').slice(0, SUBJECT_MAX) || undefined;
    const automatic = parsed.automatic;
    const ctx = { tenantId, actor: systemActor, db, log: log as FastifyBaseLogger, now };
    const result = await receiveContact(
      ctx,
      {
        channel: 'email',
        from: { identity: sender.address, ...(sender.name ? { name: sender.name } : {}) },
        text,
        ...(subject ? { subject } : {}),
        externalId: stored.dedupeKey,
        receivedAt: receivedAt(parsed.date, row.receivedAt).toISOString(),
        ...(automatic ? { attributes: { automatic: automatic.kind } } : {}),
      },
      {
        ...(threading ? { caseId: threading.caseId } : {}),
        automatic: automatic !== null,
        identity: { kind: 'email', platform: '', value: sender.address },
      },
    );
    const caseId = result.case.id;
    const messageId = result.contact.messageId;

    // Bytes first: the store is content-addressed, so a retry writes nothing new.
    const files: { a: ParsedEmail['attachments'][number]; stored: StoredAttachment }[] = [];
    for (const a of parsed.attachments.filter((x) => !x.omitted)) {
      files.push({
        a,
        stored: await store.put(a.content, { filename: a.filename, contentType: a.contentType }),
      });
    }

    const bounceRecipient =
      automatic?.kind === 'bounce' && threading?.by === 'bounce'
        ? await bouncedRecipient(db, tenantId, parsed, threading.bouncedMessageId ?? null)
        : null;

    let acknowledged = null as AcknowledgementOutcome | null;
    const outcome = await db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(emailMessages)
        .values({
          tenantId,
          messageId,
          channelId: channel.id,
          inboundEmailId: row.id,
          headerMessageId: parsed.messageId,
          inReplyTo: parsed.inReplyTo,
          references: parsed.references,
          fromAddress: parsed.from?.address ?? sender.address,
          fromName: parsed.from?.name || null,
          to: parsed.to,
          cc: parsed.cc,
          subject: parsed.subject,
          // The full message: sanitised HTML, or the whole plain text (the timeline shows the visible part).
          html: parsed.html ?? (parsed.text === '' ? null : textToHtml(parsed.text)),
          automatic: automatic?.kind ?? null,
        })
        .onConflictDoNothing()
        .returning({ inboundEmailId: emailMessages.inboundEmailId });
      if (!inserted) {
        const [existing] = await tx
          .select({ inboundEmailId: emailMessages.inboundEmailId })
          .from(emailMessages)
          .where(and(eq(emailMessages.tenantId, tenantId), eq(emailMessages.messageId, messageId)));
        if (existing && existing.inboundEmailId !== row.id) {
          // The same message reached another of our mailboxes (To and Cc both ours) and was taken there.
          await finish(
            row,
            'ignored',
            { reason: 'duplicate of a message already received', caseId, messageId },
            tx,
          );
          return 'duplicate' as const;
        }
      } else if (files.length > 0) {
        await tx.insert(attachments).values(
          files.map(({ a, stored: s }) => ({
            tenantId,
            messageId,
            filename: a.filename,
            contentType: a.contentType,
            size: s.size,
            sha256: s.sha256,
            storageKey: s.key,
            contentId: a.contentId,
            inline: a.inline,
          })),
        );
      }
      if (bounceRecipient !== null) {
        await tx
          .update(customerIdentities)
          .set({ bouncedAt: now() })
          .where(
            and(
              eq(customerIdentities.tenantId, tenantId),
              eq(customerIdentities.kind, 'email'),
              eq(customerIdentities.platform, ''),
              eq(customerIdentities.value, bounceRecipient),
            ),
          );
      }
      const settings = channel.settings as ChannelSettings;
      if (!result.repeat && automatic === null && settings.acknowledgement?.enabled) {
        acknowledged = await acknowledgeNewCase(tx, secret, now(), {
          tenantId,
          channelId: channel.id,
          caseId,
          recipient: sender.address,
          customerName: result.customer.name,
          caseNumber: result.case.number,
          subject: result.case.subject,
          ownerId: result.case.ownerId,
          teamId: result.case.teamId,
          locale: settings.acknowledgement.locale,
          inReplyTo: parsed.messageId ? `<${parsed.messageId}>` : null,
        });
      }
      await finish(row, 'processed', { caseId, messageId }, tx);
      return 'processed' as const;
    });
    if (acknowledged?.status === 'queued') options.onMailQueued?.();
    if (acknowledged?.status === 'suppressed') {
      options.onAcknowledgementSuppressed?.();
      log.warn(
        {
          inboundEmailId: row.id,
          channelId: channel.id,
          caseNumber: result.case.number,
          senderDomain: sender.address.slice(sender.address.lastIndexOf('@') + 1),
        },
        'acknowledgement not sent: this sender had one within 24 h (possible mail loop)',
      );
    }
    log.info(
      {
        inboundEmailId: row.id,
        caseNumber: result.case.number,
        threadedBy: threading?.by ?? null,
        automatic: automatic?.kind ?? null,
        outcome,
      },
      'inbound email processed',
    );
  }

  async function round(): Promise<number> {
    const claimed = await claim();
    await Promise.all(
      threadQueues(claimed).map(async (queue) => {
        for (const row of queue) {
          try {
            await processRow(row);
          } catch (err) {
            // Recording the failure failed too (the database went away): the lease retries the row.
            log.error(
              { inboundEmailId: row.id, err: (err as Error).message },
              'inbound email processing failed',
            );
          }
        }
      }),
    );
    return claimed.length;
  }

  function drain(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    // Cleared in a callback, which always runs after this assignment (the loop may not await at all).
    running = (async () => {
      do {
        again = false;
        while (!stopped && (await round()) > 0) {}
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  }

  const safeDrain = () => {
    drain().catch((err: Error) => log.error({ err: err.message }, 'inbound email round failed'));
  };

  return {
    kick: safeDrain,
    drain,
    start() {
      stopped = false;
      if (timer) return;
      timer = setInterval(safeDrain, options.pollMs ?? 5000);
      timer.unref();
      safeDrain();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => {});
    },
  };
}

async function tenantAddresses(db: Executor, tenantId: string): Promise<Set<string>> {
  const list = await db
    .select({ address: channels.address })
    .from(channels)
    .where(and(eq(channels.tenantId, tenantId), eq(channels.type, 'email')));
  return new Set(list.flatMap((c) => (c.address ? [c.address.toLowerCase()] : [])));
}

/**
 * The customer identity: From, else Reply-To, else the envelope sender. The mail parser has read
 * the address by RFC 5322, so it is taken as it gives it (lower-case), also when it holds what
 * the typed-in form refuses (a quoted local part, a dotless domain); only an address with
 * controls or without a local part and domain is passed over.
 */
function senderOf(
  parsed: ParsedEmail,
  envelopeFrom: string | null,
): { address: string; name: string | null } | null {
  const candidates = [
    { address: parsed.from?.address, name: parsed.from?.name },
    { address: parsed.replyTo?.address, name: parsed.replyTo?.name || parsed.from?.name },
    { address: envelopeFrom ?? undefined, name: parsed.from?.name },
  ];
  for (const c of candidates) {
    const address = c.address?.trim().toLowerCase() ?? '';
    const at = address.lastIndexOf('@');
    if (at <= 0 || at === address.length - 1 || address.length > 254 || /[\p{Cc}<>]/u.test(address)) continue;
    const name =
      c.name
        ?.replace(/[\p{Cc}]+/gu, ' ')
        .trim()
        .slice(0, NAME_MAX) || null;
    return { address, name };
  }
  return null;
}

/** What the timeline shows: the visible part (quoted history folded away), else the whole text. */
function bodyText(parsed: ParsedEmail): string {
  const visible = parsed.visibleText.trim();
  const text = visible === '' ? parsed.text.trim() : visible;
  return text.length > TEXT_MAX ? `${text.slice(0, TEXT_MAX - 1)}…` : text;
}

/** The Date header when it is near the time we received the mail, else that time. */
function receivedAt(date: Date | null, stored: Date): Date {
  if (date === null || Number.isNaN(date.getTime())) return stored;
  const offset = date.getTime() - stored.getTime();
  return offset > DATE_FUTURE_MS || offset < -DATE_PAST_MS ? stored : date;
}

/**
 * Who a bounce says could not be reached: the DSN's Final-Recipient (or Original-Recipient),
 * else the recipient our outbox sent the bounced message to.
 */
async function bouncedRecipient(
  db: Executor,
  tenantId: string,
  parsed: ParsedEmail,
  bouncedMessageId: string | null,
): Promise<string | null> {
  for (const part of parsed.attachments) {
    if (!/delivery-status$/.test(part.contentType)) continue;
    const report = part.content.subarray(0, 64 * 1024).toString('utf8');
    const match = /^(?:Final|Original)-Recipient:\s*rfc822\s*;\s*<?([^\s<>]+@[^\s<>]+?)>?\s*$/im.exec(report);
    if (match) {
      try {
        return identityForChannel('email', match[1]!).value;
      } catch {}
    }
  }
  if (bouncedMessageId === null) return null;
  const [sent] = await rows<{ recipient: string }>(
    db,
    sql`select recipient from email_outbox where tenant_id = ${tenantId} and message_id = ${bouncedMessageId} limit 1`,
  );
  return sent?.recipient.toLowerCase() ?? null;
}
