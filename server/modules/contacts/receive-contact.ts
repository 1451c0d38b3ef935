/**
 * The intake every channel uses: resolve the customer by identity, attach the contact to their
 * open case (or the case they name), otherwise open one; count repeats; idempotent on
 * (channel, externalId). The write path is the database function receive_contact (migration
 * 0001, ADR 0006), reached through the intake queue's group commit: state and events of a
 * contact commit together, and a caller is answered only after the commit.
 */
import type { ContactInput, ContactResult } from '../../../shared/api/contacts.ts';
import type { Ctx } from '../../context.ts';
import { fromJsonRow } from '../../db/client.ts';
import { cases, contacts } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { isRetryable } from '../../lib/retry.ts';
import { toCase } from '../cases/cases.queries.ts';
import { identityForChannel, type ParsedIdentity } from '../customers/customers.identity.ts';
import { type CustomerRow, toCustomer } from '../customers/customers.queries.ts';
import { toContact } from './contacts.queries.ts';
import { type IntakeItem, intakeQueue } from './intake-queue.ts';

export interface ReceiveResult extends ContactResult {
  /** True when this (channel, externalId) was delivered before: nothing new was stored. */
  duplicate: boolean;
}

interface IntakeJson {
  duplicate: boolean;
  repeat: boolean;
  contact: Record<string, unknown>;
  case: Record<string, unknown>;
  customer: CustomerRow;
}

/** SQLSTATE receive_contact raises for a caseNumber that is not the sender's. */
const CASE_NOT_THE_CUSTOMERS = 'R0001';
/** SQLSTATE receive_contact raises for a trusted caseId that does not exist in the tenant. */
const CASE_MISSING = 'R0002';
const MAX_ATTEMPTS = 4;

const SUBJECT_MAX = 120;

export function subjectFrom(text: string): string {
  const line = text.trim().split(/\r?\n/, 1)[0]!.trim() || 'No subject';
  return line.length > SUBJECT_MAX ? `${line.slice(0, SUBJECT_MAX - 1)}…` : line;
}

/** What only a channel adapter may say about a contact, never a request body. */
export interface IntakeOptions {
  /** Join this case even when the sender is not its customer (a verified threading token). */
  caseId?: string;
  /** Machine-written: stored on the case without counting as a repeat or reopening it. */
  automatic?: boolean;
  /**
   * With caseId: a further line of a conversation already counted as a contact there (a live chat
   * session), stored and shown but not counted again. On a resolved or closed case it counts.
   */
  continuation?: boolean;
  /**
   * The sender as the channel already parsed it by its own rules (email: RFC 5322 via the mail
   * parser, which accepts quoted local parts and dotless domains the typed-in form refuses).
   */
  identity?: ParsedIdentity;
  /**
   * What the platform says about the sender (an X screen name, follower count and "verified"
   * badge, a WhatsApp display name), kept on their identity for agents to read; the latest
   * message's wins. Information only: nothing reads it for priority, routing or SLA
   * (tests/no-loudness-bonus.test.ts).
   */
  profile?: Record<string, unknown>;
}

export async function receiveContact(
  ctx: Ctx,
  input: ContactInput,
  options: IntakeOptions = {},
): Promise<ReceiveResult> {
  const identity = options.identity ?? identityForChannel(input.channel, input.from.identity);
  const text = input.text.replaceAll('\u0000', '');
  const item: IntakeItem = {
    tenant: ctx.tenantId,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    channel: input.channel,
    kind: identity.kind,
    platform: identity.platform,
    value: identity.value,
    name: input.from.name ?? null,
    text,
    subject: input.subject ?? subjectFrom(text),
    externalId: input.externalId ?? null,
    caseNumber: input.caseNumber ?? null,
    receivedAt: (input.receivedAt ? new Date(input.receivedAt) : ctx.now()).toISOString(),
    attributes: input.attributes,
    caseId: options.caseId ?? null,
    automatic: options.automatic ?? false,
    continuation: options.continuation === true && options.caseId !== undefined,
    ...(options.profile && Object.keys(options.profile).length > 0 ? { profile: options.profile } : {}),
  };

  for (let attempt = 1; ; attempt++) {
    const outcome = await intakeQueue(ctx.db, ctx.log).submit<IntakeJson>(item);
    if ('ok' in outcome) {
      const result = outcome.ok;
      return {
        duplicate: result.duplicate,
        repeat: result.repeat,
        contact: toContact(fromJsonRow(contacts, result.contact)),
        customer: toCustomer(result.customer),
        case: toCase(fromJsonRow(cases, result.case)),
      };
    }
    if (outcome.error === CASE_NOT_THE_CUSTOMERS) {
      throw new AppError('case_number_invalid', `Case #${input.caseNumber} is not a case of this customer`, [
        { path: 'body.caseNumber', message: 'must be a case of the sending customer' },
      ]);
    }
    if (outcome.error === CASE_MISSING) {
      throw new AppError('case_not_found', 'No such case here');
    }
    // Another transaction got there first (the same new identity or external id, a deadlock):
    // the next attempt sees what it committed.
    if (attempt >= MAX_ATTEMPTS || !isRetryable(outcome.error)) {
      throw Object.assign(new Error(`intake failed: ${outcome.message}`), { code: outcome.error });
    }
  }
}
