import { and, eq, sql } from 'drizzle-orm';
import type { EmailDetails, MessageInput } from '../../../shared/api/cases.ts';
import type { Ctx } from '../../context.ts';
import { cases, messages } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { type NewEvent, recordEvents } from '../../events/publish.ts';
import { getCaseRow, toCase } from '../cases/cases.queries.ts';
import { type Delivery, enqueueReply } from '../email/email.outbox.ts';
import { insertMessage } from './messages.queries.ts';

/**
 * A reply to the customer or an internal note. A reply goes out on the channel the customer
 * last wrote on unless another is named; the first reply sets first response time, moves a new
 * case to open, and makes an unowned case the replier's (one accountable owner).
 */
export async function addMessage(
  ctx: Ctx,
  ref: string,
  input: MessageInput,
  /** `email`: a reply on email is queued for sending (the API); the demo seed mails no one. */
  options: { email?: boolean } = {},
) {
  const authorUserId = ctx.actor.type === 'user' ? ctx.actor.id : null;
  return ctx.db.transaction(async (tx) => {
    const current = await getCaseRow(tx, ctx.tenantId, ref, { lock: true });
    if (input.kind === 'reply' && current.status === 'closed') {
      throw new AppError('invalid_transition', 'A closed case takes no replies; reopen it first');
    }
    const channel =
      input.channel ?? (await lastInboundChannel(tx, ctx.tenantId, current.id)) ?? current.channel;
    const message = await insertMessage(tx, {
      tenantId: ctx.tenantId,
      caseId: current.id,
      customerId: current.customerId,
      channel,
      kind: input.kind === 'reply' ? 'outbound' : 'note',
      text: input.text,
      authorUserId,
    });
    // Composed and queued in this transaction: a reply that cannot be mailed is not stored.
    const delivery =
      input.kind === 'reply' && channel === 'email' && options.email
        ? await enqueueReply(tx, {
            tenantId: ctx.tenantId,
            caseId: current.id,
            messageId: message.id,
            authorUserId,
            text: input.text,
            date: ctx.now(),
          })
        : null;
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
    return { message: toTimelineMessage(stored!, delivery), case: toCase(row) };
  });
}

async function lastInboundChannel(db: Ctx['db'], tenantId: string, caseId: string): Promise<string | null> {
  const [row] = await db
    .select({ channel: messages.channel })
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.caseId, caseId), eq(messages.kind, 'inbound')))
    .orderBy(sql`created_at desc`)
    .limit(1);
  return row?.channel ?? null;
}

export function toTimelineMessage(
  m: typeof messages.$inferSelect,
  delivery: Delivery | null = null,
  email: EmailDetails | null = null,
) {
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
  };
}
