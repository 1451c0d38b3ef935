/**
 * What the composer adds for a reply on a messaging platform (GET /api/v1/cases/{id}/reply-options):
 * WhatsApp's window and templates, Messenger's and Instagram's window, X's public or direct choice.
 * The composer holds one PlatformChoice and sends its template/visibility with the reply;
 * `blocked` says why it cannot go.
 */
import { useQuery } from '@tanstack/react-query';
import type { ReplyTemplateInput, ReplyVisibility } from '../../shared/api/reply-options.ts';
import { api, type ReplyOption } from '../lib/api.ts';
import { MessagingWindow } from './messaging-window.tsx';
import { keys } from './queries.ts';
import { XVisibilityPicker } from './reply-visibility.tsx';
import { WhatsAppTemplates } from './whatsapp-templates.tsx';

export interface PlatformChoice {
  template?: ReplyTemplateInput;
  /** The template as the customer will read it: what the reply's text becomes. */
  preview?: string;
  visibility?: ReplyVisibility;
  /** Why the reply cannot be sent as it stands; null when it can. */
  blocked: string | null;
}

export const noChoice: PlatformChoice = { blocked: null };

/** Under the case's timeline key, so every realtime notice and reply on the case refreshes it. */
export const useReplyOptions = (caseId: string) =>
  useQuery({
    queryKey: [...keys.timeline(caseId), 'reply-options'],
    queryFn: () => api.cases.replyOptions(caseId),
  });

/** Channels whose composer controls decide the reply's PlatformChoice (what may be sent). */
const controlled = new Set(['whatsapp', 'messenger', 'instagram', 'x']);
export const hasReplyControls = (option: ReplyOption | undefined) =>
  option !== undefined && controlled.has(option.type);

/** The reply's extra fields for the API. */
export function choiceInput(choice: PlatformChoice) {
  return {
    ...(choice.template ? { template: choice.template } : {}),
    ...(choice.visibility ? { visibility: choice.visibility } : {}),
  };
}

/** The controls of the channel the reply goes out on; nothing for channels without any. */
export function PlatformReplyControls({
  option,
  text,
  onChange,
}: {
  option: ReplyOption | undefined;
  text: string;
  onChange: (choice: PlatformChoice) => void;
}) {
  // Keyed by channel: a different channel starts with its own defaults.
  if (option?.type === 'whatsapp')
    return <WhatsAppTemplates key={option.channelId} option={option} onChange={onChange} />;
  if (option?.type === 'messenger' || option?.type === 'instagram')
    return <MessagingWindow key={option.channelId} option={option} onChange={onChange} />;
  if (option?.type === 'x' && option.visibilities.length > 0)
    return <XVisibilityPicker key={option.channelId} option={option} text={text} onChange={onChange} />;
  return null;
}
