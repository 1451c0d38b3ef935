/**
 * The intake every channel uses: resolve the customer by identity, attach the contact to their
 * open case (or the case they name), otherwise open one; count repeats; idempotent on
 * (channel, externalId). State and events commit together or not at all.
 */
import type { ContactInput, ContactResult } from '../../../shared/api/contacts.ts';
import type { Customer } from '../../../shared/api/customers.ts';
import type { Ctx } from '../../context.ts';
import { contacts } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { EventBuffer } from '../../events/publish.ts';
import { withRetry } from '../../lib/retry.ts';
import { findActiveCaseForCustomer, findCaseRow, nextCaseNumber, toCase } from '../cases/cases.queries.ts';
import { addRepeatContact, openCase } from '../cases/cases.service.ts';
import { identityForChannel } from '../customers/customers.identity.ts';
import {
  getCustomer,
  insertCustomer,
  lockCustomerByIdentity,
  setCustomerName,
} from '../customers/customers.queries.ts';
import { insertMessage } from '../messages/messages.queries.ts';
import { findContactByExternalId, probeIntake, toContact } from './contacts.queries.ts';

export interface ReceiveResult extends ContactResult {
  /** True when this (channel, externalId) was delivered before: nothing new was stored. */
  duplicate: boolean;
}

const SUBJECT_MAX = 120;

export function subjectFrom(text: string): string {
  const line = text.trim().split(/\r?\n/, 1)[0]!.trim() || 'No subject';
  return line.length > SUBJECT_MAX ? `${line.slice(0, SUBJECT_MAX - 1)}…` : line;
}

export async function receiveContact(ctx: Ctx, input: ContactInput): Promise<ReceiveResult> {
  const identity = identityForChannel(input.channel, input.from.identity);
  const receivedAt = input.receivedAt ? new Date(input.receivedAt) : ctx.now();
  const text = input.text.replaceAll('\u0000', '');
  const { tenantId, actor } = ctx;

  return withRetry(async () => {
    // Numbering a case takes the tenant's counter row. Taken inside this transaction, the row
    // would stay locked until commit and every new case in the tenant would queue behind it; so
    // when the sender has no open case to join, a number is reserved first in its own short
    // statement. A race (two first contacts at once) can leave a reserved number unused: case
    // numbers are unique and increasing, with rare gaps.
    const probe =
      input.caseNumber === undefined
        ? await probeIntake(ctx.db, tenantId, identity, input)
        : { duplicate: false, openCase: true };
    const reserved = probe.duplicate || probe.openCase ? undefined : await nextCaseNumber(ctx.db, tenantId);

    return ctx.db.transaction(async (tx) => {
      // Every event of this contact goes out in one INSERT at the end (see EventBuffer).
      const events = new EventBuffer();
      if (input.externalId) {
        const earlier = await findContactByExternalId(tx, tenantId, input.channel, input.externalId);
        if (earlier) {
          const caseRow = await findCaseRow(tx, tenantId, earlier.caseId);
          return {
            duplicate: true,
            repeat: earlier.repeat,
            contact: toContact(earlier),
            customer: await getCustomer(tx, tenantId, earlier.customerId),
            case: toCase(caseRow!),
          };
        }
      }

      // Locking the customer makes concurrent contacts from one customer pick the same case.
      const known = await lockCustomerByIdentity(tx, tenantId, identity);
      let customer: Customer;
      if (known) {
        customer = known;
        if (input.from.name && !known.name) {
          await setCustomerName(tx, tenantId, known.id, input.from.name);
          customer = { ...known, name: input.from.name };
        }
      } else {
        customer = await insertCustomer(tx, tenantId, input.from.name ?? null, identity);
        events.add({
          type: 'customer.created',
          data: { customerId: customer.id, identity: { kind: identity.kind, value: identity.value } },
        });
      }
      const customerId = customer.id;

      let target = null;
      if (input.caseNumber !== undefined) {
        target = await findCaseRow(tx, tenantId, String(input.caseNumber), { lock: true });
        if (!target || target.customerId !== customerId) {
          throw new AppError(
            'case_number_invalid',
            `Case #${input.caseNumber} is not a case of this customer`,
            [{ path: 'body.caseNumber', message: 'must be a case of the sending customer' }],
          );
        }
      } else if (known) {
        // (a customer created just now has no case yet)
        target = await findActiveCaseForCustomer(tx, tenantId, customerId);
      }

      const repeat = target !== null;
      const caseRow = target
        ? await addRepeatContact(tx, events, target, receivedAt)
        : await openCase(tx, tenantId, events, {
            customerId,
            subject: input.subject ?? subjectFrom(text),
            channel: input.channel,
            receivedAt,
            number: reserved,
          });

      const message = await insertMessage(tx, {
        tenantId,
        caseId: caseRow.id,
        customerId,
        channel: input.channel,
        kind: 'inbound',
        text,
        authorCustomerId: customerId,
        createdAt: receivedAt,
      });
      const [contactRow] = await tx
        .insert(contacts)
        .values({
          tenantId,
          caseId: caseRow.id,
          customerId,
          messageId: message.id,
          channel: input.channel,
          externalId: input.externalId ?? null,
          repeat,
          attributes: input.attributes ?? {},
          receivedAt,
        })
        .returning();
      const contact = contactRow!;
      events.add({
        type: 'contact.received',
        caseId: caseRow.id,
        data: { contactId: contact.id, messageId: message.id, channel: input.channel, repeat, customerId },
      });
      await events.flush(tx, tenantId, actor);
      return {
        duplicate: false,
        repeat,
        contact: toContact(contact),
        customer,
        case: toCase(caseRow),
      };
    });
  });
}
