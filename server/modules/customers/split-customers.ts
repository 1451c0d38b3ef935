/**
 * Splitting a wrong merge: what the merge moved and is still with the survivor goes back to the
 * merged customer (a case goes back even if it changed since); what the survivor gained after
 * the merge stays with it. The merged record becomes a customer of its own again.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { MergeResult } from '../../../shared/api/customers.ts';
import type { Ctx } from '../../context.ts';
import { customerMerges, customers } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { recordEvents } from '../../events/publish.ts';
import { withRetry } from '../../lib/retry.ts';
import {
  getMergeRow,
  lockPair,
  type Moved,
  moveRows,
  OWN_FIELDS,
  type OwnFields,
} from './customers.merges.ts';
import { customerEvents, presentMerge } from './merge-customers.ts';

export async function splitCustomers(ctx: Ctx, mergeId: string): Promise<MergeResult> {
  const { tenantId } = ctx;
  const first = await getMergeRow(ctx.db, tenantId, mergeId);
  await withRetry(() =>
    ctx.db.transaction(async (tx) => {
      // Customers first, then the merge row: the order a merge takes them in.
      const [survivor, merged] = await lockPair(tx, tenantId, first.survivorId, first.mergedId);
      const row = await getMergeRow(tx, tenantId, mergeId, { lock: true });
      if (row.splitAt) throw new AppError('customer_merge_split', 'This merge was split already');
      if (survivor.mergedIntoId) {
        throw new AppError(
          'customer_merged',
          `${survivor.name ?? 'The surviving customer'} was merged into another customer since: split that merge first`,
          [{ path: 'mergedIntoId', message: survivor.mergedIntoId }],
        );
      }
      const moved = row.moved as Moved;
      const back = await moveRows(tx, tenantId, survivor.id, merged.id, moved);
      // Fields the merge filled on the survivor are emptied again, unless someone changed them since.
      const clear: Partial<OwnFields> = {};
      for (const field of OWN_FIELDS) {
        const filled = moved.filled[field];
        if (filled !== undefined && survivor[field] === filled) clear[field] = null;
      }
      await tx
        .update(customers)
        .set({ ...clear, updatedAt: sql`now()` })
        .where(and(eq(customers.tenantId, tenantId), eq(customers.id, survivor.id)));
      await tx
        .update(customers)
        .set({ mergedIntoId: null, updatedAt: sql`now()` })
        .where(and(eq(customers.tenantId, tenantId), eq(customers.id, merged.id)));
      await tx
        .update(customerMerges)
        .set({ splitAt: ctx.now(), splitBy: ctx.actor.id })
        .where(and(eq(customerMerges.tenantId, tenantId), eq(customerMerges.id, mergeId)));
      await recordEvents(
        tx,
        tenantId,
        ctx.actor,
        customerEvents('customer.split', row, back, {
          survivorName: survivor.name,
          mergedName: merged.name,
        }),
      );
    }),
  );
  return presentMerge(ctx, mergeId);
}
