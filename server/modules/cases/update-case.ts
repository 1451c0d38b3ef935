import { and, eq, sql } from 'drizzle-orm';
import type { Case, CaseUpdate } from '../../../shared/api/cases.ts';
import { type CaseStatus, canMove } from '../../../shared/domain/cases.ts';
import type { Ctx } from '../../context.ts';
import { cases } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { type NewEvent, recordEvents } from '../../events/publish.ts';
import { assertAssignableUser, assertTeam } from '../directory/directory.service.ts';
import { getCaseRow, toCase } from './cases.queries.ts';

/**
 * Changes owner, team, status, priority, reason, tags or subject; one event per changed field.
 * Resolving or closing an unowned case makes the person who does it its owner.
 */
export async function updateCase(ctx: Ctx, ref: string, patch: CaseUpdate): Promise<Case> {
  return ctx.db.transaction(async (tx) => {
    const current = await getCaseRow(tx, ctx.tenantId, ref, { lock: true });
    const set: Partial<typeof cases.$inferInsert> = {};
    const events: NewEvent[] = [];
    const caseId = current.id;
    const change = (type: NewEvent['type'], from: unknown, to: unknown) =>
      events.push({ type, caseId, data: { from, to } });

    let ownerId = current.ownerId;
    if (patch.ownerId !== undefined && patch.ownerId !== current.ownerId) {
      if (patch.ownerId) await assertAssignableUser(tx, ctx.tenantId, patch.ownerId);
      ownerId = patch.ownerId;
    }
    if (patch.teamId !== undefined && patch.teamId !== current.teamId) {
      if (patch.teamId) await assertTeam(tx, ctx.tenantId, patch.teamId);
      set.teamId = patch.teamId;
      change('case.team_changed', current.teamId, patch.teamId);
    }
    if (patch.status !== undefined && patch.status !== current.status) {
      const from = current.status as CaseStatus;
      if (!canMove(from, patch.status)) {
        throw new AppError('invalid_transition', `A ${from} case cannot move to ${patch.status}`);
      }
      set.status = patch.status;
      if (patch.status === 'resolved') set.resolvedAt = ctx.now();
      if (patch.status === 'closed') set.closedAt = ctx.now();
      if ((from === 'resolved' || from === 'closed') && patch.status === 'open') {
        set.reopenCount = current.reopenCount + 1;
        set.resolvedAt = null;
        set.closedAt = null;
        events.push({ type: 'case.reopened', caseId, data: { from, by: 'staff' } });
      } else {
        change('case.status_changed', from, patch.status);
      }
      if (
        (patch.status === 'resolved' || patch.status === 'closed') &&
        !ownerId &&
        ctx.actor.type === 'user'
      ) {
        ownerId = ctx.actor.id;
      }
    }
    if (ownerId !== current.ownerId) {
      set.ownerId = ownerId;
      change('case.owner_changed', current.ownerId, ownerId);
    }
    if (patch.priority !== undefined && patch.priority !== current.priority) {
      set.priority = patch.priority;
      change('case.priority_changed', current.priority, patch.priority);
    }
    if (patch.reason !== undefined && patch.reason !== current.reason) {
      set.reason = patch.reason;
      change('case.reason_changed', current.reason, patch.reason);
    }
    if (patch.tags !== undefined) {
      const tags = [...new Set(patch.tags.map((t) => t.trim().toLowerCase()))].sort();
      if (tags.join('\u0000') !== [...current.tags].sort().join('\u0000')) {
        set.tags = tags;
        change('case.tags_changed', current.tags, tags);
      }
    }
    if (patch.subject !== undefined && patch.subject !== current.subject) {
      set.subject = patch.subject;
      change('case.subject_changed', current.subject, patch.subject);
    }
    if (events.length === 0) return toCase(current);

    const [row] = await tx
      .update(cases)
      .set({ ...set, updatedAt: sql`now()` })
      .where(and(eq(cases.tenantId, ctx.tenantId), eq(cases.id, caseId)))
      .returning();
    await recordEvents(tx, ctx.tenantId, ctx.actor, events);
    return toCase(row!);
  });
}
