/**
 * Phone calls logged as contacts: an inbound call is a contact on the caller's case, an
 * outbound call an outbound message of the case; both keep the call's details in the message's
 * metadata (`call`). Agents log them by hand; Twilio Voice's status callback logs them itself.
 */
import { type Static, Type } from 'typebox';
import { Case } from './cases.ts';
import { Uuid } from './common.ts';

export const callDirections = ['inbound', 'outbound'] as const;
export const callOutcomes = ['completed', 'no_answer', 'busy', 'voicemail', 'failed', 'canceled'] as const;
export type CallOutcome = (typeof callOutcomes)[number];

const Direction = Type.Enum(callDirections, { description: 'inbound: the customer called us' });
const Number_ = Type.String({
  minLength: 3,
  maxLength: 40,
  description: 'The customer’s number, +E.164 (spaces allowed)',
});
const Duration = Type.Integer({ minimum: 0, maximum: 86_400, description: 'Seconds on the call' });
const Outcome = Type.Enum(callOutcomes);
const Notes = Type.String({ maxLength: 10_000, description: 'What was said and agreed' });

/** A call logged on a case (the case page's “Log call”). */
export const CaseCallInput = Type.Object(
  {
    direction: Direction,
    number: Type.Optional(Number_),
    durationSeconds: Duration,
    outcome: Outcome,
    notes: Type.Optional(Notes),
  },
  { additionalProperties: false },
);
export type CaseCallInput = Static<typeof CaseCallInput>;

/** A call logged by number: an inbound one finds or opens the caller's case like any contact. */
export const CallInput = Type.Object(
  {
    ...CaseCallInput.properties,
    number: Number_,
    name: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Inbound: the caller’s name' }),
    ),
    caseNumber: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'The case it is about; outbound: required unless the customer has an open case',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CallInput = Static<typeof CallInput>;

export const LoggedCall = Type.Object({
  direction: Direction,
  number: Type.String(),
  durationSeconds: Type.Integer(),
  outcome: Outcome,
  notes: Type.String(),
  /** The telephony platform's call id (Twilio CallSid) when it reported the call. */
  callId: Type.Union([Type.String(), Type.Null()]),
});
export type LoggedCall = Static<typeof LoggedCall>;

export const CallResult = Type.Object({
  call: LoggedCall,
  messageId: Uuid,
  case: Case,
  /** Inbound: the call joined a case that already had contacts. */
  repeat: Type.Boolean(),
});
export type CallResult = Static<typeof CallResult>;
