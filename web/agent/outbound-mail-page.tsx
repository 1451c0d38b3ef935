/**
 * Settings → Outbound mail (admins and supervisors): replies and acknowledgements the relay
 * refused for good, or that kept failing through every retry, with the relay's reason and the
 * case they belong to. Retry queues one again, e.g. after the address or the relay was fixed.
 */
import { Button, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { api, type OutboundEmail } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { SettingsList } from '../ui/settings-list.tsx';

const failedKey = ['outbox', 'failed'] as const;
const kindLabels: Record<OutboundEmail['kind'], string> = {
  reply: 'Reply',
  acknowledgement: 'Acknowledgement',
};

export function OutboundMailPage() {
  const { data, error, isPending, fetchNextPage, hasNextPage, isFetchingNextPage } = useInfiniteQuery({
    queryKey: failedKey,
    queryFn: ({ pageParam }) => api.outbox.failed(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });
  const items = data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="page settings-page">
      <header className="page-header">
        <Title order={1}>Outbound mail</Title>
        <Text size="sm" c="dimmed">
          Replies and acknowledgements that could not be delivered, with the mail server’s reason.
        </Text>
      </header>
      <SettingsList
        items={data ? items : undefined}
        error={error}
        isPending={isPending}
        errorTitle="Failed mail could not be loaded"
        empty="No failed mail. Everything sent has been delivered or is still being tried."
        label="Failed outbound mail"
        testId="outbox"
        columns={['Failed', 'Recipient and subject', 'Case', 'Reason']}
        row={(item) => <FailedRow key={item.id} item={item} />}
      />
      {hasNextPage ? (
        <Button
          variant="default"
          size="xs"
          mt="sm"
          loading={isFetchingNextPage}
          onClick={() => fetchNextPage()}
        >
          Show more
        </Button>
      ) : null}
    </div>
  );
}

function FailedRow({ item }: { item: OutboundEmail }) {
  const client = useQueryClient();
  const retry = useMutation({
    mutationFn: () => api.outbox.retry(item.id),
    onSuccess: () => client.invalidateQueries({ queryKey: failedKey }),
  });
  const subject = item.subject?.replace(/\s*\[#\d+(?:-[a-z0-9]+)?\]/gi, '').trim() || '(no subject)';
  return (
    <Table.Tr data-testid={`failed-${item.id}`}>
      <Table.Td>
        <RelativeTime iso={item.failedAt ?? item.queuedAt} />
        <Text size="xs" c="dimmed">
          {item.attempts === 1 ? '1 attempt' : `${item.attempts} attempts`}
        </Text>
      </Table.Td>
      <Table.Th scope="row" fw={400}>
        <Text size="sm">{item.recipient}</Text>
        <Text size="sm" fw={500}>
          {subject}
        </Text>
        <Text size="xs" c="dimmed">
          {kindLabels[item.kind]}
        </Text>
      </Table.Th>
      <Table.Td>
        {item.caseNumber !== null ? (
          <Link to="/cases/$number" params={{ number: String(item.caseNumber) }}>
            #{item.caseNumber}
          </Link>
        ) : (
          '—'
        )}
      </Table.Td>
      <Table.Td>
        <Text size="sm" className="outbox-reason">
          {item.lastError ?? '—'}
        </Text>
      </Table.Td>
      <Table.Td>
        <Button
          size="compact-sm"
          variant="light"
          loading={retry.isPending}
          onClick={() => retry.mutate()}
          aria-label={`Retry the email to ${item.recipient}: ${subject}`}
        >
          Retry
        </Button>
        {retry.error ? <ErrorAlert error={retry.error} title="Not queued again" /> : null}
      </Table.Td>
    </Table.Tr>
  );
}
