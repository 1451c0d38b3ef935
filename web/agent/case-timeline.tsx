/**
 * The case's story across every channel, from its events: contacts (each marked with its channel
 * and whether it was a repeat), replies, automatic acknowledgements and internal notes as cards,
 * every other change as one compact line saying who did what; an acknowledgement held back as a
 * possible mail loop stands out.
 */
import { Badge, Loader, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { channelLabels } from '../../shared/domain/channels.ts';
import type { Case, TimelineEntry } from '../lib/api.ts';
import { ChannelBadge, priorityLabels, RepeatBadge, statusLabels } from '../ui/badges.tsx';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { UserAvatar } from '../ui/user-avatar.tsx';
import { AttachmentList } from './attachment-list.tsx';
import { customerLabel } from './case-list.tsx';
import { customerQuery, useTeams, useTimeline, useUserNames } from './queries.ts';
import { VisibilityBadge } from './reply-visibility.tsx';
import { describeCustomerEvent } from './timeline-customer.ts';
import {
  automaticLabels,
  DeliveryBadge,
  DeliveryFailure,
  EmailExtras,
  withoutCaseTag,
} from './timeline-email.tsx';

type Names = { user: (id: string | null | undefined) => string; team: (id: unknown) => string };

export function CaseTimeline({ current }: { current: Case }) {
  const timeline = useTimeline(current.id);
  const userNames = useUserNames();
  const { data: teams } = useTeams();
  const { data: customer } = useQuery(customerQuery(current.customerId));
  const names: Names = {
    user: (id) => (id ? (userNames.get(id) ?? 'A former colleague') : 'Nobody'),
    team: (id) => teams?.find((t) => t.id === id)?.name ?? 'a team',
  };

  if (timeline.isPending) return <Loader size="sm" aria-label="Loading the timeline" />;
  if (timeline.isError) return <ErrorAlert error={timeline.error} title="Could not load the timeline" />;
  return (
    <ol className="timeline" data-testid="timeline">
      {timeline.data.items.map((entry) => (
        <li key={entry.id} className="timeline-item" data-type={entry.type}>
          <Entry entry={entry} names={names} customerName={customerLabel(customer)} />
        </li>
      ))}
    </ol>
  );
}

function actorName(entry: TimelineEntry, names: Names): string {
  if (entry.actor.type === 'user') return names.user(entry.actor.id);
  if (entry.actor.type === 'token') return 'An integration';
  return 'Rapport';
}

function Entry({ entry, names, customerName }: { entry: TimelineEntry; names: Names; customerName: string }) {
  const { message } = entry;
  if (message && entry.type === 'contact.received') {
    const repeat = entry.data.repeat === true;
    return (
      <article className="message message-inbound" aria-label={`Contact from ${customerName}`}>
        <header className="message-head">
          <UserAvatar name={customerName} size={22} color="gray.7" />
          <Text span size="sm" fw={600}>
            {customerName}
          </Text>
          <ChannelBadge channel={message.channel} />
          {message.visibility ? <VisibilityBadge visibility={message.visibility} /> : null}
          {repeat ? <RepeatBadge /> : null}
          {message.email?.automatic ? (
            <Badge size="sm" radius="sm" variant="outline" color="gray.8" tt="none" data-testid="automatic">
              Automatic ({automaticLabels[message.email.automatic] ?? message.email.automatic})
            </Badge>
          ) : null}
          <Text span size="xs" c="dimmed" ml="auto">
            <RelativeTime iso={entry.at} />
          </Text>
        </header>
        {message.email?.subject ? (
          <Text size="sm" fw={500} className="message-subject">
            {withoutCaseTag(message.email.subject)}
          </Text>
        ) : null}
        <div className="message-body">{message.text}</div>
        {message.files ? <AttachmentList files={message.files} /> : null}
        {message.email ? <EmailExtras messageId={message.id} email={message.email} /> : null}
      </article>
    );
  }
  if (message && (entry.type === 'message.replied' || entry.type === 'message.noted')) {
    const note = entry.type === 'message.noted';
    const author = message.authorUserId ? names.user(message.authorUserId) : actorName(entry, names);
    return (
      <article
        className={note ? 'message message-note' : 'message message-outbound'}
        aria-label={note ? `Internal note by ${author}` : `Reply by ${author}`}
      >
        <header className="message-head">
          <UserAvatar name={author} size={22} />
          <Text span size="sm" fw={600}>
            {author}
          </Text>
          <Text span size="xs" c="dimmed">
            {note ? 'Internal note · not seen by the customer' : 'Replied'}
          </Text>
          {note ? null : <ChannelBadge channel={message.channel} />}
          {message.visibility ? <VisibilityBadge visibility={message.visibility} /> : null}
          {message.template ? (
            <Text span size="xs" c="dimmed" data-testid="sent-template">
              Template {message.template}
            </Text>
          ) : null}
          {message.delivery ? <DeliveryBadge delivery={message.delivery} channel={message.channel} /> : null}
          <Text span size="xs" c="dimmed" ml="auto">
            <RelativeTime iso={entry.at} />
          </Text>
        </header>
        <div className="message-body">{message.text}</div>
        {message.files ? <AttachmentList files={message.files} /> : null}
        {message.email ? <EmailExtras messageId={message.id} email={message.email} /> : null}
        {message.delivery?.status === 'failed' ? (
          <DeliveryFailure delivery={message.delivery} channel={message.channel} />
        ) : null}
      </article>
    );
  }
  if (message && entry.type === 'email.acknowledgement_queued') {
    return (
      <article className="message message-automatic" aria-label="Automatic acknowledgement">
        <header className="message-head">
          <UserAvatar name="Rapport" size={22} color="gray.7" />
          <Text span size="sm" fw={600}>
            Rapport
          </Text>
          <Text span size="xs" c="dimmed">
            Automatic acknowledgement to {String(entry.data.recipient ?? 'the customer')}
          </Text>
          {message.delivery ? <DeliveryBadge delivery={message.delivery} /> : null}
          <Text span size="xs" c="dimmed" ml="auto">
            <RelativeTime iso={entry.at} />
          </Text>
        </header>
        {message.email?.subject ? (
          <Text size="sm" fw={500} className="message-subject">
            {withoutCaseTag(message.email.subject)}
          </Text>
        ) : null}
        <div className="message-body">{message.text}</div>
        {message.email ? <EmailExtras messageId={message.id} email={message.email} /> : null}
        {message.delivery?.status === 'failed' ? <DeliveryFailure delivery={message.delivery} /> : null}
      </article>
    );
  }
  if (entry.type === 'email.acknowledgement_suppressed') {
    return (
      <p className="event-line event-alert" data-testid="ack-suppressed">
        <span className="event-dot" aria-hidden />
        <span>
          <Badge size="sm" radius="sm" variant="outline" color="#9c3d00" tt="none" mr={6}>
            Possible mail loop
          </Badge>
          Acknowledgement not sent to {String(entry.data.recipient ?? 'this address')}: one already went there
          within {String(entry.data.windowHours ?? 24)} h{' '}
          <Text span size="xs" c="dimmed" ml={4}>
            <RelativeTime iso={entry.at} />
          </Text>
        </span>
      </p>
    );
  }
  return (
    <p className="event-line">
      <span className="event-dot" aria-hidden />
      <span>
        {describe(entry, names)}{' '}
        <Text span size="xs" c="dimmed" ml={4}>
          <RelativeTime iso={entry.at} />
        </Text>
      </span>
    </p>
  );
}

const label = (map: Record<string, string>, v: unknown) => map[String(v)] ?? String(v);

function describe(entry: TimelineEntry, names: Names): string {
  const who = actorName(entry, names);
  const { from, to } = entry.data as { from?: unknown; to?: unknown };
  switch (entry.type) {
    case 'case.opened':
      return `Case opened from ${label(channelLabels, entry.data.channel)}`;
    case 'case.reopened':
      return entry.data.by === 'contact'
        ? `Reopened by a new contact (was ${label(statusLabels, from)})`
        : `${who} reopened the case`;
    case 'case.owner_changed':
      if (!to) return `${who} unassigned the case`;
      if (entry.actor.type === 'user' && to === entry.actor.id) return `${who} took ownership`;
      return `${who} assigned the case to ${names.user(to as string)}`;
    case 'case.team_changed':
      return to ? `${who} moved the case to ${names.team(to)}` : `${who} removed the team`;
    case 'case.status_changed':
      return `${who} changed the status from ${label(statusLabels, from)} to ${label(statusLabels, to)}`;
    case 'case.priority_changed':
      return `${who} changed the priority from ${label(priorityLabels, from)} to ${label(priorityLabels, to)}`;
    case 'case.reason_changed':
      return to ? `${who} set the contact reason to “${to}”` : `${who} cleared the contact reason`;
    case 'case.tags_changed':
      return `${who} set the tags to ${(to as string[]).join(', ') || 'none'}`;
    case 'case.subject_changed':
      return `${who} renamed the case to “${to}”`;
    default:
      return describeCustomerEvent(entry, who) ?? `${who}: ${entry.type}`;
  }
}
