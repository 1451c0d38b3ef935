import { type Static, Type } from 'typebox';
import { identityKinds } from '../domain/channels.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';

export const Identity = Type.Object({
  id: Type.Optional(
    Type.String({
      format: 'uuid',
      description: 'Names the identity for removal. Absent from the intake’s answer.',
    }),
  ),
  kind: Type.Enum(identityKinds),
  platform: Type.String({ description: 'Social platform for social handles; empty otherwise' }),
  value: Type.String(),
  verified: Type.Boolean({
    description: 'Rapport verified that this address is the customer’s (a signed chat identity, …)',
  }),
  profile: Type.Optional(
    Nullable(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'What the platform says about the account (display name, follower count, its “verified” badge): information for agents only, never used for priority, routing or SLA. Absent from the intake’s answer.',
      }),
    ),
  ),
});

export const Customer = Type.Object({
  id: Uuid,
  name: Nullable(Type.String()),
  organisationId: Nullable(Uuid),
  language: Nullable(Type.String()),
  preferredChannel: Nullable(Type.String()),
  createdAt: Timestamp,
  mergedIntoId: Nullable(
    Type.String({
      format: 'uuid',
      description:
        'Set when this customer was merged into another: the record is history and the survivor (this id) holds its identities and cases. GET answers a merged id with this record, not a 404.',
    }),
  ),
  identities: Type.Array(Identity),
});
export type Customer = Static<typeof Customer>;

export const CustomerQuery = Type.Object(
  {
    identity: Type.String({
      minLength: 1,
      maxLength: 320,
      description: 'Any identity of the customer: email, +E.164 phone, chat:<id>, x:@handle, ext:<id>',
    }),
  },
  { additionalProperties: false },
);

export const CustomerRef = Type.Object(
  { id: Type.String({ maxLength: 40 }) },
  { additionalProperties: false },
);

/** An address the customer gave an agent (in a chat, on the phone), recorded on their record. */
export const IdentityInput = Type.Object(
  {
    kind: Type.Union([Type.Literal('email'), Type.Literal('phone')]),
    value: Type.String({
      minLength: 1,
      maxLength: 320,
      description:
        'An email address (kept lower-case), or a phone number in international form such as +44 7911 123456 (kept as E.164)',
    }),
  },
  { additionalProperties: false },
);
export type IdentityInput = Static<typeof IdentityInput>;

export const IdentityRef = Type.Object(
  { id: Type.String({ maxLength: 40 }), identityId: Type.String({ maxLength: 40 }) },
  { additionalProperties: false },
);

/** Why two customers look like one person. */
export const MatchReason = Type.Object({
  code: Type.Union([Type.Literal('same_email'), Type.Literal('same_name')], {
    description:
      'same_email: one’s email address is the other’s, or both gave it (strong); same_name: the same full name, ignoring case, accents and punctuation (weak)',
  }),
  value: Type.String({ description: 'The shared email address or name' }),
  here: Type.Union([Type.Literal('identity'), Type.Literal('chat'), Type.Literal('name')], {
    description: 'Where this customer has it: an identity, given in a chat, or the record’s name',
  }),
  there: Type.Union([Type.Literal('identity'), Type.Literal('chat'), Type.Literal('name')]),
});
export type MatchReason = Static<typeof MatchReason>;

export const CustomerMatch = Type.Object({
  customer: Customer,
  strength: Type.Union([Type.Literal('strong'), Type.Literal('weak')]),
  reasons: Type.Array(MatchReason),
  caseCount: Type.Integer({ description: 'Cases the other customer has; they would move with a merge' }),
});
export type CustomerMatch = Static<typeof CustomerMatch>;

export const CustomerMatches = Type.Object({ items: Type.Array(CustomerMatch) });

export const MatchRef = Type.Object(
  { id: Type.String({ maxLength: 40 }), otherId: Type.String({ maxLength: 40 }) },
  { additionalProperties: false },
);

export const MergeInput = Type.Object(
  {
    mergedId: Type.String({
      format: 'uuid',
      description: 'The customer that joins this one; its identities, cases and history move here',
    }),
  },
  { additionalProperties: false },
);
export type MergeInput = Static<typeof MergeInput>;

export const MergeRef = Type.Object(
  { mergeId: Type.String({ maxLength: 40 }) },
  { additionalProperties: false },
);

/** One merge as the history shows it: what moved, who did it, and whether it was split again. */
export const CustomerMerge = Type.Object({
  id: Uuid,
  survivorId: Uuid,
  mergedId: Uuid,
  mergedName: Nullable(Type.String({ description: 'The merged record’s name at the time' })),
  moved: Type.Object({
    identities: Type.Array(
      Type.Object({ kind: Type.Enum(identityKinds), platform: Type.String(), value: Type.String() }),
    ),
    cases: Type.Array(Type.Object({ id: Uuid, number: Type.Integer() })),
    conversations: Type.Integer(),
    contacts: Type.Integer(),
    messages: Type.Integer(),
    chatSessions: Type.Integer(),
  }),
  mergedBy: Nullable(Uuid),
  mergedAt: Timestamp,
  splitBy: Nullable(Uuid),
  splitAt: Nullable(Timestamp),
});
export type CustomerMerge = Static<typeof CustomerMerge>;

export const CustomerMerges = Type.Object({ items: Type.Array(CustomerMerge) });

export const MergeResult = Type.Object({
  merge: CustomerMerge,
  survivor: Customer,
  merged: Customer,
});
export type MergeResult = Static<typeof MergeResult>;
