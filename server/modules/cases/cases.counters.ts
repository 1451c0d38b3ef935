/**
 * Inbox badge counters, read side. The database keeps them: a trigger on cases (migration 0001,
 * cases_inbox_counters) applies every change of (active, owner, team) to one of eight shards in
 * the same transaction, whichever code path changed the case.
 */
import { sql } from 'drizzle-orm';
import { type Executor, rows } from '../../db/client.ts';

/** The subject of the 'all' and 'unassigned' views. */
const NIL = '00000000-0000-0000-0000-000000000000';

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
