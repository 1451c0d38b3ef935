/**
 * Which case an inbound email belongs to by its own hints (issue 3's order): a signed reply
 * token, our Message-IDs, a signed subject tag (or the sender's own bare one), then
 * References/In-Reply-To of mail stored in the same tenant AND mailbox. A hint never names a
 * case of another tenant: every reader is given the mailbox's tenant (SECURITY.md IN-04, MI-04).
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { cases, customerIdentities, emailMessages, messages } from '../../db/schema/index.ts';
import type { ParsedEmail } from './email.parse.ts';
import {
  caseFromReferences,
  tagFromSubject,
  tokenFromAddress,
  tokenFromMessageId,
} from './email.threading.ts';

/** How a message found its case, for the log. */
export type ThreadedBy = 'reply_token' | 'message_id' | 'bounce' | 'subject_tag' | 'references';

export interface Threading {
  caseId: string;
  by: ThreadedBy;
  /** For a bounce: our message that bounced. */
  bouncedMessageId?: string;
}

/**
 * The case a message belongs to by its own hints, in the order of issue 3: a signed reply token
 * (our reply address, our Message-IDs), a signed subject tag, a bare tag of the sender's own
 * case, then References/In-Reply-To naming a message stored in this tenant's same mailbox. Every
 * reader is given this mailbox's tenant, so no hint can name another tenant's case.
 */
export async function threadOf(
  db: Executor,
  secret: Buffer,
  tenantId: string,
  channelId: string,
  parsed: ParsedEmail,
  envelopeTo: string[],
  sender: string,
): Promise<Threading | null> {
  const exists = async (caseId: string) =>
    (
      await db
        .select({ id: cases.id })
        .from(cases)
        .where(and(eq(cases.tenantId, tenantId), eq(cases.id, caseId)))
    ).length > 0;

  if (parsed.automatic?.kind === 'bounce' && parsed.bounceOf) {
    const ours = tokenFromMessageId(secret, tenantId, parsed.bounceOf);
    if (ours && (await exists(ours.caseId))) {
      return { caseId: ours.caseId, by: 'bounce', bouncedMessageId: ours.messageId };
    }
  }
  for (const address of [...parsed.to, ...parsed.cc].map((a) => a.address).concat(envelopeTo)) {
    const ref = tokenFromAddress(secret, tenantId, address);
    if (ref && (await exists(ref.caseId))) return { caseId: ref.caseId, by: 'reply_token' };
  }
  const ids = [...parsed.references, ...(parsed.inReplyTo ? [parsed.inReplyTo] : [])];
  const ours = caseFromReferences(secret, tenantId, ids);
  if (ours && (await exists(ours.caseId))) return { caseId: ours.caseId, by: 'message_id' };

  const tag = tagFromSubject(secret, tenantId, parsed.subject);
  if (tag) {
    const [found] = await db
      .select({ id: cases.id, customerId: cases.customerId })
      .from(cases)
      .where(and(eq(cases.tenantId, tenantId), eq(cases.number, tag.number)));
    if (found && (tag.signed || (await isCustomerOf(db, tenantId, found.customerId, sender)))) {
      return { caseId: found.id, by: 'subject_tag' };
    }
  }

  // Newest first: In-Reply-To, then References from the end.
  const newest = [...new Set(ids.slice(-100).reverse())];
  if (newest.length > 0) {
    const found = await db
      .select({ header: emailMessages.headerMessageId, caseId: messages.caseId })
      .from(emailMessages)
      .innerJoin(
        messages,
        and(eq(messages.tenantId, emailMessages.tenantId), eq(messages.id, emailMessages.messageId)),
      )
      .where(
        and(
          eq(emailMessages.tenantId, tenantId),
          eq(emailMessages.channelId, channelId),
          inArray(emailMessages.headerMessageId, newest),
        ),
      );
    for (const id of newest) {
      const hit = found.find((f) => f.header === id);
      if (hit) return { caseId: hit.caseId, by: 'references' };
    }
  }
  return null;
}

async function isCustomerOf(db: Executor, tenantId: string, customerId: string, address: string) {
  const found = await db
    .select({ id: customerIdentities.id })
    .from(customerIdentities)
    .where(
      and(
        eq(customerIdentities.tenantId, tenantId),
        eq(customerIdentities.customerId, customerId),
        eq(customerIdentities.kind, 'email'),
        eq(customerIdentities.value, address),
      ),
    );
  return found.length > 0;
}
