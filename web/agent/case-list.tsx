/**
 * A dense, paged table of cases. The subject is the row's one link (its hit area covers the row),
 * so keyboard and screen-reader users get one stop per case, not nine.
 */
import { Button, Loader, Text, VisuallyHidden } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import type { Case, CaseListQuery, Customer } from '../lib/api.ts';
import { ChannelBadge, PriorityBadge, RepeatBadge, StatusBadge } from '../ui/badges.tsx';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { caseListQuery, customerQuery, useUserNames } from './queries.ts';

export function customerLabel(customer: Customer | undefined): string {
  if (!customer) return '…';
  return customer.name ?? customer.identities[0]?.value ?? 'Unknown customer';
}

function CustomerName({ id }: { id: string }) {
  const { data, isError } = useQuery(customerQuery(id));
  return <>{isError ? 'Unknown customer' : customerLabel(data)}</>;
}

export function CaseList({ filter, caption }: { filter: Omit<CaseListQuery, 'cursor'>; caption: string }) {
  const list = useInfiniteQuery(caseListQuery(filter));
  const names = useUserNames();
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];

  if (list.isPending) {
    return (
      <div className="empty">
        <Loader size="sm" aria-label="Loading cases" />
      </div>
    );
  }
  if (list.isError) return <ErrorAlert error={list.error} title="Could not load the cases" />;
  if (rows.length === 0) {
    return (
      <Text className="empty" c="dimmed" data-testid="empty-list">
        No active cases here.
      </Text>
    );
  }
  return (
    <>
      <table className="case-table" data-testid="case-list">
        <caption>
          <VisuallyHidden>{caption} cases, newest activity first</VisuallyHidden>
        </caption>
        <thead>
          <tr>
            <th scope="col" className="col-number">
              Case
            </th>
            <th scope="col">Subject</th>
            <th scope="col">Customer</th>
            <th scope="col">Channel</th>
            <th scope="col">Status</th>
            <th scope="col">Priority</th>
            <th scope="col">Contacts</th>
            <th scope="col">Owner</th>
            <th scope="col" className="col-updated">
              Updated
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <CaseRow key={c.id} row={c} owner={c.ownerId ? (names.get(c.ownerId) ?? '…') : null} />
          ))}
        </tbody>
      </table>
      {list.hasNextPage ? (
        <div className="load-more">
          <Button
            variant="default"
            size="xs"
            onClick={() => list.fetchNextPage()}
            loading={list.isFetchingNextPage}
          >
            Load more
          </Button>
        </div>
      ) : null}
    </>
  );
}

function CaseRow({ row, owner }: { row: Case; owner: string | null }) {
  return (
    <tr data-case-number={row.number} data-repeats={row.repeatContactCount}>
      <td className="col-number">
        <Text span size="sm" c="dimmed" ff="monospace">
          #{row.number}
        </Text>
      </td>
      <td className="col-subject">
        <Link to="/cases/$number" params={{ number: String(row.number) }} className="row-link">
          {row.subject}
        </Link>
      </td>
      <td className="col-customer">
        <CustomerName id={row.customerId} />
      </td>
      <td>
        <ChannelBadge channel={row.channel} />
      </td>
      <td>
        <StatusBadge status={row.status} />
      </td>
      <td>
        <PriorityBadge priority={row.priority} />
      </td>
      <td className="col-contacts">
        <span className="contact-count">
          {row.contactCount}
          <VisuallyHidden>{row.contactCount === 1 ? ' contact' : ' contacts'}</VisuallyHidden>
        </span>
        {row.repeatContactCount > 0 ? (
          <RepeatBadge label={`${row.repeatContactCount} repeat${row.repeatContactCount === 1 ? '' : 's'}`} />
        ) : null}
      </td>
      <td className="col-owner">
        {owner ?? (
          <Text span size="sm" c="dimmed" fs="italic">
            Unassigned
          </Text>
        )}
      </td>
      <td className="col-updated">
        <Text span size="xs" c="dimmed">
          <RelativeTime iso={row.updatedAt} />
        </Text>
      </td>
    </tr>
  );
}
