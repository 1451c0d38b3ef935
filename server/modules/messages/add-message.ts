import { and, eq, sql } from 'drizzle-orm';
import type { Delivery, EmailDetails, MessageFile, MessageInput } from '../../../shared/api/cases.ts';
import type { Ctx } from '../../context.ts';
import { attachments, cases, messages } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { type NewEvent, recordEvents } from '../../events/publish.ts';
import { getCaseRow, toCase } from '../cases/cases.queries.ts';
import { queueDelivery, sendsOnPlatform } from '../channels/channels.deliveries.ts';
import { preparePlatformReply } from '../channels/channels.reply-rules.ts';
import { checkChatFile } from '../chat/chat.attachments.ts';
import type { AttachmentStore, StoredAttachment } from '../email/email.attachments.ts';
import { enqueueReply, type MailKeys } from '../email/email.reply.ts';
import { cleanName } from './message-email.ts';
import { insertMessage } from './messages.queries.ts';
import { defaultReply } from './reply-default.ts';

/** A file the agent attached to a reply, as read from the upload. */
export interface Upload {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface AddMessageOptions {
  /** A reply on email is queued for sending (the API); the demo seed mails no one. */
  email?: MailKeys;
  /** Where attachment bytes are kept; needed when `files` are given. */
  store?: AttachmentStore;
  /**
   * Files sent with a reply by email (attached to the mail) or in the chat (the widget's types
   * only, pushed to the visitor with the message): stored and listed on the message.
   */
  files?: Upload[];
  /** A reply on a messaging platform (SMS, WhatsApp, …) is queued for its sender (the API). */
  deliveries?: boolean;
  /** What the channel adds to the message (a logged call's details). */
  metadata?: Record<string, unknown>;
}

const notSent = (why: string) =>
  new AppError('attachments_not_sent', `Files go only with a reply by email or in the chat: ${why}`, [
    { path: 'body.files', message: why },
  ]);

/**
 * A reply to the customer or an internal note. A reply goes out on the channel named, else by
 * defaultReply (where the customer last wrote); the first reply sets first response time, moves a new
 * case to open, and makes an unowned case the replier's (one accountable owner).
 */
export async function addMessage(
  ctx: Ctx,
  ref: string,
  input: MessageInput,
  options: AddMessageOptions = {},
) {
  const authorUserId = ctx.actor.type === 'user' ? ctx.actor.id : null;
  const files = (options.files ?? []).map((f) => ({ ...f, filename: cleanName(f.filename) }));
  if (files.length > 0 && input.kind !== 'reply') throw notSent('a note is never sent');
  if (files.length > 0 && !options.store) throw notSent('this reply keeps no files');
  return ctx.db.transaction(async (tx) => {
    const current = await getCaseRow(tx, ctx.tenantId, ref, { lock: true });
    if (input.kind === 'reply' && current.status === 'closed') {
      throw new AppError('invalid_transition', 'A closed case takes no replies; reopen it first');
    }
    const channel = input.channel ?? (await defaultReply(tx, ctx.tenantId, current)).channel;
    if (files.length > 0 && channel !== 'email' && channel !== 'chat')
      throw notSent(`this reply goes out by ${channel}`);
    // The widget shows images, PDF and text only, and a file must be what it says (XS-03).
    if (channel === 'chat') for (const f of files) f.contentType = checkChatFile(f.contentType, f.content);
    // WhatsApp's 24-hour window and templates, X's public or direct reply, each platform's length.
    const platform = await preparePlatformReply(tx, ctx.tenantId, current, { ...input, channel }, ctx.now());
    // Bytes once the reply may carry them, durable before a row names them; the store is
    // content-addressed, so a reply rolled back below leaves files no row names, which the same
    // upload later finds in place.
    const kept: StoredAttachment[] = [];
    for (const f of files) kept.push(await options.store!.put(f.content, f));
    const message = await insertMessage(tx, {
      tenantId: ctx.tenantId,
      caseId: current.id,
      customerId: current.customerId,
      channel,
      kind: input.kind === 'reply' ? 'outbound' : 'note',
      text: platform?.text ?? input.text,
      metadata: platform?.metadata ?? options.metadata ?? null,
      authorUserId,
    });
    // Composed and queued in this transaction: a reply that cannot be sent is not stored.
    const delivery =
      input.kind === 'reply' && options.deliveries && (platform || sendsOnPlatform(channel))
        ? await queueDelivery(tx, ctx.tenantId, message.id, channel, platform?.target ?? null)
        : input.kind === 'reply' && channel === 'email' && options.email
          ? await enqueueReply(
              tx,
              {
                tenantId: ctx.tenantId,
                caseId: current.id,
                messageId: message.id,
                authorUserId,
                text: input.text,
                date: ctx.now(),
                attachments: files,
              },
              options.email,
            )
          : null;
    if (files.length > 0 && channel === 'email' && delivery === null)
      throw notSent('the organisation has no email channel');
    const saved =
      files.length === 0
        ? []
        : await tx
            .insert(attachments)
            .values(
              files.map((f, i) => ({
                tenantId: ctx.tenantId,
                messageId: message.id,
                filename: f.filename,
                contentType: f.contentType,
                size: kept[i]!.size,
                sha256: kept[i]!.sha256,
                storageKey: kept[i]!.key,
              })),
            )
            .returning({
              id: attachments.id,
              filename: attachments.filename,
              contentType: attachments.contentType,
              size: attachments.size,
            });
    const events: NewEvent[] = [
      {
        type: input.kind === 'reply' ? 'message.replied' : 'message.noted',
        caseId: current.id,
        data: { messageId: message.id, channel },
      },
    ];
    let row = current;
    if (input.kind === 'reply') {
      const takeOwnership = !current.ownerId && authorUserId !== null;
      const status = current.status === 'new' ? 'open' : current.status;
      const [updated] = await tx
        .update(cases)
        .set({
          firstResponseAt: current.firstResponseAt ?? sql`now()`,
          status,
          ownerId: takeOwnership ? authorUserId : current.ownerId,
          updatedAt: sql`now()`,
        })
        .where(and(eq(cases.tenantId, ctx.tenantId), eq(cases.id, current.id)))
        .returning();
      row = updated!;
      if (status !== current.status) {
        events.push({
          type: 'case.status_changed',
          caseId: current.id,
          data: { from: current.status, to: status },
        });
      }
      if (takeOwnership) {
        events.push({
          type: 'case.owner_changed',
          caseId: current.id,
          data: { from: null, to: authorUserId },
        });
      }
    }
    await recordEvents(tx, ctx.tenantId, ctx.actor, events);
    const [stored] = await tx
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), eq(messages.id, message.id)));
    // The timeline lists a chat message's files on it (an email's are in its email details).
    const shown = channel === 'chat' ? saved : [];
    return { message: toTimelineMessage(stored!, delivery, null, null, shown), case: toCase(row) };
  });
}

export function toTimelineMessage(
  m: typeof messages.$inferSelect,
  delivery: Delivery | null = null,
  email: EmailDetails | null = null,
  /** X: how an inbound message was written (its contact's attributes); a reply's is in its metadata. */
  inboundVisibility: string | null = null,
  files: MessageFile[] = [],
) {
  const metadata = (m.metadata ?? {}) as { visibility?: unknown; template?: { name?: unknown } };
  const visibility = inboundVisibility ?? metadata.visibility;
  const template = metadata.template?.name;
  return {
    id: m.id,
    kind: m.kind as 'inbound' | 'outbound' | 'note',
    channel: m.channel as never,
    text: m.text,
    authorUserId: m.authorUserId,
    authorCustomerId: m.authorCustomerId,
    createdAt: m.createdAt.toISOString(),
    delivery,
    email,
    ...(visibility === 'public' || visibility === 'direct'
      ? { visibility: visibility as 'public' | 'direct' }
      : {}),
    ...(typeof template === 'string' ? { template } : {}),
    ...(files.length > 0 ? { files } : {}),
  };
}
