/**
 * One case: header with quick actions, the unified timeline and the composer; beside it the
 * case's properties and the customer with every case they ever had.
 */
import { Badge, Button, Group, Loader, Text, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { getRouteApi, Link } from '@tanstack/react-router';
import { isActive } from '../../shared/domain/cases.ts';
import { allows } from '../../shared/domain/permissions.ts';
import { ApiError, type Case } from '../lib/api.ts';
import { ChannelBadge, PriorityBadge, RepeatBadge, StatusBadge } from '../ui/badges.tsx';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { CaseProperties } from './case-properties.tsx';
import { CaseTimeline } from './case-timeline.tsx';
import { ChatTypingReporter, VisitorTyping } from './chat-typing.tsx';
import { Composer } from './composer.tsx';
import { CustomerPanel } from './customer-panel.tsx';
import { LogCallButton } from './log-call.tsx';
import { useCase, useSession, useUpdateCase, useUserNames } from './queries.ts';

const route = getRouteApi('/signed-in/cases/$number');

export function CasePage() {
  const { number } = route.useParams();
  const { data: current, error, isPending } = useCase(number);
  useDocumentTitle(current ? `#${current.number} ${current.subject} · Rapport` : `Case #${number} · Rapport`);

  if (isPending) {
    return (
      <div className="page empty">
        <Loader size="sm" aria-label="Loading the case" />
      </div>
    );
  }
  if (!current) {
    const missing = error instanceof ApiError && error.status === 404;
    return (
      <div className="page">
        <Title order={1} mb="sm">
          {missing ? `No case #${number}` : 'The case could not be loaded'}
        </Title>
        {missing ? (
          <Text mb="md">It does not exist in this organisation.</Text>
        ) : (
          <ErrorAlert error={error} />
        )}
        <Link to="/inbox/$view" params={{ view: 'mine' }}>
          Back to my inbox
        </Link>
      </div>
    );
  }
  return (
    <div className="case-page">
      <div className="case-main">
        <CaseHeader current={current} />
        <section aria-labelledby="timeline-heading" className="case-section">
          <h2 id="timeline-heading" className="section-title">
            Timeline
          </h2>
          <CaseTimeline current={current} />
          <VisitorTyping caseId={current.id} />
        </section>
        <ChatTypingReporter current={current}>
          <Composer current={current} />
        </ChatTypingReporter>
      </div>
      <div className="case-side">
        <CaseProperties current={current} />
        <CustomerPanel current={current} />
      </div>
    </div>
  );
}

function CaseHeader({ current }: { current: Case }) {
  const session = useSession();
  const names = useUserNames();
  const update = useUpdateCase(current);
  const me = session.user.id;
  const active = isActive(current.status);
  return (
    <header className="case-header">
      <Group gap={6} mb={4} wrap="wrap">
        <Text size="sm" c="dimmed" ff="monospace" data-testid="case-number">
          #{current.number}
        </Text>
        <StatusBadge status={current.status} />
        <PriorityBadge priority={current.priority} />
        <ChannelBadge channel={current.channel} />
        {current.repeatContactCount > 0 ? (
          <RepeatBadge
            label={`${current.contactCount} contacts · ${current.repeatContactCount} repeat${current.repeatContactCount === 1 ? '' : 's'}`}
          />
        ) : null}
        {current.tags.map((tag) => (
          <Badge key={tag} size="sm" radius="sm" variant="default" tt="none" fw={500}>
            {tag}
          </Badge>
        ))}
      </Group>
      <Title order={1} className="case-subject">
        {current.subject}
      </Title>
      <Group justify="space-between" mt={6} gap="xs" wrap="wrap">
        <Text size="sm" c="dimmed">
          Owner:{' '}
          <Text span size="sm" c="var(--mantine-color-text)" fw={500} data-testid="case-owner">
            {current.ownerId ? (names.get(current.ownerId) ?? '…') : 'Unassigned'}
          </Text>{' '}
          · opened <RelativeTime iso={current.createdAt} />
        </Text>
        <Group gap="xs">
          {allows(session.user.role, 'messages.reply') && current.status !== 'closed' ? (
            <LogCallButton current={current} />
          ) : null}
          {current.ownerId !== me && current.status !== 'closed' ? (
            <Button
              size="compact-sm"
              variant="default"
              onClick={() => update.mutate({ ownerId: me })}
              disabled={update.isPending}
            >
              Assign to me
            </Button>
          ) : null}
          {active ? (
            <Button
              size="compact-sm"
              color="teal.9"
              onClick={() => update.mutate({ status: 'resolved' })}
              disabled={update.isPending}
            >
              Resolve
            </Button>
          ) : (
            <Button
              size="compact-sm"
              variant="default"
              onClick={() => update.mutate({ status: 'open' })}
              disabled={update.isPending}
            >
              Reopen
            </Button>
          )}
        </Group>
      </Group>
      {update.error ? <ErrorAlert error={update.error} title="The case was not changed" /> : null}
    </header>
  );
}
