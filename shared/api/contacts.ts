import { type Static, Type } from 'typebox';
import { Case, ChannelName } from './cases.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';
import { Customer } from './customers.ts';

export const ContactInput = Type.Object(
  {
    channel: ChannelName,
    from: Type.Object(
      {
        identity: Type.String({
          minLength: 1,
          maxLength: 320,
          description:
            'The sender on this channel: an email address (email), +E.164 number (sms, whatsapp, phone), visitor id (chat), handle (x, messenger, instagram); portal and api take any of email, +E.164 or an external id',
        }),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    text: Type.String({ minLength: 1, maxLength: 200_000 }),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    externalId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 300, description: 'Idempotency key per channel' }),
    ),
    caseNumber: Type.Optional(Type.Integer({ minimum: 1 })),
    receivedAt: Type.Optional(Timestamp),
    attributes: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type ContactInput = Static<typeof ContactInput>;

export const Contact = Type.Object({
  id: Uuid,
  caseId: Uuid,
  customerId: Uuid,
  messageId: Uuid,
  channel: ChannelName,
  externalId: Nullable(Type.String()),
  repeat: Type.Boolean(),
  receivedAt: Timestamp,
  attributes: Type.Record(Type.String(), Type.Unknown()),
});
export type Contact = Static<typeof Contact>;

export const ContactResult = Type.Object({
  contact: Contact,
  customer: Customer,
  case: Case,
  repeat: Type.Boolean({ description: 'The contact joined a case that already had contacts' }),
});
export type ContactResult = Static<typeof ContactResult>;
