/** Reply to the customer or write an internal note. Ctrl/⌘+Enter sends. */
import { Button, Group, SegmentedControl, Text, Textarea } from '@mantine/core';
import { type FormEvent, type KeyboardEvent, useState } from 'react';
import { type Channel, channelLabels } from '../../shared/domain/channels.ts';
import type { Case } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { useAddMessage, useTimeline } from './queries.ts';

type Kind = 'reply' | 'note';

export function Composer({ current }: { current: Case }) {
  const [kind, setKind] = useState<Kind>('reply');
  const [text, setText] = useState('');
  const add = useAddMessage(current);
  const closed = current.status === 'closed';
  // A reply goes out where the customer last wrote (the server's rule); say which channel that is.
  const timeline = useTimeline(current.id);
  const lastInbound = timeline.data?.items.findLast((e) => e.message?.kind === 'inbound')?.message?.channel;
  const replyChannel = (lastInbound ?? current.channel) as Channel;

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    if (!text.trim() || add.isPending) return;
    add.mutate({ kind, text: text.trim() }, { onSuccess: () => setText('') });
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send();
  };

  return (
    <section aria-labelledby="composer-heading" className={`composer composer-${kind}`}>
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
          description={
            kind === 'reply'
              ? `Sent by ${channelLabels[replyChannel] ?? replyChannel}, where the customer last wrote`
              : 'Only staff see notes'
          }
          placeholder={kind === 'reply' ? 'Write a reply…' : 'Write a note for your colleagues…'}
          autosize
          minRows={3}
          maxRows={12}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          onKeyDown={onKeyDown}
          disabled={kind === 'reply' && closed}
        />
        {add.error ? <ErrorAlert error={add.error} title="Not sent" /> : null}
        <Group justify="space-between" mt="xs">
          <Text size="xs" c="dimmed">
            {kind === 'reply' && closed ? 'Reopen the case to reply.' : 'Ctrl + Enter to send'}
          </Text>
          <Button
            type="submit"
            size="xs"
            loading={add.isPending}
            disabled={!text.trim()}
            color={kind === 'note' ? 'yellow.8' : undefined}
          >
            {kind === 'reply' ? 'Send reply' : 'Add note'}
          </Button>
        </Group>
      </form>
    </section>
  );
}
