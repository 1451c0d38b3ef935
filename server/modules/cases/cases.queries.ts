import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { Case, CaseListQuery } from '../../../shared/api/cases.ts';
import type { Executor } from '../../db/client.ts';
import { cases } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';

type CaseRow = typeof cases.$inferSelect;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toCase(row: CaseRow): Case {
  return {
    id: row.id,
    number: row.number,
    subject: row.subject,
    status: row.status as Case['status'],
    priority: row.priority as Case['priority'],
    reason: row.reason,
    tags: row.tags,
    ownerId: row.ownerId,
    teamId: row.teamId,
    customerId: row.customerId,
    channel: row.channel as Case['channel'],
    contactCount: row.contactCount,
    repeatContactCount: row.repeatContactCount,
    reopenCount: row.reopenCount,
    lastContactAt: iso(row.lastContactAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    firstResponseAt: iso(row.firstResponseAt),
    resolvedAt: iso(row.resolvedAt),
    closedAt: iso(row.closedAt),
  };
}

/** `ref` is a case id (uuid) or its per-tenant number. */
function refCondition(tenantId: string, ref: string): SQL | null {
  if (/^\d{1,9}$/.test(ref)) return and(eq(cases.tenantId, tenantId), eq(cases.number, Number(ref)))!;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)) {
    return and(eq(cases.tenantId, tenantId), eq(cases.id, ref))!;
  }
  return null;
}

export async function findCaseRow(
  db: Executor,
  tenantId: string,
  ref: string,
  options: { lock?: boolean } = {},
): Promise<CaseRow | null> {
  const where = refCondition(tenantId, ref);
  if (!where) return null;
  const query = db.select().from(cases).where(where);
  const [row] = options.lock ? await query.for('update') : await query;
  return row ?? null;
}

export async function getCaseRow(
  db: Executor,
  tenantId: string,
  ref: string,
  options: { lock?: boolean } = {},
) {
  const row = await findCaseRow(db, tenantId, ref, options);
  if (!row) throw new AppError('case_not_found', `No case ${/^\d+$/.test(ref) ? `#${ref}` : ref} here`);
  return row;
}

/** The customer's most recently active open case, locked for the contact that joins it. */
export async function findActiveCaseForCustomer(db: Executor, tenantId: string, customerId: string) {
  const [row] = await db
    .select()
    .from(cases)
    .where(and(eq(cases.tenantId, tenantId), eq(cases.customerId, customerId), eq(cases.active, true)))
    .orderBy(sql`updated_at desc nulls last, id desc nulls last`)
    .limit(1)
    .for('update');
  return row ?? null;
}

interface Cursor {
  u: string;
  i: string;
}

function encodeCursor(row: CaseRow): string {
  return Buffer.from(JSON.stringify({ u: row.updatedAt.toISOString(), i: row.id } satisfies Cursor)).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.u === 'string' && !Number.isNaN(Date.parse(c.u)) && /^[0-9a-f-]{36}$/.test(c.i)) return c;
  } catch {}
  throw new AppError('invalid_cursor', 'The cursor is not one this API handed out');
}

export interface ListFilter extends Omit<CaseListQuery, 'owner'> {
  /** Resolved owner: a user id, or null for unassigned. */
  owner?: string | null;
}

/**
 * The SQL of one page of cases, newest activity first. Each filter combination used by the inbox
 * has an index ending in (updated_at desc, id desc), so the scan walks it in order and stops at
 * `limit`; tests/query-plans.test.ts EXPLAINs this exact query.
 */
export function buildListCasesQuery(db: Executor, tenantId: string, filter: ListFilter) {
  const limit = filter.limit ?? 50;
  const where: SQL[] = [sql`tenant_id = ${tenantId}`];
  if (filter.status === 'active') where.push(sql`active`);
  else if (filter.status) where.push(sql`status = ${filter.status}`);
  if (filter.owner === null) where.push(sql`owner_id is null`);
  else if (filter.owner) where.push(sql`owner_id = ${filter.owner}`);
  if (filter.team) where.push(sql`team_id = ${filter.team}`);
  if (filter.customer) where.push(sql`customer_id = ${filter.customer}`);
  if (filter.channel) where.push(sql`channel = ${filter.channel}`);
  if (filter.cursor) {
    const c = decodeCursor(filter.cursor);
    where.push(sql`(updated_at, id) < (${c.u}::timestamptz, ${c.i}::uuid)`);
  }
  return db
    .select()
    .from(cases)
    .where(sql.join(where, sql` and `))
    .orderBy(sql`updated_at desc nulls last, id desc nulls last`)
    .limit(limit + 1);
}

export async function listCases(db: Executor, tenantId: string, filter: ListFilter) {
  const limit = filter.limit ?? 50;
  const page = await buildListCasesQuery(db, tenantId, filter);
  const more = page.length > limit;
  const items = more ? page.slice(0, limit) : page;
  return { items: items.map(toCase), nextCursor: more ? encodeCursor(items[items.length - 1]!) : null };
}
