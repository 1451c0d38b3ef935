/**
 * Cases: one problem, one owner. A case is unowned only while it waits in a queue; its
 * contact counts, inbox counters and events change in the same transaction as the case.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { cases } from '../../db/schema/index.ts';
import type { EventBuffer } from '../../events/publish.ts';
import { applyCounterChange } from './cases.counters.ts';
import { nextCaseNumber } from './cases.queries.ts';

type CaseRow = typeof cases.$inferSelect;

export interface OpenCaseInput {
  customerId: string;
  subject: string;
  channel: string;
  receivedAt: Date;
  teamId?: string | null;
  ownerId?: string | null;
  /** A number reserved beforehand with nextCaseNumber (see receiveContact); otherwise taken here. */
  number?: number;
}

export async function openCase(
  tx: Executor,
  tenantId: string,
  events: EventBuffer,
  input: OpenCaseInput,
): Promise<CaseRow> {
  const number = input.number ?? (await nextCaseNumber(tx, tenantId));
  const [row] = await tx
    .insert(cases)
    .values({
      tenantId,
      number,
      subject: input.subject,
      customerId: input.customerId,
      channel: input.channel,
      teamId: input.teamId ?? null,
      ownerId: input.ownerId ?? null,
      contactCount: 1,
      lastContactAt: input.receivedAt,
    })
    .returning();
  const opened = row!;
  await applyCounterChange(tx, tenantId, null, opened);
  events.add({
    type: 'case.opened',
    caseId: opened.id,
    data: { number, customerId: input.customerId, channel: input.channel },
  });
  return opened;
}

/**
 * A further contact on an existing case: counts as a repeat, brings a pending case back to
 * open, and reopens a resolved or closed one.
 */
export async function addRepeatContact(
  tx: Executor,
  events: EventBuffer,
  current: CaseRow,
  receivedAt: Date,
): Promise<CaseRow> {
  const reopen = current.status === 'resolved' || current.status === 'closed';
  const status = reopen || current.status === 'pending' ? 'open' : current.status;
  const [row] = await tx
    .update(cases)
    .set({
      contactCount: sql`${cases.contactCount} + 1`,
      repeatContactCount: sql`${cases.repeatContactCount} + 1`,
      reopenCount: reopen ? sql`${cases.reopenCount} + 1` : cases.reopenCount,
      status,
      resolvedAt: reopen ? null : current.resolvedAt,
      closedAt: reopen ? null : current.closedAt,
      lastContactAt: sql`greatest(${cases.lastContactAt}, ${receivedAt.toISOString()}::timestamptz)`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(cases.tenantId, current.tenantId), eq(cases.id, current.id)))
    .returning();
  const updated = row!;
  await applyCounterChange(tx, current.tenantId, current, updated);
  if (reopen)
    events.add({ type: 'case.reopened', caseId: current.id, data: { from: current.status, by: 'contact' } });
  else if (status !== current.status) {
    events.add({
      type: 'case.status_changed',
      caseId: current.id,
      data: { from: current.status, to: status },
    });
  }
  return updated;
}
