/**
 * Inbox badge counters. A case counts in 'all' and in 'owner'/'team'/'unassigned' while active;
 * every change to (active, owner, team) applies the difference in the same transaction.
 * Writes go to a random shard of eight so concurrent intake does not queue on one row.
 */
import { sql } from 'drizzle-orm';
import { type Executor, rows } from '../../db/client.ts';

export interface Membership {
  active: boolean;
  ownerId: string | null;
  teamId: string | null;
}

const NIL = '00000000-0000-0000-0000-000000000000';
const SHARDS = 8;

function keys(m: Membership | null): string[] {
  if (!m?.active) return [];
  const list = [`all|${NIL}`];
  list.push(m.ownerId ? `owner|${m.ownerId}` : `unassigned|${NIL}`);
  if (m.teamId) list.push(`team|${m.teamId}`);
  return list;
}

export async function applyCounterChange(
  db: Executor,
  tenantId: string,
  before: Membership | null,
  after: Membership | null,
): Promise<void> {
  const delta = new Map<string, number>();
  for (const k of keys(before)) delta.set(k, (delta.get(k) ?? 0) - 1);
  for (const k of keys(after)) delta.set(k, (delta.get(k) ?? 0) + 1);
  const changes = [...delta].filter(([, d]) => d !== 0);
  if (changes.length === 0) return;
  const shard = Math.floor(Math.random() * SHARDS);
  const views = changes.map(([k]) => k.split('|')[0]!);
  const subjects = changes.map(([k]) => k.split('|')[1]!);
  const deltas = changes.map(([, d]) => d);
  await db.execute(sql`
    insert into inbox_counters (tenant_id, view, subject_id, shard, count)
    select ${tenantId}, v, s::uuid, ${shard}, d
    from unnest(${textArray(views)}, ${textArray(subjects)}, ${textArray(deltas.map(String))}::int[]) as t(v, s, d)
    on conflict (tenant_id, view, subject_id, shard) do update set count = inbox_counters.count + excluded.count`);
}

/** A parameterised text[] (Drizzle expands a bare JS array into a list, not an array). */
function textArray(values: string[]) {
  return sql`array[${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )}]::text[]`;
}

export interface BadgeCounts {
  mine: number;
  team: number;
  unassigned: number;
  open: number;
}

/** The badge query: at most 8 shards × 4 views of inbox_counters, never a scan of cases. */
export function badgesQuery(tenantId: string, ownerId: string | null, teamIds: string[]) {
  return sql`select view, subject_id, sum(count)::int as n from inbox_counters
      where tenant_id = ${tenantId} and (
        (view in ('all', 'unassigned') and subject_id = ${NIL})
        or (view = 'owner' and subject_id = ${ownerId ?? NIL})
        or (view = 'team' and subject_id::text = any(${textArray(teamIds)})))
      group by view, subject_id`;
}

export async function readBadges(
  db: Executor,
  tenantId: string,
  ownerId: string | null,
  teamIds: string[],
): Promise<BadgeCounts> {
  const result = await rows<{ view: string; subject_id: string; n: number }>(
    db,
    badgesQuery(tenantId, ownerId, teamIds),
  );
  const get = (view: string) => result.filter((r) => r.view === view).reduce((n, r) => n + r.n, 0);
  return {
    mine: ownerId ? get('owner') : 0,
    team: get('team'),
    unassigned: get('unassigned'),
    open: get('all'),
  };
}
