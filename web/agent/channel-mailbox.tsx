/**
 * A channel's IMAP mailbox on Settings → Channels: the last poll (ok, error with the server's
 * words, waiting) and, for admins, a dialog to connect, change or disconnect it. The password is
 * write-only: the form never holds the stored one, it only says whether one is set.
 */
import {
  Badge,
  Button,
  Group,
  Modal,
  NativeSelect,
  PasswordInput,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { ImapSettingsInput } from '../../shared/api/channels.ts';
import { api, type Channel } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';

const securities = [
  { value: 'tls', label: 'TLS (port 993)' },
  { value: 'starttls', label: 'STARTTLS (port 143)' },
  { value: 'none', label: 'None — trusted network only' },
];
const afterDelivery = [
  { value: 'mark_seen', label: 'Mark it as read' },
  { value: 'move', label: 'Move it to a folder' },
];

export function MailboxCell({ channel, editable }: { channel: Channel; editable: boolean }) {
  const [open, setOpen] = useState(false);
  const imap = channel.settings.imap;
  return (
    <Stack gap={4} align="flex-start">
      {imap ? (
        <>
          <Text size="sm">
            <code>
              {imap.username}@{imap.host}
            </code>{' '}
            · {imap.folder}
          </Text>
          <MailboxStatus channel={channel} />
        </>
      ) : (
        <Text size="sm" c="dimmed">
          Delivered to Rapport (SMTP)
        </Text>
      )}
      {editable ? (
        <Button
          size="compact-xs"
          variant="light"
          aria-label={`${imap ? 'Edit mailbox' : 'Connect a mailbox'} (${channel.name})`}
          onClick={() => setOpen(true)}
        >
          {imap ? 'Edit mailbox' : 'Connect a mailbox'}
        </Button>
      ) : null}
      <Modal.Root opened={open} onClose={() => setOpen(false)} size="lg">
        <Modal.Overlay />
        <Modal.Content>
          {/* Not a banner landmark: the page has its own header. */}
          <Modal.Header role="presentation">
            <Modal.Title>IMAP mailbox for {channel.name}</Modal.Title>
            <Modal.CloseButton aria-label="Close" />
          </Modal.Header>
          <Modal.Body>
            {open ? <MailboxForm channel={channel} onDone={() => setOpen(false)} /> : null}
          </Modal.Body>
        </Modal.Content>
      </Modal.Root>
    </Stack>
  );
}

function MailboxStatus({ channel }: { channel: Channel }) {
  const status = channel.imapStatus;
  if (!status) return null;
  if (!channel.active) {
    return (
      <Badge size="sm" variant="light" color="gray" tt="none">
        Not polled: the channel is off
      </Badge>
    );
  }
  if (status.state === 'waiting') {
    return (
      <Badge size="sm" variant="light" color="gray" tt="none">
        Waiting for the first check
      </Badge>
    );
  }
  return (
    <div data-testid={`mailbox-status-${channel.address}`}>
      <Group gap={6}>
        <Badge size="sm" variant="light" color={status.state === 'ok' ? 'teal' : 'red'} tt="none">
          {status.state === 'ok' ? 'Mail checked' : 'Mailbox error'}
        </Badge>
        {status.polledAt ? (
          <Text size="xs" c="dimmed">
            <RelativeTime iso={status.polledAt} />
          </Text>
        ) : null}
      </Group>
      {status.error ? (
        <Text size="xs" c="red.9">
          {status.error}
        </Text>
      ) : null}
    </div>
  );
}

function MailboxForm({ channel, onDone }: { channel: Channel; onDone: () => void }) {
  const client = useQueryClient();
  const current = channel.settings.imap;
  const [form, setForm] = useState({
    host: current?.host ?? '',
    port: current ? String(current.port) : '',
    security: current?.security ?? 'tls',
    username: current?.username ?? '',
    password: '',
    folder: current?.folder ?? 'INBOX',
    afterDelivery: current?.afterDelivery ?? 'mark_seen',
    moveTo: current?.moveTo ?? '',
  });
  // The value is read now: React resets currentTarget once the handler returns.
  const set = (field: keyof typeof form) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [field]: value }));
  };
  const save = useMutation({
    mutationFn: (imap: ImapSettingsInput | null) => api.channels.update(channel.id, { settings: { imap } }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['channels'] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({
      host: form.host.trim(),
      ...(form.port.trim() ? { port: Number(form.port) } : {}),
      security: form.security as ImapSettingsInput['security'],
      username: form.username.trim(),
      ...(form.password ? { password: form.password } : {}),
      folder: form.folder.trim() || 'INBOX',
      afterDelivery: form.afterDelivery as ImapSettingsInput['afterDelivery'],
      ...(form.afterDelivery === 'move' ? { moveTo: form.moveTo.trim() } : {}),
    });
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="sm">
        <Text size="sm">
          Rapport reads new mail from this mailbox, stores it, and only then marks or moves it.
        </Text>
        <Group grow align="flex-start">
          <TextInput label="IMAP server" required value={form.host} onChange={set('host')} />
          <TextInput
            label="Port"
            inputMode="numeric"
            placeholder={form.security === 'tls' ? '993' : '143'}
            value={form.port}
            onChange={set('port')}
          />
        </Group>
        <NativeSelect label="Security" data={securities} value={form.security} onChange={set('security')} />
        <TextInput
          label="Username"
          required
          autoComplete="off"
          value={form.username}
          onChange={set('username')}
        />
        <PasswordInput
          label="Password"
          required={!current}
          autoComplete="new-password"
          description={
            current?.passwordSet
              ? 'A password is stored (encrypted). Leave this empty to keep it; it is needed again when server, port, security or username change.'
              : 'Stored encrypted and never shown again.'
          }
          value={form.password}
          onChange={set('password')}
        />
        <Group grow align="flex-start">
          <TextInput label="Folder" value={form.folder} onChange={set('folder')} />
          <NativeSelect
            label="Once a message is stored"
            data={afterDelivery}
            value={form.afterDelivery}
            onChange={set('afterDelivery')}
          />
        </Group>
        {form.afterDelivery === 'move' ? (
          <TextInput label="Move to folder" required value={form.moveTo} onChange={set('moveTo')} />
        ) : null}
        {save.error ? <ErrorAlert error={save.error} title="The mailbox was not saved" /> : null}
        <Group justify="space-between">
          {current ? (
            <Button variant="subtle" color="red" onClick={() => save.mutate(null)} loading={save.isPending}>
              Disconnect the mailbox
            </Button>
          ) : (
            <span />
          )}
          <Group gap="xs">
            <Button variant="default" onClick={onDone}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              Save mailbox
            </Button>
          </Group>
        </Group>
      </Stack>
    </form>
  );
}
