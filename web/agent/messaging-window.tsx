/**
 * Messenger and Instagram in the composer: free replies for 24 hours after the customer's last
 * message; then, for 7 days, a reply goes as a person's follow-up (the server tags it
 * HUMAN_AGENT); after that the platform takes none, and the composer says so and holds the send.
 */
import { Alert, Box, Text } from '@mantine/core';
import { useEffect } from 'react';
import type { ReplyOption } from '../lib/api.ts';
import { formatAbsolute, RelativeTime, useStillAhead } from '../ui/relative-time.tsx';
import type { PlatformChoice } from './platform-reply.tsx';

const at = (iso: string) => <time dateTime={iso}>{formatAbsolute(iso)}</time>;

export function MessagingWindow({
  option,
  onChange,
}: {
  option: ReplyOption;
  onChange: (choice: PlatformChoice) => void;
}) {
  const name = option.type === 'instagram' ? 'Instagram' : 'Messenger';
  const window = option.window;
  const open = useStillAhead(window?.closesAt);
  const followUp = useStillAhead(window?.humanAgentUntil);
  const closed = !open && !followUp;

  useEffect(() => {
    onChange({ blocked: closed ? `${name} no longer takes replies to this customer` : null });
  }, [closed, name, onChange]);

  return (
    <Box mt="xs" data-testid="messaging-window">
      {open && window ? (
        <Text size="xs" c="dimmed">
          {name} window open: replies until {at(window.closesAt)}, 24 hours after the customer’s last message.
        </Text>
      ) : followUp && window?.humanAgentUntil ? (
        <Text size="xs" c="dimmed">
          The 24-hour window closed <RelativeTime iso={window.closesAt} />: this reply goes as a person’s
          follow-up (HUMAN_AGENT), possible until {at(window.humanAgentUntil)}.
        </Text>
      ) : (
        <Alert color="yellow" variant="light" p="xs" title={`${name} no longer takes replies here`}>
          {name} takes a reply only within 7 days of the customer’s last message
          {window?.humanAgentUntil ? (
            <>
              {' '}
              (that ended <RelativeTime iso={window.humanAgentUntil} />)
            </>
          ) : null}
          . Reply on another channel, or wait until they write again.
        </Alert>
      )}
    </Box>
  );
}
