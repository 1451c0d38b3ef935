/**
 * X in the agent workspace: whether a message was written in public (a post everyone can see) or
 * in private (a direct message) — on every timeline message and in the composer, where the agent
 * chooses between answering the customer's post publicly and moving to a DM.
 */
import { Badge, Box, SegmentedControl, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ReplyVisibility } from '../../shared/api/reply-options.ts';
import { postLength } from '../../shared/domain/social-text.ts';
import type { ReplyOption } from '../lib/api.ts';
import type { PlatformChoice } from './platform-reply.tsx';

/** A dark orange that keeps 4.5:1 contrast both as text on white and behind white text. */
const PUBLIC_COLOUR = '#9c3d00';
const labels: Record<ReplyVisibility, string> = { public: 'Public post', direct: 'Direct message' };

/** Words and an outline, not colour alone: "Public post" stands out in the case's history. */
export function VisibilityBadge({ visibility }: { visibility: ReplyVisibility }) {
  return (
    <Badge
      size="sm"
      radius="sm"
      fw={600}
      tt="none"
      variant={visibility === 'public' ? 'filled' : 'outline'}
      color={visibility === 'public' ? PUBLIC_COLOUR : 'gray.7'}
      data-visibility={visibility}
    >
      {labels[visibility]}
    </Badge>
  );
}

export function XVisibilityPicker({
  option,
  text,
  onChange,
}: {
  option: ReplyOption;
  text: string;
  onChange: (choice: PlatformChoice) => void;
}) {
  const [visibility, setVisibility] = useState<ReplyVisibility>(option.defaultVisibility ?? 'direct');
  const current = option.visibilities.find((v) => v.visibility === visibility) ?? option.visibilities[0];
  const length = visibility === 'public' ? postLength(text) : text.length;
  const max = current?.maxLength ?? null;
  const over = max !== null && length > max;

  useEffect(() => {
    onChange({
      visibility,
      blocked: over ? `Too long for ${visibility === 'public' ? 'a post' : 'a direct message'} on X` : null,
    });
  }, [visibility, over, onChange]);

  return (
    <Box mt="xs" data-testid="x-visibility">
      <SegmentedControl
        size="xs"
        value={visibility}
        onChange={(v) => setVisibility(v as ReplyVisibility)}
        aria-label="Reply visibility on X"
        data={option.visibilities.map((v) => ({
          value: v.visibility,
          label: v.visibility === 'public' ? 'Public reply' : 'Direct message',
        }))}
      />
      <Text
        size="xs"
        c={visibility === 'public' ? PUBLIC_COLOUR : 'dimmed'}
        mt={4}
        data-testid="x-visibility-hint"
      >
        {visibility === 'public'
          ? 'Everyone on X can see this reply: it answers the customer’s post. Keep account details out of it.'
          : 'Only the customer sees this direct message.'}{' '}
        <Text span size="xs" c={over ? 'red.9' : 'dimmed'} fw={over ? 700 : 400}>
          {length}/{max}
        </Text>
      </Text>
      {option.visibilities.length === 1 ? (
        <Text size="xs" c="dimmed">
          No public post to answer in this case: replies go by direct message.
        </Text>
      ) : null}
    </Box>
  );
}
