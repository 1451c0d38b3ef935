/** Reply to the customer or write an internal note; a reply by email or chat may carry files. Ctrl/⌘+Enter sends. */
import { Button, Group, SegmentedControl, Text, Textarea } from '@mantine/core';
import { type FormEvent, type KeyboardEvent, useState } from 'react';
import { CHAT_ATTACHMENT_TYPES } from '../../shared/api/chat.ts';
import { channelLabels } from '../../shared/domain/channels.ts';
import type { Case } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { FileList, useAttachedFiles } from './composer-files.tsx';
import {
  choiceInput,
  hasReplyControls,
  noChoice,
  type PlatformChoice,
  PlatformReplyControls,
  useReplyOptions,
} from './platform-reply.tsx';
import { useAddMessage } from './queries.ts';
import { ReplyChannelPicker, useReplyChannel } from './reply-channel.tsx';

type Kind = 'reply' | 'note';

export function Composer({ current }: { current: Case }) {
  const [kind, setKind] = useState<Kind>('reply');
  const [text, setText] = useState('');
  const add = useAddMessage(current);
  const closed = current.status === 'closed';
  // Where the reply goes: where the customer last wrote (the server's rule) unless the agent picks.
  const options = useReplyOptions(current.id);
  const reply = useReplyChannel(current, options.data);
  const replyChannel = reply.channel;
  // Files go out as email attachments or into the chat, where the widget shows only some types.
  const canAttach = kind === 'reply' && (replyChannel === 'email' || replyChannel === 'chat') && !closed;
  const attached = useAttachedFiles(canAttach, replyChannel === 'chat' ? CHAT_ATTACHMENT_TYPES : null);
  const stranded = !canAttach && attached.files.length > 0;
  // A platform's window and templates, X's public or direct reply: where the reply goes decides.
  const option = kind === 'reply' ? options.data?.items.find((o) => o.type === replyChannel) : undefined;
  const [picked, setChoice] = useState<PlatformChoice>(noChoice);
  const choice = hasReplyControls(option) ? picked : noChoice;
  const body = choice.template ? (choice.preview ?? '') : text.trim();

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    if (!body || add.isPending || stranded || choice.blocked) return;
    add.mutate(
      {
        kind,
        text: body,
        ...(kind === 'reply' && reply.chosen ? { channel: replyChannel } : {}),
        ...choiceInput(choice),
        ...(attached.files.length > 0 ? { files: attached.files } : {}),
      },
      {
        onSuccess: () => {
          setText('');
          attached.clear();
        },
      },
    );
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send();
  };

  return (
    <section
      aria-labelledby="composer-heading"
      className={`composer composer-${kind}${attached.dragging ? ' composer-dropping' : ''}`}
      {...attached.dropTarget}
    >
      <form onSubmit={send}>
        <Group justify="space-between" mb={6} wrap="nowrap">
          <Text component="h2" id="composer-heading" size="sm" fw={600}>
            {kind === 'reply' ? 'Reply to the customer' : 'Internal note'}
          </Text>
          <SegmentedControl
            size="xs"
            value={kind}
            onChange={(v) => setKind(v as Kind)}
            data={[
              { value: 'reply', label: 'Reply' },
              { value: 'note', label: 'Internal note' },
            ]}
            aria-label="Message kind"
          />
        </Group>
        <Textarea
          label={kind === 'reply' ? 'Your reply' : 'Your note'}
          description={kind === 'reply' ? reply.description : 'Only staff see notes'}
          placeholder={kind === 'reply' ? 'Write a reply…' : 'Write a note for your colleagues…'}
          autosize
          minRows={3}
          maxRows={12}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          onKeyDown={onKeyDown}
          disabled={(kind === 'reply' && closed) || !!choice.template}
        />
        {kind === 'reply' ? <ReplyChannelPicker reply={reply} option={option} text={text} /> : null}
        <PlatformReplyControls option={option} text={text} onChange={setChoice} />
        {canAttach || attached.files.length > 0 ? (
          <FileList attached={attached} disabled={!canAttach || add.isPending} />
        ) : null}
        {stranded ? (
          <Text size="xs" c="red.9" mt={4}>
            Only a reply by email or in the chat carries files: remove them to send this
            {kind === 'note' ? ' note' : ` ${channelLabels[replyChannel] ?? replyChannel} reply`}.
          </Text>
        ) : null}
        {attached.dragging ? (
          <p className="composer-drop-hint" aria-hidden>
            Drop the files to attach them
          </p>
        ) : null}
        {add.error ? <ErrorAlert error={add.error} title="Not sent" /> : null}
        <Group justify="space-between" mt="xs">
          <Text size="xs" c={choice.blocked ? 'red.9' : 'dimmed'}>
            {kind === 'reply' && closed
              ? 'Reopen the case to reply.'
              : (choice.blocked ?? 'Ctrl + Enter to send')}
          </Text>
          <Button
            type="submit"
            size="xs"
            loading={add.isPending}
            disabled={!body || stranded || !!choice.blocked}
            color={kind === 'note' ? 'yellow.8' : undefined}
          >
            {kind === 'reply' ? 'Send reply' : 'Add note'}
          </Button>
        </Group>
      </form>
    </section>
  );
}
