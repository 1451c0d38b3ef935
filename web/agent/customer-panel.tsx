/**
 * Who the customer is: their identities on every channel (customer-identities.tsx), possible
 * duplicates, merges, and every case they ever had.
 */
import { Button, Loader, Text } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import type { Case } from '../lib/api.ts';
import { StatusBadge } from '../ui/badges.tsx';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { customerLabel } from './case-list.tsx';
import { PossibleDuplicates } from './customer-duplicates.tsx';
import { CustomerIdentities } from './customer-identities.tsx';
import { MergeHistory } from './customer-merges.tsx';
import { caseListQuery, customerQuery } from './queries.ts';

export function CustomerPanel({ current }: { current: Case }) {
  const customer = useQuery(customerQuery(current.customerId));
  const history = useInfiniteQuery(caseListQuery({ customer: current.customerId, limit: 20 }));
  const cases = history.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <section aria-labelledby="customer-heading" className="panel" data-testid="customer-panel">
      <h2 id="customer-heading" className="section-title">
        Customer
      </h2>
      {customer.isError ? <ErrorAlert error={customer.error} title="Could not load the customer" /> : null}
      <Text fw={600} size="md" data-testid="customer-name">
        {customer.isPending ? '…' : customerLabel(customer.data)}
      </Text>
      {customer.data ? <CustomerIdentities customer={customer.data} /> : null}
      {customer.data?.mergedIntoId ? <MergedNotice survivorId={customer.data.mergedIntoId} /> : null}
      {customer.data ? <PossibleDuplicates customer={customer.data} /> : null}
      {customer.data ? <MergeHistory customer={customer.data} /> : null}
      <h3 className="subsection-title">
        Cases{history.data && !history.hasNextPage ? ` (${cases.length})` : ''}
      </h3>
      {history.isPending ? <Loader size="xs" aria-label="Loading the customer's cases" /> : null}
      {history.isError ? <ErrorAlert error={history.error} title="Could not load the cases" /> : null}
      <ul className="customer-cases">
        {cases.map((c) => (
          <li key={c.id} aria-current={c.id === current.id ? 'page' : undefined}>
            <Link to="/cases/$number" params={{ number: String(c.number) }} className="customer-case-link">
              <Text span size="xs" c="dimmed" ff="monospace">
                #{c.number}
              </Text>{' '}
              <span className="customer-case-subject">{c.subject}</span>
            </Link>
            <span className="customer-case-meta">
              <StatusBadge status={c.status} />
              <Text span size="xs" c="dimmed">
                <RelativeTime iso={c.createdAt} />
              </Text>
            </span>
          </li>
        ))}
      </ul>
      {history.hasNextPage ? (
        <Button
          variant="subtle"
          size="compact-xs"
          onClick={() => history.fetchNextPage()}
          loading={history.isFetchingNextPage}
        >
          Show older cases
        </Button>
      ) : null}
    </section>
  );
}

function MergedNotice({ survivorId }: { survivorId: string }) {
  const { data } = useQuery(customerQuery(survivorId));
  return (
    <Text size="xs" mt={6} role="note">
      This record was merged into {customerLabel(data)}; their identities and cases are there now.
    </Text>
  );
}
