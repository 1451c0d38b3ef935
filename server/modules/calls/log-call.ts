/**
 * Logging a phone call as a contact. An inbound call goes through the intake like any contact
 * (the caller's open case, or the named one, or a new case; a repeat counts), idempotent on the
 * platform's call id; an outbound call is an outbound message of the case, as a reply would be.
 * Both keep the call in the message's metadata (`call`) and read as a sentence in the timeline.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { CallOutcome, CallResult, LoggedCall } from '../../../shared/api/calls.ts';
import type { Ctx } from '../../context.ts';
import type { Db } from '../../db/client.ts';
import { messages } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { findActiveCaseForCustomer, getCaseRow, toCase } from '../cases/cases.queries.ts';
import { receiveContact } from '../contacts/receive-contact.ts';
import { parsePhone } from '../customers/customers.identity.ts';
import { findCustomer, findCustomerIdByIdentity } from '../customers/customers.queries.ts';
import { addMessage } from '../messages/add-message.ts';

export interface CallToLog {
  direction: 'inbound' | 'outbound';
  /** The customer's number; on a case, their phone identity when left out. */
  number?: string;
  durationSeconds: number;
  outcome: CallOutcome;
  notes?: string;
  name?: string;
  /** The case it belongs to (id or number): the case page's form, or `caseNumber` by number. */
  caseRef?: string;
  /** On the case page the call belongs to that case even when made from another number. */
  onCase?: boolean;
  /** Twilio's CallSid: a reported call is logged once. */
  callId?: string | null;
}

const outcomeWords: Record<CallOutcome, string> = {
  completed: 'completed',
  no_answer: 'no answer',
  busy: 'busy',
  voicemail: 'voicemail',
  failed: 'failed',
  canceled: 'canceled',
};

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

/** The call as the timeline reads it: "Inbound call from +44… · 2 min 34 s · completed", then the notes. */
export function callText(call: LoggedCall): string {
  const who =
    call.direction === 'inbound' ? `Inbound call from ${call.number}` : `Outbound call to ${call.number}`;
  const head = [
    who,
    ...(call.outcome === 'completed' ? [duration(call.durationSeconds)] : []),
    outcomeWords[call.outcome],
  ];
  return call.notes ? `${head.join(' · ')}\n${call.notes}` : head.join(' · ');
}

function phoneNumber(raw: string): string {
  try {
    return parsePhone(raw).value;
  } catch {
    throw new AppError('identity_invalid', `"${raw.slice(0, 40)}" is not a phone number in E.164 form`, [
      { path: 'body.number', message: 'must be a phone number such as +447700900123' },
    ]);
  }
}

async function customerNumber(ctx: Ctx, customerId: string): Promise<string> {
  const customer = await findCustomer(ctx.db, ctx.tenantId, customerId);
  const phone = customer?.identities.find((i) => i.kind === 'phone');
  if (!phone) {
    throw new AppError(
      'identity_missing',
      'The customer has no phone number yet: enter the number of the call',
      [{ path: 'body.number', message: 'required: the customer has no phone number' }],
    );
  }
  return phone.value;
}

/** The outbound message already logged for this call id, if any. */
async function loggedOutbound(db: Db | Ctx['db'], tenantId: string, callId: string) {
  const [row] = await db
    .select({ id: messages.id, caseId: messages.caseId })
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), sql`${messages.metadata}->'call'->>'callId' = ${callId}`))
    .limit(1);
  return row ?? null;
}

export async function logCall(ctx: Ctx, input: CallToLog): Promise<CallResult> {
  const onCase = input.onCase && input.caseRef ? await getCaseRow(ctx.db, ctx.tenantId, input.caseRef) : null;
  const number = input.number
    ? phoneNumber(input.number)
    : onCase
      ? await customerNumber(ctx, onCase.customerId)
      : '';
  if (!number)
    throw new AppError('identity_missing', 'Enter the number of the call', [
      { path: 'body.number', message: 'is required' },
    ]);
  const call: LoggedCall = {
    direction: input.direction,
    number,
    durationSeconds: input.durationSeconds,
    outcome: input.outcome,
    notes: (input.notes ?? '').replaceAll('\u0000', '').trim(),
    callId: input.callId ?? null,
  };
  const text = callText(call);
  if (input.direction === 'inbound') {
    const caseNumber =
      !onCase && input.caseRef && /^\d+$/.test(input.caseRef) ? Number(input.caseRef) : undefined;
    const result = await receiveContact(
      ctx,
      {
        channel: 'phone',
        from: { identity: number, ...(input.name ? { name: input.name } : {}) },
        text,
        ...(call.callId ? { externalId: call.callId } : {}),
        ...(caseNumber ? { caseNumber } : {}),
        attributes: { call },
      },
      onCase ? { caseId: onCase.id } : {},
    );
    // The intake writes the message; the call's details join it (once: a redelivery finds them set).
    await ctx.db
      .update(messages)
      .set({ metadata: { call } })
      .where(
        and(
          eq(messages.tenantId, ctx.tenantId),
          eq(messages.id, result.contact.messageId),
          sql`${messages.metadata} is null`,
        ),
      );
    return { call, messageId: result.contact.messageId, case: result.case, repeat: result.repeat };
  }

  const caseId = onCase?.id ?? (await outboundCase(ctx, number, input.caseRef));
  // One transaction per call id, serialised on it: a reported call redelivered at once is logged once.
  return ctx.db.transaction(async (tx) => {
    if (call.callId) {
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`call:${ctx.tenantId}:${call.callId}`}, 0))`,
      );
      const existing = await loggedOutbound(tx, ctx.tenantId, call.callId);
      if (existing) {
        const current = await getCaseRow(tx, ctx.tenantId, existing.caseId);
        return { call, messageId: existing.id, case: toCase(current), repeat: false };
      }
    }
    const result = await addMessage(
      { ...ctx, db: tx as unknown as Db },
      caseId,
      { kind: 'reply', text, channel: 'phone' },
      { metadata: { call } },
    );
    return { call, messageId: result.message.id, case: result.case, repeat: false };
  });
}

/** The case an outbound call by number belongs to: the one named, or the customer's open case. */
async function outboundCase(ctx: Ctx, number: string, caseRef: string | undefined): Promise<string> {
  if (caseRef) return (await getCaseRow(ctx.db, ctx.tenantId, caseRef)).id;
  const customerId = await findCustomerIdByIdentity(ctx.db, ctx.tenantId, {
    kind: 'phone',
    platform: '',
    value: number,
  });
  const open = customerId
    ? await ctx.db.transaction((tx) => findActiveCaseForCustomer(tx, ctx.tenantId, customerId))
    : null;
  if (!open) {
    throw new AppError('call_case_required', `No open case for ${number}: name the case the call was about`, [
      { path: 'body.caseNumber', message: 'required: the number has no open case' },
    ]);
  }
  return open.id;
}
