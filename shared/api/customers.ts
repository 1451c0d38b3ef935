import { type Static, Type } from 'typebox';
import { identityKinds } from '../domain/channels.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';

export const Identity = Type.Object({
  kind: Type.Enum(identityKinds),
  platform: Type.String({ description: 'Social platform for social handles; empty otherwise' }),
  value: Type.String(),
  verified: Type.Boolean(),
});

export const Customer = Type.Object({
  id: Uuid,
  name: Nullable(Type.String()),
  organisationId: Nullable(Uuid),
  language: Nullable(Type.String()),
  preferredChannel: Nullable(Type.String()),
  createdAt: Timestamp,
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
