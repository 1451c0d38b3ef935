/**
 * Who the customer is: their identities on every channel (with what a platform says about an
 * account, as information only), possible duplicates, merges, and every case they ever had.
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
import { MergeHistory } from './customer-merges.tsx';
import { caseListQuery, customerQuery } from './queries.ts';

const identityLabels: Record<string, string> = {
  email: 'Email',
  phone: 'Phone',
  chat: 'Chat visitor',
  social: 'Social',
  external: 'External id',
};

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
      {customer.data ? (
        <dl className="identities">
          {customer.data.identities.map((i) => (
            <div key={`${i.kind}:${i.platform}:${i.value}`}>
              <dt>
                {identityLabels[i.kind] ?? i.kind}
                {i.platform ? ` (${i.platform})` : ''}
              </dt>
              <dd>
                {i.value}
                <ProfileInfo profile={i.profile} platform={i.platform} />
              </dd>
            </div>
          ))}
        </dl>
      ) : null}
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

const count = new Intl.NumberFormat('en-GB');

/**
 * What the platform says about the account, as plain text: a follower count or a "verified"
 * badge is for the agent's information and changes nothing about the case.
 */
function ProfileInfo({ profile, platform }: { profile?: Record<string, unknown> | null; platform: string }) {
  if (!profile) return null;
  const parts: string[] = [];
  if (typeof profile.displayName === 'string') parts.push(profile.displayName);
  if (typeof profile.followers === 'number') {
    parts.push(`${count.format(profile.followers)} follower${profile.followers === 1 ? '' : 's'}`);
  }
  if (profile.verified === true)
    parts.push(`verified badge${platform ? ` on ${platform === 'x' ? 'X' : platform}` : ''}`);
  if (typeof profile.location === 'string') parts.push(profile.location);
  if (parts.length === 0) return null;
  return (
    <Text span size="xs" c="dimmed" display="block" data-testid="identity-profile">
      {parts.join(' · ')} (information only)
    </Text>
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
