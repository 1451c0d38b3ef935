/**
 * The case's story across every channel, from its events: contacts (each marked with its channel
 * and whether it was a repeat), replies and internal notes as cards, every other change as one
 * compact line saying who did what.
 */
import { Badge, Button, Group, Loader, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { channelLabels } from '../../shared/domain/channels.ts';
import type { Case, TimelineEntry } from '../lib/api.ts';
import { ChannelBadge, priorityLabels, RepeatBadge, statusLabels } from '../ui/badges.tsx';
import { byteSize } from '../ui/byte-size.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { UserAvatar } from '../ui/user-avatar.tsx';
import { customerLabel } from './case-list.tsx';
import { customerQuery, useTeams, useTimeline, useUserNames } from './queries.ts';

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
          {message.delivery ? <DeliveryBadge delivery={message.delivery} /> : null}
          <Text span size="xs" c="dimmed" ml="auto">
            <RelativeTime iso={entry.at} />
          </Text>
        </header>
        <div className="message-body">{message.text}</div>
        {message.delivery?.status === 'failed' ? (
          <Text size="xs" c="red.9" mt={4} data-testid="delivery-error">
            Not delivered: {message.delivery.lastError ?? 'the mail server refused it'}
          </Text>
        ) : null}
      </article>
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

type EmailDetails = NonNullable<NonNullable<TimelineEntry['message']>['email']>;

const automaticLabels: Record<string, string> = {
  auto_reply: 'auto-reply',
  bounce: 'delivery failure',
  list: 'mailing list',
  null_sender: 'system mail',
};

/**
 * The whole email on demand, in a sandboxed frame: the server sends it with a CSP that allows no
 * script and no request, so remote images load only when the agent asks. Attachments download.
 */
function EmailExtras({ messageId, email }: { messageId: string; email: EmailDetails }) {
  const [open, setOpen] = useState(false);
  const [remote, setRemote] = useState(false);
  const files = email.attachments.filter((a) => !a.inline);
  return (
    <div className="email-extras">
      {files.length > 0 ? (
        <ul className="attachments" aria-label="Attachments">
          {files.map((a) => (
            <li key={a.id}>
              <a href={`/api/v1/attachments/${a.id}`} download={a.filename}>
                {a.filename}
              </a>{' '}
              <Text span size="xs" c="dimmed">
                {byteSize(a.size)}
              </Text>
            </li>
          ))}
        </ul>
      ) : null}
      {email.hasHtml ? (
        <Group gap="xs" mt={6}>
          <Button variant="light" size="compact-xs" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? 'Hide the whole email' : 'Show the whole email'}
          </Button>
          {open && !remote ? (
            <Button variant="light" size="compact-xs" onClick={() => setRemote(true)}>
              Load remote images
            </Button>
          ) : null}
        </Group>
      ) : null}
      {open ? (
        <iframe
          className="email-frame"
          title={`The whole email${email.subject ? `: ${email.subject}` : ''}`}
          sandbox="allow-popups allow-popups-to-escape-sandbox"
          referrerPolicy="no-referrer"
          src={`/api/v1/messages/${messageId}/html${remote ? '?images=remote' : ''}`}
          data-testid="email-frame"
        />
      ) : null}
    </div>
  );
}

/** The signed case tag (`[#1042-abcde]`) is for threading; the page already says which case this is. */
function withoutCaseTag(subject: string): string {
  return subject.replace(/\s*\[#\d+(?:-[a-z0-9]+)?\]/gi, '').trim();
}

type Delivery = NonNullable<NonNullable<TimelineEntry['message']>['delivery']>;

const deliveryLabels: Record<Delivery['status'], { text: string; color: string }> = {
  queued: { text: 'Email queued', color: 'yellow.9' },
  sent: { text: 'Email sent', color: 'teal.9' },
  failed: { text: 'Email failed', color: 'red.9' },
};

/** Where an emailed reply is: words first, colour second; retries are counted in the label. */
function DeliveryBadge({ delivery }: { delivery: Delivery }) {
  const { text, color } = deliveryLabels[delivery.status];
  const retrying = delivery.status === 'queued' && delivery.attempts > 0;
  return (
    <Badge
      size="sm"
      radius="sm"
      fw={600}
      tt="none"
      variant="outline"
      color={color}
      data-delivery={delivery.status}
      title={delivery.lastError}
    >
      {retrying ? `${text} · retrying (${delivery.attempts} attempts)` : text}
    </Badge>
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
      return `${who}: ${entry.type}`;
  }
}
