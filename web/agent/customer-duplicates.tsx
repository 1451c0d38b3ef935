/**
 * "Possible duplicates" in the customer panel: other customers who are probably the same person,
 * each with why. Supervisors and admins merge one into this customer after a dialog that says
 * what will move; agents can say "Not the same person", which hides the pair for good.
 */
import { Badge, Button, Group, List, Modal, Stack, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { MatchReason } from '../../shared/api/customers.ts';
import { allows } from '../../shared/domain/permissions.ts';
import { api, type Customer, type CustomerMatch } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { customerLabel } from './case-list.tsx';
import { keys, useSession } from './queries.ts';

export const customerKeys = {
  matches: (id: string) => ['customer-matches', id] as const,
  merges: (id: string) => ['customer-merges', id] as const,
};

/** After a merge or split: both records, their suggestions and histories, and every case list. */
export function useRefreshCustomers() {
  const client = useQueryClient();
  return (...ids: string[]) => {
    for (const id of ids) {
      void client.invalidateQueries({ queryKey: keys.customer(id) });
      void client.invalidateQueries({ queryKey: customerKeys.matches(id) });
      void client.invalidateQueries({ queryKey: customerKeys.merges(id) });
    }
    void client.invalidateQueries({ queryKey: keys.cases });
    void client.invalidateQueries({ queryKey: ['case'] });
    void client.invalidateQueries({ queryKey: ['timeline'] });
  };
}

function reasonText(r: MatchReason): string {
  if (r.code === 'same_name') return `Same name: ${r.value}`;
  if (r.here === 'identity') return `Gave ${r.value}, this customer’s email address, in a chat`;
  if (r.there === 'identity') return `Their email address ${r.value} was given in a chat here`;
  return `Both gave ${r.value} in a chat`;
}

export function PossibleDuplicates({ customer }: { customer: Customer }) {
  const { user } = useSession();
  const canMerge = allows(user.role, 'customers.merge');
  const canDismiss = allows(user.role, 'customers.match');
  const matches = useQuery({
    queryKey: customerKeys.matches(customer.id),
    queryFn: () => api.customers.matches(customer.id),
    enabled: !customer.mergedIntoId,
  });
  const refresh = useRefreshCustomers();
  const dismiss = useMutation({
    mutationFn: (otherId: string) => api.customers.dismissMatch(customer.id, otherId),
    onSuccess: (_, otherId) => refresh(customer.id, otherId),
  });
  const [merging, setMerging] = useState<CustomerMatch | null>(null);

  if (customer.mergedIntoId) return null;
  const items = matches.data ?? [];
  return (
    <section aria-labelledby="duplicates-heading" data-testid="possible-duplicates">
      <h3 id="duplicates-heading" className="subsection-title">
        Possible duplicates{matches.data ? ` (${items.length})` : ''}
      </h3>
      {matches.isError ? <ErrorAlert error={matches.error} title="Could not look for duplicates" /> : null}
      {dismiss.isError ? <ErrorAlert error={dismiss.error} title="Could not dismiss the match" /> : null}
      {matches.data && items.length === 0 ? (
        <Text size="xs" c="dimmed">
          Nobody else looks like this customer.
        </Text>
      ) : null}
      <ul className="duplicates">
        {items.map((m) => {
          const name = customerLabel(m.customer);
          return (
            <li key={m.customer.id} data-testid={`duplicate-${m.customer.id}`}>
              <Group gap={6} wrap="nowrap">
                <Text size="sm" fw={600} className="duplicate-name">
                  {name}
                </Text>
                <Badge
                  size="xs"
                  radius="sm"
                  variant="light"
                  color={m.strength === 'strong' ? 'orange.9' : 'gray.8'}
                  tt="none"
                >
                  {m.strength === 'strong' ? 'Likely the same' : 'Maybe the same'}
                </Badge>
              </Group>
              <List size="xs" className="duplicate-reasons">
                {m.reasons.map((r) => (
                  <List.Item key={`${r.code}:${r.value}:${r.here}:${r.there}`}>{reasonText(r)}</List.Item>
                ))}
              </List>
              <Text size="xs" c="dimmed">
                {m.customer.identities.map((i) => i.value).join(' · ') || 'No identities'} ·{' '}
                {m.caseCount === 1 ? '1 case' : `${m.caseCount} cases`}
              </Text>
              <Group gap={4} mt={4}>
                {canMerge ? (
                  <Button size="compact-xs" variant="light" onClick={() => setMerging(m)}>
                    Merge into this customer
                  </Button>
                ) : null}
                {canDismiss ? (
                  <Button
                    size="compact-xs"
                    variant="default"
                    aria-label={`Not the same person: ${name}`}
                    loading={dismiss.isPending && dismiss.variables === m.customer.id}
                    onClick={() => dismiss.mutate(m.customer.id)}
                  >
                    Not the same person
                  </Button>
                ) : null}
              </Group>
            </li>
          );
        })}
      </ul>
      {items.length > 0 && !canMerge ? (
        <Text size="xs" c="dimmed">
          A supervisor can merge customers.
        </Text>
      ) : null}
      <MergeDialog survivor={customer} match={merging} onClose={() => setMerging(null)} />
    </section>
  );
}

/** Another customer to merge in; `caseCount` null when there are too many to have counted. */
export type MergeCandidate = Pick<CustomerMatch, 'customer'> & { caseCount: number | null };

/** Says exactly what a merge moves before it happens. */
export function MergeDialog({
  survivor,
  match,
  onClose,
}: {
  survivor: Customer;
  match: MergeCandidate | null;
  onClose: () => void;
}) {
  const refresh = useRefreshCustomers();
  const merge = useMutation({
    mutationFn: (mergedId: string) => api.customers.merge(survivor.id, mergedId),
    onSuccess: (result) => {
      refresh(result.survivor.id, result.merged.id);
      onClose();
    },
  });
  const other = match ? customerLabel(match.customer) : '';
  const here = customerLabel(survivor);
  const close = () => {
    merge.reset();
    onClose();
  };
  return (
    <Modal.Root opened={match !== null} onClose={close} size="md">
      <Modal.Overlay />
      <Modal.Content>
        <Modal.Header role="presentation">
          <Modal.Title fw={600}>
            Merge {other} into {here}?
          </Modal.Title>
          <Modal.CloseButton aria-label="Close" />
        </Modal.Header>
        <Modal.Body>
          {match ? (
            <Stack gap="xs">
              <Text size="sm">These move to {here}:</Text>
              <List size="sm" data-testid="merge-moves">
                {match.customer.identities.map((i) => (
                  <List.Item key={`${i.kind}:${i.platform}:${i.value}`}>{i.value}</List.Item>
                ))}
                <List.Item>
                  {match.caseCount === null
                    ? 'all their cases'
                    : match.caseCount === 1
                      ? '1 case'
                      : `${match.caseCount} cases`}{' '}
                  with their conversations and messages
                </List.Item>
                <List.Item>their chat sessions</List.Item>
              </List>
              <Text size="sm">
                Open cases stay separate cases. {here} keeps their own details; empty ones take {other}’s. A
                supervisor can split them again from the merge history.
              </Text>
              {merge.isError ? (
                <ErrorAlert error={merge.error} title="The customers were not merged" />
              ) : null}
              <Group justify="flex-end" gap="xs">
                <Button variant="default" onClick={close}>
                  Cancel
                </Button>
                <Button loading={merge.isPending} onClick={() => merge.mutate(match.customer.id)}>
                  Merge
                </Button>
              </Group>
            </Stack>
          ) : null}
        </Modal.Body>
      </Modal.Content>
    </Modal.Root>
  );
}
