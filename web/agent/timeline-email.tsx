/**
 * The email side of timeline messages: attachments and the whole message in a sandboxed frame,
 * where an outbound email is (queued, sent, failed), and for staff who look after outbound
 * mail, the way from a failed one to Settings → Outbound mail.
 */
import { Badge, Button, Group, Text } from '@mantine/core';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { type Channel, channelLabels } from '../../shared/domain/channels.ts';
import { allows } from '../../shared/domain/permissions.ts';
import type { TimelineEntry } from '../lib/api.ts';
import { AttachmentList } from './attachment-list.tsx';
import { useSession } from './queries.ts';

export type EmailDetails = NonNullable<NonNullable<TimelineEntry['message']>['email']>;

export const automaticLabels: Record<string, string> = {
  auto_reply: 'auto-reply',
  bounce: 'delivery failure',
  list: 'mailing list',
  null_sender: 'system mail',
};

/**
 * The whole email on demand, in a sandboxed frame: the server sends it with a CSP that allows no
 * script and no request, so remote images load only when the agent asks. Attachments download.
 */
export function EmailExtras({ messageId, email }: { messageId: string; email: EmailDetails }) {
  const [open, setOpen] = useState(false);
  const [remote, setRemote] = useState(false);
  const files = email.attachments.filter((a) => !a.inline);
  return (
    <div className="email-extras">
      <AttachmentList files={files} />
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
export function withoutCaseTag(subject: string): string {
  return subject.replace(/\s*\[#\d+(?:-[a-z0-9]+)?\]/gi, '').trim();
}

export type Delivery = NonNullable<NonNullable<TimelineEntry['message']>['delivery']>;

/** Outline badges draw their label in this colour: each keeps 4.5:1 on the timeline's pale backgrounds. */
const deliveryLabels: Record<Delivery['status'], { text: string; color: string }> = {
  queued: { text: 'queued', color: '#8a5200' }, // a dark amber: Mantine's darkest yellow reaches only 2.8:1
  sent: { text: 'sent', color: 'teal.9' },
  delivered: { text: 'delivered', color: 'teal.9' },
  read: { text: 'read', color: 'teal.9' },
  failed: { text: 'failed', color: 'red.9' },
};

/**
 * Where a reply is (an email, or a message on SMS, WhatsApp, …): words first, colour second;
 * retries are counted in the label.
 */
export function DeliveryBadge({ delivery, channel = 'email' }: { delivery: Delivery; channel?: string }) {
  const { color } = deliveryLabels[delivery.status];
  const text = `${channelLabels[channel as Channel] ?? channel} ${deliveryLabels[delivery.status].text}`;
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
      {retrying
        ? `${text} · retrying (${delivery.attempts} ${delivery.attempts === 1 ? 'attempt' : 'attempts'})`
        : text}
    </Badge>
  );
}

/** Why a reply did not go out; for email, staff who may retry it are shown where. */
export function DeliveryFailure({ delivery, channel = 'email' }: { delivery: Delivery; channel?: string }) {
  const session = useSession();
  return (
    <Text size="xs" c="red.9" mt={4} data-testid="delivery-error">
      Not delivered:{' '}
      {delivery.lastError ?? (channel === 'email' ? 'the mail server refused it' : 'the platform refused it')}
      {channel === 'email' && allows(session.user.role, 'email.outbox') ? (
        <>
          {' · '}
          <Link to="/settings/outbound-mail" className="inline-link">
            Retry it in Outbound mail
          </Link>
        </>
      ) : null}
    </Text>
  );
}
