/**
 * The customer's identities in the customer panel, with what a platform says about an account as
 * information only. Agents record an email address or phone number the customer gave them (a
 * number typed into a chat), so later contacts from it find this customer, and remove one added
 * by mistake. An address another customer has stays theirs: the agent is shown who, to open
 * their case or (a supervisor) merge the two.
 */
import { Alert, Box, Button, Group, Modal, NativeSelect, Stack, Text, TextInput } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import type { IdentityInput } from '../../shared/api/customers.ts';
import { allows } from '../../shared/domain/permissions.ts';
import { ApiError, api, type Customer } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { customerLabel } from './case-list.tsx';
import { MergeDialog, useRefreshCustomers } from './customer-duplicates.tsx';
import { caseListQuery, customerQuery, useSession } from './queries.ts';

type Identity = Customer['identities'][number];

const identityLabels: Record<string, string> = {
  email: 'Email',
  phone: 'Phone',
  chat: 'Chat visitor',
  social: 'Social',
  external: 'External id',
};

/** Only what an agent can add can be removed: the other identities are their channel's own keys. */
const removable = (i: Identity) => i.kind === 'email' || i.kind === 'phone';

export function CustomerIdentities({ customer }: { customer: Customer }) {
  const { user } = useSession();
  const canEdit = allows(user.role, 'customers.update') && !customer.mergedIntoId;
  const [removing, setRemoving] = useState<Identity | null>(null);
  // A customer keeps one identity: the server refuses removing the last, so it is not offered.
  const canRemove = (i: Identity) => canEdit && removable(i) && customer.identities.length > 1;
  return (
    <>
      <dl className="identities">
        {customer.identities.map((i) => (
          <div key={`${i.kind}:${i.platform}:${i.value}`}>
            <dt>
              {identityLabels[i.kind] ?? i.kind}
              {i.platform ? ` (${i.platform})` : ''}
            </dt>
            <dd>
              {i.value}
              {canRemove(i) && i.id ? (
                <Button
                  variant="subtle"
                  size="compact-xs"
                  ml={4}
                  aria-label={`Remove ${i.value}`}
                  onClick={() => setRemoving(i)}
                >
                  Remove
                </Button>
              ) : null}
              <ProfileInfo profile={i.profile} platform={i.platform} />
            </dd>
          </div>
        ))}
      </dl>
      {canEdit ? <AddIdentity customer={customer} /> : null}
      <RemoveDialog customer={customer} identity={removing} onClose={() => setRemoving(null)} />
    </>
  );
}

function AddIdentity({ customer }: { customer: Customer }) {
  const [open, setOpen] = useState(false);
  const [kind, setKind] = useState<IdentityInput['kind']>('phone');
  const [value, setValue] = useState('');
  const refresh = useRefreshCustomers();
  const add = useMutation({
    mutationFn: (input: IdentityInput) => api.customers.addIdentity(customer.id, input),
    onSuccess: () => {
      refresh(customer.id);
      setValue('');
      setOpen(false);
    },
  });
  const error = add.error instanceof ApiError ? add.error : null;
  const holder =
    error?.code === 'identity_taken'
      ? error.details.find((d) => d.path === 'customerId')?.message
      : undefined;
  const fieldError = error?.details.some((d) => d.path === 'body.value') ? error.message : null;
  const close = () => {
    add.reset();
    setOpen(false);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ kind, value });
  };

  if (!open) {
    return (
      <Button variant="subtle" size="compact-xs" mt={4} onClick={() => setOpen(true)}>
        Add phone or email
      </Button>
    );
  }
  return (
    <Box component="form" aria-label="Add phone or email" mt={6} onSubmit={submit}>
      <Group gap={6} align="flex-start" wrap="nowrap">
        <NativeSelect
          size="xs"
          label="Type"
          w={84}
          value={kind}
          onChange={(e) => setKind(e.currentTarget.value as IdentityInput['kind'])}
          data={[
            { value: 'phone', label: 'Phone' },
            { value: 'email', label: 'Email' },
          ]}
        />
        <TextInput
          size="xs"
          flex={1}
          label={kind === 'phone' ? 'Phone number' : 'Email address'}
          description={kind === 'phone' ? 'International form: +44 7412 555123' : undefined}
          type={kind === 'phone' ? 'tel' : 'email'}
          required
          autoFocus
          value={value}
          onChange={(e) => setValue(e.currentTarget.value)}
          error={fieldError}
        />
      </Group>
      <Group gap={4} mt={6}>
        <Button type="submit" size="compact-xs" loading={add.isPending}>
          Add
        </Button>
        <Button size="compact-xs" variant="default" onClick={close}>
          Cancel
        </Button>
      </Group>
      {holder ? (
        <TakenBy customer={customer} holderId={holder} value={value} />
      ) : error && !fieldError ? (
        <ErrorAlert error={error} title="The address was not added" />
      ) : null}
    </Box>
  );
}

/** The customer who already has the address: open their latest case, or merge them into this one. */
function TakenBy({ customer, holderId, value }: { customer: Customer; holderId: string; value: string }) {
  const { user } = useSession();
  const canMerge = allows(user.role, 'customers.merge');
  const holder = useQuery(customerQuery(holderId));
  const cases = useInfiniteQuery(caseListQuery({ customer: holderId, limit: 100 }));
  const items = cases.data?.pages.flatMap((p) => p.items) ?? [];
  const [merging, setMerging] = useState(false);
  const name = customerLabel(holder.data);
  const latest = items[0];
  return (
    <Alert
      color="orange"
      variant="light"
      p="xs"
      mt={6}
      role="alert"
      title="Another customer has this address"
      data-testid="identity-taken"
    >
      <Stack gap={4}>
        <Text size="xs">
          {name} has {value.trim()}. If they are one person, merge the two customers.
        </Text>
        <Group gap={4}>
          {latest ? (
            <Link to="/cases/$number" params={{ number: String(latest.number) }}>
              Open {name}’s case #{latest.number}
            </Link>
          ) : null}
          {canMerge && holder.data ? (
            <Button size="compact-xs" variant="light" onClick={() => setMerging(true)}>
              Merge {name} into this customer
            </Button>
          ) : null}
        </Group>
        {canMerge ? null : <Text size="xs">A supervisor can merge customers.</Text>}
      </Stack>
      <MergeDialog
        survivor={customer}
        match={
          merging && holder.data
            ? { customer: holder.data, caseCount: cases.hasNextPage ? null : items.length }
            : null
        }
        onClose={() => setMerging(false)}
      />
    </Alert>
  );
}

function RemoveDialog({
  customer,
  identity,
  onClose,
}: {
  customer: Customer;
  identity: Identity | null;
  onClose: () => void;
}) {
  const refresh = useRefreshCustomers();
  const remove = useMutation({
    mutationFn: (identityId: string) => api.customers.removeIdentity(customer.id, identityId),
    onSuccess: () => {
      refresh(customer.id);
      onClose();
    },
  });
  const close = () => {
    remove.reset();
    onClose();
  };
  const name = customerLabel(customer);
  return (
    <Modal.Root opened={identity !== null} onClose={close} size="sm">
      <Modal.Overlay />
      <Modal.Content>
        {/* Not a banner landmark: the page has its own header. */}
        <Modal.Header role="presentation">
          <Modal.Title fw={600}>Remove {identity?.value}?</Modal.Title>
          <Modal.CloseButton aria-label="Close" />
        </Modal.Header>
        <Modal.Body>
          {identity?.id ? (
            <Stack gap="xs">
              <Text size="sm">
                Contacts from {identity.value} will no longer find {name}; the next one starts a new customer.
              </Text>
              {remove.isError ? (
                <ErrorAlert error={remove.error} title="The address was not removed" />
              ) : null}
              <Group justify="flex-end" gap="xs">
                <Button variant="default" onClick={close}>
                  Cancel
                </Button>
                <Button color="red.9" loading={remove.isPending} onClick={() => remove.mutate(identity.id!)}>
                  Remove
                </Button>
              </Group>
            </Stack>
          ) : null}
        </Modal.Body>
      </Modal.Content>
    </Modal.Root>
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
