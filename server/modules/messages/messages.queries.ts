import { and, eq, inArray, sql } from 'drizzle-orm';
import { type Executor, rows } from '../../db/client.ts';
import { messages } from '../../db/schema/index.ts';

export type MessageKind = 'inbound' | 'outbound' | 'note';

export interface NewMessage {
  /** Chosen by the caller when something written before the insert names the message. */
  id?: string;
  tenantId: string;
  caseId: string;
  customerId: string;
  channel: string;
  kind: MessageKind;
  text: string;
  authorUserId?: string | null;
  authorCustomerId?: string | null;
  /** What the channel adds (messages.metadata): a WhatsApp template, an X reply's visibility. */
  metadata?: Record<string, unknown> | null;
  createdAt?: Date;
}

/** Inserts a message into the case's conversation on its channel (created on first use). */
export async function insertMessage(db: Executor, m: NewMessage): Promise<{ id: string; createdAt: Date }> {
  const [row] = await rows<{ id: string; created_at: string | Date }>(
    db,
    sql`with conv as (
          insert into conversations (tenant_id, case_id, customer_id, channel)
          values (${m.tenantId}, ${m.caseId}, ${m.customerId}, ${m.channel})
          on conflict (tenant_id, case_id, channel) do update set channel = excluded.channel
          returning id)
        insert into messages (id, tenant_id, case_id, conversation_id, kind, channel, author_user_id, author_customer_id, text, metadata, created_at)
        select ${m.id ?? sql`gen_random_uuid()`}, ${m.tenantId}, ${m.caseId}, conv.id, ${m.kind}, ${m.channel}, ${m.authorUserId ?? null},
               ${m.authorCustomerId ?? null}, ${m.text}, ${m.metadata ? JSON.stringify(m.metadata) : null}::jsonb,
               ${m.createdAt ? m.createdAt.toISOString() : sql`now()`}
        from conv
        returning id, created_at`,
  );
  return { id: row!.id, createdAt: new Date(row!.created_at) };
}

export async function listMessagesByIds(db: Executor, tenantId: string, ids: string[]) {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), inArray(messages.id, ids)));
}
