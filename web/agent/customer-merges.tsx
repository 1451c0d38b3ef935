/**
 * The customer's merge history: who was merged in (or into whom), by whom, what moved, and for
 * supervisors and admins a Split that undoes a wrong merge after saying what goes back.
 */
import { Badge, Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { allows } from '../../shared/domain/permissions.ts';
import { api, type Customer, type CustomerMerge } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { customerLabel } from './case-list.tsx';
import { customerKeys, useRefreshCustomers } from './customer-duplicates.tsx';
import { useSession, useUserNames } from './queries.ts';

function movedSummary(m: CustomerMerge): string {
  const { identities, cases, messages } = m.moved;
  const parts = [
    ...identities.map((i) => i.value),
    cases.length > 0
      ? `case${cases.length === 1 ? '' : 's'} ${cases.map((c) => `#${c.number}`).join(', ')}`
      : '',
    messages > 0 ? `${messages} message${messages === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' · ') : 'nothing';
}

export function MergeHistory({ customer }: { customer: Customer }) {
  const { user } = useSession();
  const names = useUserNames();
  const canSplit = allows(user.role, 'customers.merge');
  const merges = useQuery({
    queryKey: customerKeys.merges(customer.id),
    queryFn: () => api.customers.merges(customer.id),
  });
  const [splitting, setSplitting] = useState<CustomerMerge | null>(null);
  const items = merges.data ?? [];
  if (merges.isError) return <ErrorAlert error={merges.error} title="Could not load the merge history" />;
  if (items.length === 0) return null;
  const who = (id: string | null) => (id ? (names.get(id) ?? 'an integration') : 'Rapport');

  return (
    <section aria-labelledby="merges-heading" data-testid="merge-history">
      <h3 id="merges-heading" className="subsection-title">
        Merges
      </h3>
      <ul className="merges">
        {items.map((m) => {
          const survivor = m.survivorId === customer.id;
          const mergedName = m.mergedName ?? 'a customer without a name';
          return (
            <li key={m.id} data-testid={`merge-${m.id}`}>
              <Text size="sm">
                {survivor ? `${mergedName} merged in` : 'Merged into another customer'} by {who(m.mergedBy)}{' '}
                <Text span size="xs" c="dimmed">
                  <RelativeTime iso={m.mergedAt} />
                </Text>
              </Text>
              <Text size="xs" c="dimmed">
                Moved: {movedSummary(m)}
              </Text>
              <Group gap={6} mt={2}>
                {m.splitAt ? (
                  <Badge size="xs" radius="sm" variant="light" color="gray.8" tt="none">
                    Split again by {who(m.splitBy)}
                  </Badge>
                ) : canSplit && survivor ? (
                  <Button
                    size="compact-xs"
                    variant="default"
                    aria-label={`Split ${mergedName} off again`}
                    onClick={() => setSplitting(m)}
                  >
                    Split
                  </Button>
                ) : null}
              </Group>
            </li>
          );
        })}
      </ul>
      <SplitDialog survivor={customer} merge={splitting} onClose={() => setSplitting(null)} />
    </section>
  );
}

function SplitDialog({
  survivor,
  merge,
  onClose,
}: {
  survivor: Customer;
  merge: CustomerMerge | null;
  onClose: () => void;
}) {
  const refresh = useRefreshCustomers();
  const split = useMutation({
    mutationFn: (mergeId: string) => api.customers.split(mergeId),
    onSuccess: (result) => {
      refresh(result.survivor.id, result.merged.id);
      onClose();
    },
  });
  const name = merge?.mergedName ?? 'the merged customer';
  const close = () => {
    split.reset();
    onClose();
  };
  return (
    <Modal.Root opened={merge !== null} onClose={close} size="md">
      <Modal.Overlay />
      <Modal.Content>
        <Modal.Header role="presentation">
          <Modal.Title fw={600}>Split {name} off again?</Modal.Title>
          <Modal.CloseButton aria-label="Close" />
        </Modal.Header>
        <Modal.Body>
          {merge ? (
            <Stack gap="xs">
              <Text size="sm">
                What the merge moved goes back to {name}: {movedSummary(merge)}. Cases go back as they are
                now. Anything that reached {customerLabel(survivor)} after the merge stays.
              </Text>
              {split.isError ? <ErrorAlert error={split.error} title="The merge was not split" /> : null}
              <Group justify="flex-end" gap="xs">
                <Button variant="default" onClick={close}>
                  Cancel
                </Button>
                <Button color="red.9" loading={split.isPending} onClick={() => split.mutate(merge.id)}>
                  Split
                </Button>
              </Group>
            </Stack>
          ) : null}
        </Modal.Body>
      </Modal.Content>
    </Modal.Root>
  );
}
