/**
 * The new-case acknowledgement, queued in the transaction that processed the customer's mail.
 * It is an automatic outbound message of the case ('auto-replied', no author), so the timeline
 * shows what the customer was sent and its delivery like any reply's, and our Message-ID names
 * it. At most ACK_CAP go to one recipient per channel per ACK_WINDOW_HOURS (SECURITY.md EL-03):
 * one held back by the cap is recorded on the case as `email.acknowledgement_suppressed`, since
 * a sender that keeps opening cases is most likely another machine answering ours (a mail loop).
 */
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Acknowledgement as AckSettings } from '../../../shared/api/channels.ts';
import { systemActor } from '../../context.ts';
import { type Executor, rows } from '../../db/client.ts';
import { cases, channels, emailMessages, teams, users } from '../../db/schema/index.ts';
import { recordEvents } from '../../events/publish.ts';
import { insertMessage } from '../messages/messages.queries.ts';
import { ackLocale, acknowledgement } from './email.ack.ts';
import { ComposeError, composeEmail } from './email.compose.ts';
import { bare, domainOf, organisationName, queueMail } from './email.outbox.ts';
import { messageIdFor, replyAddress, subjectWithTag, type ThreadingSecret } from './email.threading.ts';

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
 * queued: the acknowledgement is a message of the case, waiting in the outbox.
 * suppressed: the recipient had one from this channel within the window (EL-03); recorded on the case.
 * off: the channel does not acknowledge (or is not this tenant's email channel).
 * unwritable: an address we cannot write safely; the customer's mail is still processed.
 */
export type AcknowledgementOutcome =
  | { status: 'queued'; messageId: string }
  | { status: 'suppressed' }
  | { status: 'off' }
  | { status: 'unwritable' };

/** Queues the new-case acknowledgement as automatic mail, in the caller's transaction. */
export async function enqueueAcknowledgement(
  tx: Executor,
  input: AcknowledgementInput,
  options: { secret: ThreadingSecret; now?: Date },
): Promise<AcknowledgementOutcome> {
  const { secret } = options;
  const [channel] = await tx
    .select()
    .from(channels)
    .where(and(eq(channels.tenantId, input.tenantId), eq(channels.id, input.channelId)));
  const settings = (channel?.settings as { acknowledgement?: AckSettings } | undefined)?.acknowledgement;
  if (!channel?.address || channel.type !== 'email' || !settings?.enabled) return { status: 'off' };
  const [current] = await tx
    .select({ customerId: cases.customerId })
    .from(cases)
    .where(and(eq(cases.tenantId, input.tenantId), eq(cases.id, input.caseId)));
  if (!current) return { status: 'off' };
  const recipient = input.recipient.trim().toLowerCase();

  // Two deliveries from the same sender at once must not both pass the count.
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`ack:${input.tenantId}:${input.channelId}:${recipient}`}, 0))`,
  );
  const [recent] = await rows<{ n: number }>(
    tx,
    sql`select count(*)::int as n from email_outbox
        where tenant_id = ${input.tenantId} and channel_id = ${input.channelId}
          and recipient = ${recipient} and kind = 'acknowledgement'
          and created_at > now() - make_interval(hours => ${ACK_WINDOW_HOURS})`,
  );
  if ((recent?.n ?? 0) >= ACK_CAP) {
    await recordEvents(tx, input.tenantId, systemActor, [
      {
        type: 'email.acknowledgement_suppressed',
        caseId: input.caseId,
        data: { recipient, channelId: channel.id, windowHours: ACK_WINDOW_HOURS },
      },
    ]);
    return { status: 'suppressed' };
  }

  const customerLocale = input.locale?.trim() ?? '';
  const ownLanguage =
    customerLocale !== '' && (ackLocale(customerLocale) !== 'en' || /^en\b/i.test(customerLocale));
  const organisation = await organisationName(tx, input.tenantId);
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
  // Composed before anything is written: mail that cannot be written leaves no message behind.
  const messageId = randomUUID();
  const subject = subjectWithTag(secret, input.tenantId, input.caseNumber, ack.subject);
  const to = [{ address: recipient, name: input.customerName }];
  let mail: Awaited<ReturnType<typeof composeEmail>>;
  try {
    mail = await composeEmail({
      from: { address: channel.address, name: organisation },
      to,
      replyTo: { address: replyAddress(secret, channel.address, ref) },
      subject,
      text: ack.text,
      html: ack.html,
      messageId: messageIdFor(secret, { ...ref, messageId }, domainOf(channel.address)),
      inReplyTo: input.inReplyTo,
      references: input.inReplyTo ? [input.inReplyTo] : [],
      automatic: 'auto-replied',
      headers: { 'Content-Language': ack.locale },
      date: options.now ?? new Date(),
    });
  } catch (err) {
    if (err instanceof ComposeError) return { status: 'unwritable' };
    throw err;
  }
  await insertMessage(tx, {
    id: messageId,
    tenantId: input.tenantId,
    caseId: input.caseId,
    customerId: current.customerId,
    channel: 'email',
    kind: 'outbound',
    text: ack.text,
  });
  const inReplyTo = input.inReplyTo ? bare(input.inReplyTo) : null;
  await tx.insert(emailMessages).values({
    tenantId: input.tenantId,
    messageId,
    channelId: channel.id,
    headerMessageId: bare(mail.messageId),
    inReplyTo,
    references: inReplyTo ? [inReplyTo] : [],
    fromAddress: channel.address,
    fromName: organisation,
    to: to.map((a) => ({ address: a.address, name: a.name ?? '' })),
    subject,
    // Generated from the template with every value escaped (XS-04): "Show the whole email".
    html: ack.html,
    automatic: 'auto_reply',
  });
  await queueMail(tx, null, {
    tenantId: input.tenantId,
    channelId: channel.id,
    messageId,
    kind: 'acknowledgement',
    recipient,
    mail,
  });
  await recordEvents(tx, input.tenantId, systemActor, [
    {
      type: 'email.acknowledgement_queued',
      caseId: input.caseId,
      data: { messageId, channel: 'email', recipient },
    },
  ]);
  return { status: 'queued', messageId };
}

export interface AckRequest {
  tenantId: string;
  channelId: string;
  caseId: string;
  recipient: string;
  customerName: string | null;
  caseNumber: number;
  subject: string;
  ownerId: string | null;
  teamId: string | null;
  locale: string;
  inReplyTo: string | null;
}

/** The acknowledgement of a case the customer's mail just opened, naming its owner or team. */
export async function acknowledgeNewCase(
  tx: Executor,
  secret: Buffer,
  now: Date,
  request: AckRequest,
): Promise<AcknowledgementOutcome> {
  const [owner] = request.ownerId
    ? await tx
        .select({ name: users.displayName })
        .from(users)
        .where(and(eq(users.tenantId, request.tenantId), eq(users.id, request.ownerId)))
    : [];
  const [team] = request.teamId
    ? await tx
        .select({ name: teams.name })
        .from(teams)
        .where(and(eq(teams.tenantId, request.tenantId), eq(teams.id, request.teamId)))
    : [];
  const { ownerId: _o, teamId: _t, ...rest } = request;
  return enqueueAcknowledgement(
    tx,
    { ...rest, ownerName: owner?.name ?? null, teamName: team?.name ?? null },
    { secret, now },
  );
}
