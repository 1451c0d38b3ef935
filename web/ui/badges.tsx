/** Small labelled markers used in lists and on the case page. Colour is never the only signal. */
import { Badge, type BadgeProps } from '@mantine/core';
import type { CaseStatus, Priority } from '../../shared/domain/cases.ts';
import { type Channel, channelLabels } from '../../shared/domain/channels.ts';

const statusColor: Record<CaseStatus, string> = {
  new: 'blue',
  open: 'indigo',
  pending: 'yellow',
  resolved: 'teal',
  closed: 'gray',
};
export const statusLabels: Record<CaseStatus, string> = {
  new: 'New',
  open: 'Open',
  pending: 'Pending',
  resolved: 'Resolved',
  closed: 'Closed',
};
const priorityColor: Record<Priority, string> = {
  low: 'gray',
  normal: 'gray',
  high: 'orange',
  urgent: 'red',
};
export const priorityLabels: Record<Priority, string> = {
  low: 'Low',
  normal: 'Normal',
  high: 'High',
  urgent: 'Urgent',
};

const small: BadgeProps = { size: 'sm', radius: 'sm', fw: 600, tt: 'none' };

export function StatusBadge({ status }: { status: CaseStatus }) {
  return (
    <Badge {...small} variant="light" color={statusColor[status]} data-status={status}>
      {statusLabels[status]}
    </Badge>
  );
}

export function PriorityBadge({ priority }: { priority: Priority }) {
  return (
    <Badge
      {...small}
      variant={priority === 'urgent' ? 'filled' : 'light'}
      color={priority === 'urgent' ? 'red.9' : priorityColor[priority]}
    >
      {priorityLabels[priority]}
    </Badge>
  );
}

export function ChannelBadge({ channel }: { channel: string }) {
  return (
    <Badge {...small} variant="outline" color="gray.7" data-channel={channel}>
      {channelLabels[channel as Channel] ?? channel}
    </Badge>
  );
}

export function RepeatBadge({ label = 'Repeat contact' }: { label?: string }) {
  return (
    <Badge {...small} variant="light" color="orange" data-repeat="true">
      {label}
    </Badge>
  );
}
