import { and, eq, sql } from 'drizzle-orm';
import type { Contact } from '../../../shared/api/contacts.ts';
import { type Executor, rows } from '../../db/client.ts';
import { contacts } from '../../db/schema/index.ts';
import type { ParsedIdentity } from '../customers/customers.identity.ts';

type ContactRow = typeof contacts.$inferSelect;

export function toContact(row: ContactRow): Contact {
  return {
    id: row.id,
    caseId: row.caseId,
    customerId: row.customerId,
    messageId: row.messageId,
    channel: row.channel as Contact['channel'],
    externalId: row.externalId,
    repeat: row.repeat,
    receivedAt: row.receivedAt.toISOString(),
    attributes: row.attributes as Record<string, unknown>,
  };
}

export async function findContactByExternalId(
  db: Executor,
  tenantId: string,
  channel: string,
  externalId: string,
) {
  const [row] = await db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.tenantId, tenantId),
        eq(contacts.channel, channel),
        eq(contacts.externalId, externalId),
      ),
    );
  return row ?? null;
}

/**
 * Before the intake's transaction, in one read: is this delivery a duplicate, and does the sender
 * already have an open case? Only an answer of "no" to both means a new case is likely.
 */
export async function probeIntake(
  db: Executor,
  tenantId: string,
  identity: ParsedIdentity,
  delivery: { channel: string; externalId?: string },
): Promise<{ duplicate: boolean; openCase: boolean }> {
  const [row] = await rows<{ duplicate: boolean; open_case: boolean }>(
    db,
    sql`select
          ${delivery.externalId ?? null}::text is not null and exists (
            select 1 from contacts where tenant_id = ${tenantId} and channel = ${delivery.channel}
              and external_id = ${delivery.externalId ?? null}) as duplicate,
          exists (
            select 1 from customer_identities i
            join cases k on k.tenant_id = i.tenant_id and k.customer_id = i.customer_id and k.active
            where i.tenant_id = ${tenantId} and i.kind = ${identity.kind}
              and i.platform = ${identity.platform} and i.value = ${identity.value}) as open_case`,
  );
  return { duplicate: row!.duplicate, openCase: row!.open_case };
}
