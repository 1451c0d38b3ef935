/**
 * Suggested matches: other customers of the tenant who are probably the same person, each with
 * why, for an agent to confirm (merge) or dismiss. Identities are unique per tenant, so one
 * address never sits on two customers; what can repeat is an address given unverified (the
 * email a visitor types before a chat) and a name.
 *  - strong, same_email: one's email identity is an email the other gave in chat, or both gave it;
 *  - weak, same_name: the same full name of at least two words, ignoring case, accents and
 *    punctuation (pg_trgm similarity would need an extension neither engine loads here).
 * No mailbox rules (dots, +tags) are guessed: they differ by provider, and a wrong merge shows one
 * person's history to another. Merged customers and dismissed pairs are never suggested.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { CustomerMatch, MatchReason } from '../../../shared/api/customers.ts';
import type { Ctx } from '../../context.ts';
import { type Executor, rows } from '../../db/client.ts';
import { customerMatchDismissals } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { getCustomer, listCustomersByIds } from './customers.queries.ts';

const MAX_MATCHES = 20;
/** A common name could match hundreds; the newest of them are enough to look at. */
const MAX_NAME_MATCHES = 50;

/** A name as compared: lower case, accents and punctuation dropped, words single-spaced. */
const normalised = (column: SQL) =>
  sql`trim(regexp_replace(regexp_replace(lower(normalize(${column}, NFD)), '[\\u0300-\\u036f]', '', 'g'), '[^[:alnum:]]+', ' ', 'g'))`;

interface ReasonRow {
  other: string;
  code: MatchReason['code'];
  value: string;
  here: MatchReason['here'];
  there: MatchReason['there'];
}

/**
 * Reads the tenant's chat sessions by visitor email and its customers by name: neither column
 * has an index (adding one needs a migration), so this is a scan of those rows per call.
 */
async function matchReasons(db: Executor, tenantId: string, customerId: string): Promise<ReasonRow[]> {
  return rows<ReasonRow>(
    db,
    sql`with me as (
          select c.id, ${normalised(sql`c.name`)} as norm from customers c
          where c.tenant_id = ${tenantId} and c.id = ${customerId} and c.merged_into_id is null),
        my_emails as (
          select i.value from customer_identities i
          where i.tenant_id = ${tenantId} and i.customer_id = ${customerId} and i.kind = 'email' and i.platform = ''),
        my_claims as (
          select distinct lower(trim(s.visitor_email)) as value from chat_sessions s
          where s.tenant_id = ${tenantId} and s.customer_id = ${customerId} and s.visitor_email is not null),
        found as (
          select i.customer_id as other, 'same_email' as code, i.value, 'chat' as here, 'identity' as there
            from my_claims m join customer_identities i
              on i.tenant_id = ${tenantId} and i.kind = 'email' and i.platform = '' and i.value = m.value
          union all
          select s.customer_id, 'same_email', e.value, 'identity', 'chat'
            from chat_sessions s join my_emails e on lower(trim(s.visitor_email)) = e.value
            where s.tenant_id = ${tenantId}
          union all
          select s.customer_id, 'same_email', m.value, 'chat', 'chat'
            from chat_sessions s join my_claims m on lower(trim(s.visitor_email)) = m.value
            where s.tenant_id = ${tenantId}
          union all
          (select c.id, 'same_name', c.name, 'name', 'name'
             from customers c join me on ${normalised(sql`c.name`)} = me.norm
             where c.tenant_id = ${tenantId} and c.id <> me.id and c.merged_into_id is null
               and me.norm like '% %'
             order by c.created_at desc limit ${MAX_NAME_MATCHES}))
        select distinct f.other, f.code, f.value, f.here, f.there
        from found f
        join customers o on o.tenant_id = ${tenantId} and o.id = f.other and o.merged_into_id is null
        where f.other <> ${customerId} and exists (select 1 from me)
          and not exists (
            select 1 from customer_match_dismissals d
            where d.tenant_id = ${tenantId}
              and d.customer_a = least(f.other, ${customerId}::uuid)
              and d.customer_b = greatest(f.other, ${customerId}::uuid))`,
  );
}

export async function findMatches(ctx: Ctx, customerId: string): Promise<CustomerMatch[]> {
  const { db, tenantId } = ctx;
  await getCustomer(db, tenantId, customerId);
  const reasons = await matchReasons(db, tenantId, customerId);
  const byOther = new Map<string, MatchReason[]>();
  for (const { other, ...reason } of reasons) byOther.set(other, [...(byOther.get(other) ?? []), reason]);
  const strength = (list: MatchReason[]) => (list.some((r) => r.code === 'same_email') ? 'strong' : 'weak');
  const ranked = [...byOther.entries()]
    .sort(
      ([a, ra], [b, rb]) =>
        Number(strength(rb) === 'strong') - Number(strength(ra) === 'strong') ||
        rb.length - ra.length ||
        a.localeCompare(b),
    )
    .slice(0, MAX_MATCHES);
  const ids = ranked.map(([id]) => id);
  const found = await listCustomersByIds(db, tenantId, ids);
  const counts = await caseCounts(db, tenantId, ids);
  return found.map((customer) => {
    const list = byOther.get(customer.id)!;
    list.sort((a, b) => a.code.localeCompare(b.code) || a.value.localeCompare(b.value));
    return { customer, strength: strength(list), reasons: list, caseCount: counts.get(customer.id) ?? 0 };
  });
}

async function caseCounts(db: Executor, tenantId: string, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const counted = await rows<{ customer_id: string; n: number }>(
    db,
    sql`select customer_id, count(*)::int as n from cases
        where tenant_id = ${tenantId}
          and customer_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)
        group by customer_id`,
  );
  return new Map(counted.map((r) => [r.customer_id, r.n]));
}

/** "Not the same person": the pair is never suggested again, from either side. Idempotent. */
export async function dismissMatch(ctx: Ctx, customerId: string, otherId: string): Promise<void> {
  const { db, tenantId } = ctx;
  await getCustomer(db, tenantId, customerId);
  await getCustomer(db, tenantId, otherId);
  if (customerId.toLowerCase() === otherId.toLowerCase()) {
    throw new AppError('same_customer', 'A customer is always the same person as themself');
  }
  const [a, b] = [customerId, otherId].map((id) => id.toLowerCase()).sort() as [string, string];
  await db
    .insert(customerMatchDismissals)
    .values({ tenantId, customerA: a, customerB: b, dismissedBy: ctx.actor.id })
    .onConflictDoNothing();
}
