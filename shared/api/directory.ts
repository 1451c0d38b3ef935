import { type Static, Type } from 'typebox';
import { roles } from '../domain/roles.ts';
import { Nullable, Uuid } from './common.ts';

export const RoleName = Type.Enum(roles);

export const User = Type.Object({
  id: Uuid,
  email: Type.String(),
  displayName: Type.String(),
  role: RoleName,
  avatarUrl: Nullable(Type.String()),
  bio: Type.String(),
  signature: Type.String(),
  active: Type.Boolean(),
  teamIds: Type.Array(Uuid),
});
export type User = Static<typeof User>;

export const Team = Type.Object({ id: Uuid, name: Type.String(), memberIds: Type.Array(Uuid) });
export type Team = Static<typeof Team>;

export const Session = Type.Object({
  user: User,
  tenant: Type.Object({ id: Uuid, slug: Type.String(), name: Type.String() }),
  csrfToken: Type.String({ description: 'Send as x-csrf-token on every write made with the session cookie' }),
});
export type Session = Static<typeof Session>;

export const SignIn = Type.Object(
  {
    tenant: Type.String({ minLength: 1, maxLength: 63, description: 'Organisation slug, e.g. demo' }),
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type SignIn = Static<typeof SignIn>;

export const PasswordChange = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 10, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type PasswordChange = Static<typeof PasswordChange>;
