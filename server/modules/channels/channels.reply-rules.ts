/**
 * What an agent's reply on a messaging platform may be, checked before anything is stored:
 * WhatsApp takes free text only inside its 24-hour customer-care window and an approved template
 * (with its parameters) at any time; Messenger and Instagram take free text for 24 hours and then,
 * for 7 days, a reply tagged HUMAN_AGENT; X replies publicly to the customer's latest post or by DM;
 * every platform has its length. The result is the text to store and the metadata the sender
 * hands the platform (messages.metadata).
 */
import type { ReplyTemplateInput, ReplyVisibility } from '../../../shared/api/reply-options.ts';
import { fillTemplate } from '../../../shared/domain/social-text.ts';
import type { Executor } from '../../db/client.ts';
import { AppError } from '../../errors.ts';
import { channelTemplates, type ReplyTarget, replyTargets } from './channels.reply-targets.ts';
import { platformFor } from './platforms/index.ts';
import { DM_MAX_LENGTH, TWEET_MAX_LENGTH, tweetLength } from './platforms/x.ts';

export interface PlatformReplyInput {
  kind: 'reply' | 'note';
  /** The channel type the reply goes out on (the reply path's choice). */
  channel: string;
  text: string;
  template?: ReplyTemplateInput;
  visibility?: ReplyVisibility;
}

export interface PlatformReply {
  target: ReplyTarget;
  text: string;
  metadata: Record<string, unknown> | null;
}

const unavailable = (path: string, message: string) =>
  new AppError('reply_option_unavailable', message, [{ path, message }]);

/** WhatsApp refuses a parameter with a newline, a tab or more than four spaces in a row (error 132018). */
const BAD_PARAMETER = /[\n\r\t]| {5}/;
/** WhatsApp's limit on a template body once filled in. */
const TEMPLATE_MAX_LENGTH = 1024;

function tooLong(length: number, max: number, what: string) {
  if (length <= max) return;
  throw new AppError('reply_too_long', `${what} takes at most ${max} characters; this one has ${length}`, [
    { path: 'body.text', message: `at most ${max} characters` },
  ]);
}

function templateReply(target: ReplyTarget, input: ReplyTemplateInput): PlatformReply {
  const template = channelTemplates(target.channel).find(
    (t) => t.name === input.name && t.language === input.language,
  );
  if (!template) {
    throw new AppError(
      'template_not_found',
      `No approved template "${input.name}" (${input.language}) on ${target.channel.name}`,
      [
        {
          path: 'body.template.name',
          message: 'must be one of the channel’s templates (settings.templates)',
        },
      ],
    );
  }
  const bad = (message: string) =>
    new AppError('template_parameters_invalid', `Template "${template.name}": ${message}`, [
      { path: 'body.template.parameters', message },
    ]);
  if (input.parameters.length !== template.parameters) {
    throw bad(`takes ${template.parameters} parameters, ${input.parameters.length} given`);
  }
  if (input.parameters.some((p) => BAD_PARAMETER.test(p) || p.trim() === '')) {
    throw bad('a parameter may not be blank or hold a line break, a tab or five spaces in a row');
  }
  const text = fillTemplate(template.text, input.parameters);
  tooLong(text.length, TEMPLATE_MAX_LENGTH, 'A WhatsApp template');
  return {
    target,
    text,
    metadata: {
      template: { name: template.name, language: template.language, parameters: input.parameters },
    },
  };
}

function whatsappReply(target: ReplyTarget, input: PlatformReplyInput, now: Date): PlatformReply {
  if (input.template) return templateReply(target, input.template);
  const closes = target.windowClosesAt;
  if (!closes || closes.getTime() <= now.getTime()) {
    const since = closes ? ` (it closed at ${closes.toISOString()})` : '';
    throw new AppError(
      'reply_window_closed',
      `WhatsApp takes free-form replies only within 24 hours of the customer’s last message${since}: send an approved template`,
      [{ path: 'body.template', message: 'required outside the 24-hour window' }],
    );
  }
  tooLong(input.text.length, platformFor('whatsapp')!.replyLimits!.maxLength!, 'A WhatsApp message');
  return { target, text: input.text, metadata: null };
}

/** Messenger, Instagram: free within the 24 hours, tagged HUMAN_AGENT for 7 days, then refused. */
function messagingReply(target: ReplyTarget, input: PlatformReplyInput, now: Date): PlatformReply {
  const name = target.channel.type === 'instagram' ? 'Instagram' : 'Messenger';
  tooLong(input.text.length, platformFor(target.channel.type)!.replyLimits!.maxLength!, `A ${name} message`);
  if (target.windowClosesAt && target.windowClosesAt > now)
    return { target, text: input.text, metadata: null };
  const until = target.humanAgentUntil;
  if (until && until > now) return { target, text: input.text, metadata: { tag: 'HUMAN_AGENT' } };
  const since = until ? ` (that was ${until.toISOString()})` : '';
  throw new AppError(
    'reply_window_closed',
    `${name} takes a reply only within 7 days of the customer’s last message${since}: reply on another channel, or wait until they write again`,
    [{ path: 'body.channel', message: `${name} no longer takes replies to this customer` }],
  );
}

function xReply(target: ReplyTarget, input: PlatformReplyInput): PlatformReply {
  const visibility = input.visibility ?? (target.lastPostId ? target.lastVisibility : null) ?? 'direct';
  if (visibility === 'public') {
    if (!target.lastPostId) {
      throw unavailable(
        'body.visibility',
        'A public reply answers the customer’s post, and they have not posted in this case',
      );
    }
    tooLong(tweetLength(input.text), TWEET_MAX_LENGTH, 'A public reply on X');
    return { target, text: input.text, metadata: { visibility, inReplyToTweetId: target.lastPostId } };
  }
  tooLong(input.text.length, DM_MAX_LENGTH, 'A direct message on X');
  return { target, text: input.text, metadata: { visibility } };
}

/**
 * Checks a reply going out on a messaging platform of the case; null when the reply does not
 * go to one (email, chat, a channel the customer has not written on in this case) and names no
 * platform option.
 */
export async function preparePlatformReply(
  db: Executor,
  tenantId: string,
  current: { id: string; customerId: string },
  input: PlatformReplyInput,
  now: Date,
): Promise<PlatformReply | null> {
  if (input.kind === 'note') {
    if (input.template) throw unavailable('body.template', 'A note is never sent, so it takes no template');
    if (input.visibility)
      throw unavailable('body.visibility', 'A note is never sent, so it has no visibility');
    return null;
  }
  const target = (await replyTargets(db, tenantId, current)).find((t) => t.channel.type === input.channel);
  if (input.template && target?.channel.type !== 'whatsapp') {
    throw unavailable(
      'body.template',
      'Templates are sent on WhatsApp only, and this reply does not go there',
    );
  }
  if (input.visibility && target?.channel.type !== 'x') {
    throw unavailable(
      'body.visibility',
      'Only a reply on X is public or direct, and this reply does not go there',
    );
  }
  if (!target) return null;
  switch (target.channel.type) {
    case 'whatsapp':
      return whatsappReply(target, input, now);
    case 'x':
      return xReply(target, input);
    case 'messenger':
    case 'instagram':
      return messagingReply(target, input, now);
    default: {
      const max = platformFor(target.channel.type)?.replyLimits?.maxLength;
      if (max) tooLong(input.text.length, max, `A ${target.channel.type} message`);
      return { target, text: input.text, metadata: null };
    }
  }
}
