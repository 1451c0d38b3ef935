/**
 * Settings → Channels (admins): the organisation's support addresses. Each email channel's
 * address receives mail (SMTP on port 2525 by default, or a polled IMAP mailbox: see
 * channel-mailbox.tsx) and is the address replies come from; an acknowledgement can tell new
 * customers their case number and owner.
 */
import { Button, Checkbox, NativeSelect, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { channelLabels } from '../../shared/domain/channels.ts';
import { api, type Channel } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { MailboxCell } from './channel-mailbox.tsx';
import { AddPlatformChannel, PlatformCell } from './channel-platform.tsx';
import { useSession } from './queries.ts';

const channelsKey = ['channels'] as const;

/** Languages the built-in acknowledgement templates are written in. */
const ackLocales = [
  { value: 'en', label: 'English' },
  { value: 'de', label: 'Deutsch' },
  { value: 'fr', label: 'Français' },
  { value: 'nl', label: 'Nederlands' },
  { value: 'es', label: 'Español' },
];

export function ChannelsPage() {
  const session = useSession();
  const {
    data: channels,
    error,
    isPending,
  } = useQuery({
    queryKey: channelsKey,
    queryFn: api.channels.list,
    // Polled mailboxes report their last check: keep it current while the page is open.
    refetchInterval: (query) => (query.state.data?.some((c) => c.settings.imap) ? 10_000 : false),
  });
  const admin = session.user.role === 'admin';

  return (
    <div className="page settings-page">
      <header className="page-header">
        <Title order={1}>Channels</Title>
        <Text size="sm" c="dimmed">
          A contact on any channel opens or continues the customer's case; replies go out where the customer
          wrote. Messaging platforms post to the channel's webhook URL.
        </Text>
      </header>
      {error ? <ErrorAlert error={error} title="Channels could not be loaded" /> : null}
      {isPending ? <Text size="sm">Loading channels…</Text> : null}
      {channels && channels.length === 0 ? <Text size="sm">No channels yet.</Text> : null}
      {channels && channels.length > 0 ? (
        <Table striped withTableBorder aria-label="Channels" data-testid="channels-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Name</Table.Th>
              <Table.Th scope="col">Type</Table.Th>
              <Table.Th scope="col">Address</Table.Th>
              <Table.Th scope="col">Connection</Table.Th>
              <Table.Th scope="col">Acknowledgement</Table.Th>
              <Table.Th scope="col">Active</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {channels.map((channel) => (
              <ChannelRow key={channel.id} channel={channel} editable={admin} />
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {admin ? <AddChannel /> : null}
      {admin ? <AddPlatformChannel /> : null}
    </div>
  );
}

function ChannelRow({ channel, editable }: { channel: Channel; editable: boolean }) {
  const client = useQueryClient();
  const update = useMutation({
    mutationFn: (patch: Parameters<typeof api.channels.update>[1]) => api.channels.update(channel.id, patch),
    onSuccess: () => client.invalidateQueries({ queryKey: channelsKey }),
  });
  const ack = channel.settings.acknowledgement ?? { enabled: false, locale: 'en' };
  return (
    <Table.Tr data-testid={`channel-${channel.address ?? channel.id}`}>
      <Table.Th scope="row">{channel.name}</Table.Th>
      <Table.Td>{channelLabels[channel.type] ?? channel.type}</Table.Td>
      <Table.Td>{channel.address ? <code>{channel.address}</code> : '—'}</Table.Td>
      <Table.Td>
        {channel.type === 'email' ? (
          <MailboxCell channel={channel} editable={editable} />
        ) : (
          <PlatformCell channel={channel} editable={editable} />
        )}
      </Table.Td>
      <Table.Td>
        {/* Acknowledgements are mail: other channels have none. */}
        <div className="ack-cell" style={channel.type === 'email' ? undefined : { display: 'none' }}>
          <Checkbox
            label={`Acknowledge new cases (${channel.name})`}
            classNames={{ label: 'visually-hidden' }}
            checked={ack.enabled}
            disabled={!editable || update.isPending}
            onChange={(e) =>
              update.mutate({ settings: { acknowledgement: { ...ack, enabled: e.currentTarget.checked } } })
            }
          />
          <NativeSelect
            aria-label={`Acknowledgement language (${channel.name})`}
            size="xs"
            value={ack.locale}
            disabled={!editable || update.isPending}
            data={ackLocales}
            onChange={(e) =>
              update.mutate({ settings: { acknowledgement: { ...ack, locale: e.currentTarget.value } } })
            }
          />
        </div>
        {update.error ? <ErrorAlert error={update.error} title="Not saved" /> : null}
      </Table.Td>
      <Table.Td>
        <Checkbox
          label={`Active (${channel.name})`}
          classNames={{ label: 'visually-hidden' }}
          checked={channel.active}
          disabled={!editable || update.isPending}
          onChange={(e) => update.mutate({ active: e.currentTarget.checked })}
        />
      </Table.Td>
    </Table.Tr>
  );
}

function AddChannel() {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const create = useMutation({
    mutationFn: () => api.channels.create({ type: 'email', name: name.trim(), address: address.trim() }),
    onSuccess: () => {
      setName('');
      setAddress('');
      void client.invalidateQueries({ queryKey: channelsKey });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form onSubmit={submit} className="panel add-channel" aria-labelledby="add-channel-heading">
      <h2 id="add-channel-heading" className="section-title">
        Add an email channel
      </h2>
      <div className="add-channel-fields">
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <TextInput
          label="Support address"
          type="email"
          required
          value={address}
          onChange={(e) => setAddress(e.currentTarget.value)}
        />
        <Button type="submit" loading={create.isPending}>
          Add channel
        </Button>
      </div>
      {create.error ? <ErrorAlert error={create.error} title="The channel was not added" /> : null}
    </form>
  );
}
