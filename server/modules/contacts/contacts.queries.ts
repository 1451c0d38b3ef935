import type { Contact } from '../../../shared/api/contacts.ts';
import type { contacts } from '../../db/schema/index.ts';

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
