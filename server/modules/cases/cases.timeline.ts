import { and, asc, eq } from 'drizzle-orm';
import type { TimelineEntry } from '../../../shared/api/cases.ts';
import type { Executor } from '../../db/client.ts';
import { events } from '../../db/schema/index.ts';
import { platformDeliveryByMessage } from '../channels/channels.deliveries.ts';
import { inboundVisibilities } from '../channels/channels.reply-targets.ts';
import { deliveryByMessage } from '../email/email.outbox.ts';
import { toTimelineMessage } from '../messages/add-message.ts';
import { emailDetailsByMessage, filesByMessage } from '../messages/message-email.ts';
import { listMessagesByIds } from '../messages/messages.queries.ts';
import { getCaseRow } from './cases.queries.ts';

/** The case's story across every channel, read from its events; message events carry the message. */
export async function getTimeline(db: Executor, tenantId: string, ref: string): Promise<TimelineEntry[]> {
  const current = await getCaseRow(db, tenantId, ref);
  const list = await db
    .select()
    .from(events)
    .where(and(eq(events.tenantId, tenantId), eq(events.caseId, current.id)))
    .orderBy(asc(events.id));
  const messageIds = list
    .map((e) => (e.data as { messageId?: string }).messageId)
    .filter((id): id is string => !!id);
  const found = await listMessagesByIds(db, tenantId, messageIds);
  const outbound = found.filter((m) => m.kind === 'outbound');
  const deliveries = new Map([
    ...(await deliveryByMessage(
      db,
      tenantId,
      outbound.filter((m) => m.channel === 'email').map((m) => m.id),
    )),
    ...(await platformDeliveryByMessage(
      db,
      tenantId,
      outbound.filter((m) => m.channel !== 'email').map((m) => m.id),
    )),
  ]);
  const emails = await emailDetailsByMessage(
    db,
    tenantId,
    found.filter((m) => m.channel === 'email').map((m) => m.id),
  );
  const files = await filesByMessage(
    db,
    tenantId,
    found.filter((m) => m.channel === 'chat').map((m) => m.id),
  );
  const visibilities = found.some((m) => m.channel === 'x' && m.kind === 'inbound')
    ? await inboundVisibilities(db, tenantId, current.id)
    : new Map<string, string>();
  const byId = new Map(
    found.map((m) => [
      m.id,
      toTimelineMessage(
        m,
        deliveries.get(m.id) ?? null,
        emails.get(m.id) ?? null,
        visibilities.get(m.id) ?? null,
        files.get(m.id),
      ),
    ]),
  );
  return list.map((e) => {
    const data = e.data as Record<string, unknown>;
    const message = typeof data.messageId === 'string' ? byId.get(data.messageId) : undefined;
    return {
      id: e.id,
      type: e.type,
      at: message?.createdAt && e.type === 'contact.received' ? message.createdAt : e.createdAt.toISOString(),
      actor: { type: e.actorType, id: e.actorId },
      data,
      ...(message ? { message } : {}),
    };
  });
}
