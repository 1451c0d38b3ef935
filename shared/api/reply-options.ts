/**
 * Where and how an agent can answer a case on the messaging platforms the customer wrote on:
 * each channel's limits, WhatsApp's 24-hour customer-care window and the approved templates
 * that may be sent once it has closed, and X's choice between a public reply and a DM.
 */
import { type Static, Type } from 'typebox';
import { channels } from '../domain/channels.ts';
import { ReplyLimits } from './channel-settings.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';

export const replyVisibilities = ['public', 'direct'] as const;
export type ReplyVisibility = (typeof replyVisibilities)[number];

export const ReplyTemplate = Type.Object({
  name: Type.String(),
  language: Type.String(),
  text: Type.String({ description: 'The approved text; {{1}}, {{2}}, … stand for the parameters' }),
  parameters: Type.Integer({ description: 'How many parameters the template takes' }),
});
export type ReplyTemplate = Static<typeof ReplyTemplate>;

export const ReplyWindow = Type.Object(
  {
    hours: Type.Integer(),
    open: Type.Boolean({ description: 'Free-form replies are allowed now' }),
    closesAt: Timestamp,
    humanAgentUntil: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'Messenger, Instagram: after the window a reply goes tagged as a person’s follow-up (HUMAN_AGENT) until then, 7 days after the customer’s last message; none after it',
      }),
    ),
  },
  {
    description:
      'WhatsApp, Messenger, Instagram: free-form replies until 24 hours after the customer’s last message to this account. After that WhatsApp takes only an approved template; Messenger and Instagram a tagged reply until humanAgentUntil',
  },
);
export type ReplyWindow = Static<typeof ReplyWindow>;

export const ReplyOption = Type.Object({
  channelId: Uuid,
  type: Type.Enum(channels),
  name: Type.String({ description: 'The channel’s name in Settings → Channels' }),
  recipient: Nullable(
    Type.String({ description: 'The customer’s address on the platform the reply goes to' }),
  ),
  lastInboundAt: Timestamp,
  limits: ReplyLimits,
  window: Nullable(ReplyWindow),
  templates: Type.Array(ReplyTemplate, { description: 'WhatsApp: the approved templates; empty otherwise' }),
  visibilities: Type.Array(
    Type.Object({
      visibility: Type.Enum(replyVisibilities),
      maxLength: Type.Integer(),
      inReplyToPostId: Type.Optional(
        Type.String({ description: 'The customer’s post a public reply answers' }),
      ),
    }),
    { description: 'X: public (answers the customer’s latest post) and direct; empty for other platforms' },
  ),
  defaultVisibility: Nullable(
    Type.Enum(replyVisibilities, { description: 'X: how the customer last wrote' }),
  ),
});
export type ReplyOption = Static<typeof ReplyOption>;

export const defaultReplyReasons = ['last_contact', 'offline_chat', 'preferred', 'case'] as const;

/** Where a reply goes when the agent names no channel (the same rule the reply follows). */
export const DefaultReply = Type.Object({
  channel: Type.Enum(channels),
  reason: Type.Enum(defaultReplyReasons, {
    description:
      'last_contact: where the customer last wrote in this case; offline_chat: by email, as the chat’s offline form promised; preferred: the customer’s preferred channel; case: the case’s channel',
  }),
});
export type DefaultReply = Static<typeof DefaultReply>;

export const ReplyOptions = Type.Object({
  default: DefaultReply,
  items: Type.Array(ReplyOption, {
    description: 'The platform channels the customer wrote on in this case, latest first',
  }),
});
export type ReplyOptions = Static<typeof ReplyOptions>;

/** What a reply on WhatsApp or X may add to its text (POST /api/v1/cases/{id}/messages). */
export const ReplyTemplateInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    language: Type.String({ minLength: 2, maxLength: 10 }),
    parameters: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 20 }),
  },
  {
    additionalProperties: false,
    description:
      'WhatsApp: send this approved template (settings.templates) instead of free text — the only reply allowed once the 24-hour window has closed. The stored text is the template with its parameters filled in; `text` is then ignored.',
  },
);
export type ReplyTemplateInput = Static<typeof ReplyTemplateInput>;

export const ReplyVisibilityInput = Type.Enum(replyVisibilities, {
  description:
    'X: public answers the customer’s latest post in this case; direct sends a DM. Default: how the customer last wrote.',
});
