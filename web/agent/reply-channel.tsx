/**
 * Which channel a reply goes out on, and what that channel allows. By default where the server's
 * rule says (reply options: where the customer last wrote, by email after an offline chat, …); the agent can switch to any channel the customer can be reached on here —
 * email when they have an address, each messaging channel they wrote on (reply options). Under
 * the reply: the channel's limits (length, SMS segments, files; reply windows in platform-reply.tsx).
 */
import { NativeSelect, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { type Channel, channelLabels } from '../../shared/domain/channels.ts';
import { smsSegments } from '../../shared/domain/sms.ts';
import type { Case, DefaultReply, ReplyOption, ReplyOptions } from '../lib/api.ts';
import { customerQuery } from './queries.ts';

export interface ReplyChannel {
  channel: Channel;
  /** The agent chose it (sent with the reply); otherwise the server applies the same default. */
  chosen: boolean;
  choices: Channel[];
  choose(channel: Channel): void;
  /** How the composer says where the reply goes. */
  description: string;
}

const label = (channel: Channel) => channelLabels[channel] ?? channel;

const because: Record<DefaultReply['reason'], string> = {
  last_contact: ', where the customer last wrote',
  offline_chat: ', as the chat’s offline form promised',
  preferred: ', the customer’s preferred channel',
  case: '',
};

export function useReplyChannel(current: Case, options: ReplyOptions | undefined): ReplyChannel {
  const [picked, setPicked] = useState<Channel | null>(null);
  const customer = useQuery(customerQuery(current.customerId));
  const fallback = (options?.default.channel ?? current.channel) as Channel;
  const reachable: Channel[] = [
    ...(customer.data?.identities.some((i) => i.kind === 'email') ? (['email'] as const) : []),
    ...(options?.items ?? []).map((o) => o.type as Channel),
  ];
  const choices = [...new Set<Channel>([fallback, ...reachable])];
  const channel = picked && choices.includes(picked) ? picked : fallback;
  return {
    channel,
    chosen: channel !== fallback,
    choices,
    choose: setPicked,
    description:
      channel === fallback && options
        ? `Sent by ${label(channel)}${because[options.default.reason]}`
        : `Sent by ${label(channel)}`,
  };
}

/** The channel picker (when there is a choice) and the chosen channel's limits. */
export function ReplyChannelPicker({
  reply,
  option,
  text,
}: {
  reply: ReplyChannel;
  option: ReplyOption | undefined;
  text: string;
}) {
  return (
    <div className="reply-channel">
      {reply.choices.length > 1 ? (
        <NativeSelect
          size="xs"
          w={220}
          label="Reply by"
          value={reply.channel}
          onChange={(e) => reply.choose(e.currentTarget.value as Channel)}
          data={reply.choices.map((c) => ({ value: c, label: label(c) }))}
        />
      ) : null}
      <ReplyLimits channel={reply.channel} option={option} text={text} />
    </div>
  );
}

function ReplyLimits({
  channel,
  option,
  text,
}: {
  channel: Channel;
  option: ReplyOption | undefined;
  text: string;
}) {
  const parts: string[] = [];
  let over = false;
  if (channel === 'email') parts.push('Files can be attached');
  if (option) {
    // A platform's reply window has its own line (platform-reply.tsx).
    const { maxLength, segments, attachments } = option.limits;
    if (maxLength) {
      over = text.length > maxLength;
      parts.push(`${text.length} / ${maxLength} characters`);
    }
    if (segments) {
      const split = smsSegments(text);
      parts.push(
        `${split.segments} SMS segment${split.segments === 1 ? '' : 's'}${split.encoding === 'UCS-2' ? ' (Unicode: 70 characters each)' : ''}`,
      );
    }
    parts.push(attachments ? 'Files can be sent' : 'No files on this channel');
  }
  if (parts.length === 0) return null;
  return (
    <Text size="xs" c={over ? 'red.9' : 'dimmed'} mt={4} data-testid="reply-limits" aria-live="polite">
      {label(channel)}: {parts.join(' · ')}
    </Text>
  );
}
