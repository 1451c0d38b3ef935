import { and, eq } from 'drizzle-orm';
import type { Contact } from '../../../shared/api/contacts.ts';
import type { Executor } from '../../db/client.ts';
import { contacts } from '../../db/schema/index.ts';

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
