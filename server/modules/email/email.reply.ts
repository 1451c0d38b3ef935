/**
 * An agent's reply as email, composed and queued in the reply's own transaction.
 *
 * When a reply goes out by email: the reply's channel (the one named, else the channel the
 * customer last wrote on, else the case's first channel; see add-message.ts) is email, the
 * tenant has an active email channel, and the customer has an email address. The mail goes
 * through the channel of the case's latest inbound email (else the tenant's oldest active email
 * channel) to the address that email came from when it is one of the customer's, else to the
 * customer's newest email identity. A tenant without an email channel records the reply only.
 */
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import {
  cases,
  channels,
  customerIdentities,
  customers,
  emailMessages,
  messages,
  users,
} from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { type ComposeAttachment, ComposeError, type ComposeInput, composeEmail } from './email.compose.ts';
import type { RawMailStore } from './email.inbound.ts';
import {
  bare,
  composeFailure,
  type Delivery,
  domainOf,
  organisationName,
  queueMail,
} from './email.outbox.ts';
import { messageIdFor, replyAddress, subjectWithTag, type ThreadingSecret } from './email.threading.ts';

/** How outbound mail is written: the threading key and where large messages are kept. */
export interface MailKeys {
  /** deriveKey(appSecret, 'email-threading'): signs reply tokens, Message-IDs and subject tags. */
  secret: ThreadingSecret;
  /** The raw mail store; a message over 1 MiB (files) is kept there. */
  rawMail: RawMailStore;
}

export interface ReplyInput {
  tenantId: string;
  caseId: string;
  /** The outbound message just inserted (messages.id). */
  messageId: string;
  authorUserId: string | null;
  text: string;
  date: Date;
  /** Files the agent attached, sent as MIME attachments. */
  attachments?: ComposeAttachment[];
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

/**
 * Composes an agent's reply and queues it, in the caller's transaction (the one that inserted
 * the message). Returns the delivery to show, or null when the tenant has no email channel.
 * A message that cannot be composed safely throws a 422 AppError, rolling the reply back.
 */
export async function enqueueReply(
  tx: Executor,
  input: ReplyInput,
  keys: MailKeys,
): Promise<Delivery | null> {
  const { secret } = keys;
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
    attachments: input.attachments ?? [],
    date: input.date,
  };
  let mail: Awaited<ReturnType<typeof composeEmail>>;
  try {
    mail = await composeEmail(compose);
  } catch (err) {
    if (err instanceof ComposeError) throw composeFailure(err);
    throw err;
  }
  const inReplyTo = inbound?.headerMessageId ? bare(inbound.headerMessageId) : null;
  await tx.insert(emailMessages).values({
    tenantId: input.tenantId,
    messageId: input.messageId,
    channelId: channel.id,
    headerMessageId: bare(mail.messageId),
    inReplyTo,
    references: [...(inbound?.references ?? []).map(bare), ...(inReplyTo ? [inReplyTo] : [])],
    fromAddress: channel.address,
    fromName: compose.from.name ?? null,
    to: [{ address: recipient, name: customer?.name ?? null }],
    subject,
  });
  await queueMail(tx, keys.rawMail, {
    tenantId: input.tenantId,
    channelId: channel.id,
    messageId: input.messageId,
    kind: 'reply',
    recipient,
    mail,
  });
  return { status: 'queued', attempts: 0 };
}
