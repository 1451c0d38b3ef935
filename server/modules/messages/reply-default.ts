/**
 * Where a reply goes when the agent does not choose: where the customer last wrote in this case
 * (never "by phone": a call is answered in writing elsewhere), by email when that was the chat's
 * offline form (it promised an answer by email), else where the customer prefers to be answered,
 * else the case's own channel. The composer shows the same default (reply options).
 */
import { sql } from 'drizzle-orm';
import type { DefaultReply } from '../../../shared/api/reply-options.ts';
import { type Executor, rows } from '../../db/client.ts';
import { findCustomer } from '../customers/customers.queries.ts';

export async function defaultReply(
  db: Executor,
  tenantId: string,
  current: { id: string; customerId: string; channel: string },
): Promise<DefaultReply> {
  // messages_case and contacts_case (tenant_id, case_id, …): a case's own few rows.
  const [last] = await rows<{ channel: string; offline: boolean | null }>(
    db,
    sql`select m.channel,
          (select (c.attributes->>'offline')::boolean from contacts c
            where c.tenant_id = m.tenant_id and c.case_id = m.case_id and c.message_id = m.id) as offline
        from messages m
        where m.tenant_id = ${tenantId} and m.case_id = ${current.id} and m.kind = 'inbound'
          and m.channel <> 'phone'
        order by m.created_at desc
        limit 1`,
  );
  if (last?.channel === 'chat' && last.offline) return { channel: 'email', reason: 'offline_chat' };
  if (last) return { channel: last.channel as DefaultReply['channel'], reason: 'last_contact' };
  const preferred = (await findCustomer(db, tenantId, current.customerId))?.preferredChannel;
  if (preferred) return { channel: preferred as DefaultReply['channel'], reason: 'preferred' };
  return { channel: current.channel as DefaultReply['channel'], reason: 'case' };
}
