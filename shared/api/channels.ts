import { type Static, Type } from 'typebox';
import { Nullable, Uuid } from './common.ts';

/** Channel types that can be configured; more arrive with their adapters. */
export const channelTypes = ['email'] as const;

export const Acknowledgement = Type.Object(
  {
    enabled: Type.Boolean({ description: 'Send an acknowledgement when an email opens a new case' }),
    locale: Type.String({
      maxLength: 35,
      description: 'e.g. en, de, fr-CA; falls back to the base language, then en',
    }),
    subject: Type.Optional(
      Type.String({ maxLength: 300, description: 'Template; {{caseNumber}}, {{ownerName}}, …' }),
    ),
    body: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);
export type Acknowledgement = Static<typeof Acknowledgement>;

export const ChannelSettings = Type.Object(
  { acknowledgement: Type.Optional(Acknowledgement) },
  { additionalProperties: false },
);
export type ChannelSettings = Static<typeof ChannelSettings>;

export const Channel = Type.Object({
  id: Uuid,
  type: Type.Enum(channelTypes),
  name: Type.String(),
  /** Email: the support address mail is sent to and replies come from. */
  address: Nullable(Type.String()),
  settings: ChannelSettings,
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Channel = Static<typeof Channel>;

export const ChannelInput = Type.Object(
  {
    type: Type.Enum(channelTypes),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    address: Type.String({ minLength: 3, maxLength: 254, description: 'Email: the support address' }),
    settings: Type.Optional(ChannelSettings),
  },
  { additionalProperties: false },
);
export type ChannelInput = Static<typeof ChannelInput>;

export const ChannelPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    settings: Type.Optional(ChannelSettings),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ChannelPatch = Static<typeof ChannelPatch>;
