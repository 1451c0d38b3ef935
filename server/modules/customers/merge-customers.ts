/**
 * Merging two customer records an agent confirmed to be one person: everything of the merged
 * customer moves to the survivor in one transaction, the merged record stays as history
 * (merged_into_id), and customer_merges keeps exactly what moved so a split can undo it.
 * The survivor's open cases are not combined: each case stays a case of its own.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { MergeResult } from '../../../shared/api/customers.ts';
import type { Ctx } from '../../context.ts';
import { type Executor, rows } from '../../db/client.ts';
import { customerMerges, customers } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import type { EventType } from '../../events/catalog.ts';
import { type NewEvent, recordEvents } from '../../events/publish.ts';
import { withRetry } from '../../lib/retry.ts';
import {
  getMergeRow,
  lockPair,
  type MergeRow,
  type Moved,
  type MovedRows,
  merged as mergedError,
  movedAnything,
  moveRows,
  OWN_FIELDS,
  type OwnFields,
  ownFields,
  toCustomerMerge,
} from './customers.merges.ts';
import { getCustomer } from './customers.queries.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function mergeCustomers(ctx: Ctx, survivorId: string, mergedId: string): Promise<MergeResult> {
  if (!UUID.test(survivorId)) throw new AppError('customer_not_found', 'No such customer here');
  if (survivorId.toLowerCase() === mergedId.toLowerCase()) {
    throw new AppError('same_customer', 'A customer cannot be merged into themself', [
      { path: 'body.mergedId', message: 'must be another customer' },
    ]);
  }
  const { tenantId } = ctx;
  const mergeId = await withRetry(() =>
    ctx.db.transaction(async (tx) => {
      const [survivor, merged] = await lockPair(tx, tenantId, survivorId, mergedId);
      if (survivor.mergedIntoId) throw mergedError(survivor);
      if (merged.mergedIntoId) throw mergedError(merged);

      const rows = await moveRows(tx, tenantId, merged.id, survivor.id);
      // The survivor keeps what it knows; only its empty fields take the merged record's values.
      const filled: Partial<OwnFields> = {};
      for (const field of OWN_FIELDS) {
        if (survivor[field] === null && merged[field] !== null) filled[field] = merged[field];
      }
      await tx
        .update(customers)
        .set({ ...filled, updatedAt: sql`now()` })
        .where(and(eq(customers.tenantId, tenantId), eq(customers.id, survivor.id)));
      await tx
        .update(customers)
        .set({ mergedIntoId: survivor.id, updatedAt: sql`now()` })
        .where(and(eq(customers.tenantId, tenantId), eq(customers.id, merged.id)));
      const moved: Moved = { ...rows, customer: ownFields(merged), filled };
      const [row] = await tx
        .insert(customerMerges)
        .values({ tenantId, survivorId: survivor.id, mergedId: merged.id, moved, mergedBy: ctx.actor.id })
        .returning();
      await recordEvents(
        tx,
        tenantId,
        ctx.actor,
        customerEvents('customer.merged', row!, rows, {
          survivorName: survivor.name ?? filled.name ?? null,
          mergedName: merged.name,
        }),
      );
      return row!.id;
    }),
  );
  await transactionsStartedBefore(ctx.db);
  await absorbLateArrivals(ctx, mergeId);
  return presentMerge(ctx, mergeId);
}

/** Longest wait for older transactions: an intake batch takes milliseconds; something idle in a transaction must not hold a merge up. */
const OLDER_TRANSACTIONS_WAIT_MS = 3000;

/**
 * Waits until every transaction of this database that was running when it was called has
 * ended, the way CREATE INDEX CONCURRENTLY waits for older snapshots: each running transaction
 * holds the lock on its own virtual transaction id until it ends. On PGlite nothing else runs.
 */
async function transactionsStartedBefore(db: Executor): Promise<void> {
  const running = sql`select l.virtualxid from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'virtualxid' and l.mode = 'ExclusiveLock' and l.granted
      and l.pid <> pg_backend_pid() and a.datname = current_database()`;
  const older = (await rows<{ virtualxid: string }>(db, running)).map((r) => r.virtualxid);
  const deadline = Date.now() + OLDER_TRANSACTIONS_WAIT_MS;
  while (older.length > 0 && Date.now() < deadline) {
    const still = await rows<{ n: number }>(
      db,
      sql`select count(*)::int as n from pg_locks
          where locktype = 'virtualxid' and mode = 'ExclusiveLock'
            and virtualxid in (select jsonb_array_elements_text(${JSON.stringify(older)}::jsonb))`,
    );
    if (still[0]!.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A contact that read the merged customer's identity just before the merge committed and then
 * waited for that customer's lock still lands on the merged record (receive_contact does not
 * follow merged_into_id). Once every transaction older than the merge's commit has ended, this
 * moves what such contacts added, recording it in the merge.
 */
async function absorbLateArrivals(ctx: Ctx, mergeId: string): Promise<void> {
  const { tenantId } = ctx;
  await withRetry(() =>
    ctx.db.transaction(async (tx) => {
      const first = await getMergeRow(tx, tenantId, mergeId);
      const [survivor, merged] = await lockPair(tx, tenantId, first.survivorId, first.mergedId);
      const row = await getMergeRow(tx, tenantId, mergeId, { lock: true });
      if (row.splitAt || merged.mergedIntoId !== survivor.id || survivor.mergedIntoId) return;
      const late = await moveRows(tx, tenantId, merged.id, survivor.id);
      if (!movedAnything(late)) return;
      ctx.log.info({ mergeId, cases: late.cases.length }, 'contacts that arrived during a merge moved too');
      const moved = row.moved as Moved;
      const all: Moved = { ...moved };
      for (const key of Object.keys(late) as (keyof MovedRows)[]) {
        (all[key] as unknown[]) = [...moved[key], ...late[key]];
      }
      await tx
        .update(customerMerges)
        .set({ moved: all })
        .where(and(eq(customerMerges.tenantId, tenantId), eq(customerMerges.id, mergeId)));
      const names = { survivorName: survivor.name, mergedName: moved.customer.name };
      const events = customerEvents('customer.merged', row, late, names).filter((e) => e.caseId);
      await recordEvents(tx, tenantId, ctx.actor, events);
    }),
  );
}

/** One event on each case that changed hands (so its timeline says so) and one for the pair itself. */
export function customerEvents(
  type: Extract<EventType, 'customer.merged' | 'customer.split'>,
  merge: MergeRow,
  rows: MovedRows,
  names: { survivorName: string | null; mergedName: string | null },
): NewEvent[] {
  const data = { mergeId: merge.id, survivorId: merge.survivorId, mergedId: merge.mergedId, ...names };
  return [
    { type, caseId: null, data: { ...data, cases: rows.cases.length } },
    ...rows.cases.map((c) => ({ type, caseId: c.id, data })),
  ];
}

export async function presentMerge(ctx: { tenantId: string; db: Executor }, mergeId: string) {
  const row = await getMergeRow(ctx.db, ctx.tenantId, mergeId);
  return {
    merge: toCustomerMerge(row),
    survivor: await getCustomer(ctx.db, ctx.tenantId, row.survivorId),
    merged: await getCustomer(ctx.db, ctx.tenantId, row.mergedId),
  };
}
