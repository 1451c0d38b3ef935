/**
 * Settings → Channels for every channel that is not email: SMS and phone numbers on Twilio,
 * WhatsApp, Messenger, Instagram, X and the web chat widget. Each shows the webhook URL to paste
 * into the platform; secrets are write-only — the form never holds a stored one, it only says
 * which are set, and a new value replaces it.
 */
import {
  Badge,
  Button,
  CopyButton,
  Group,
  Modal,
  NativeSelect,
  PasswordInput,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { type ChannelType, channelTypes } from '../../shared/api/channels.ts';
import { channelLabels } from '../../shared/domain/channels.ts';
import { api, type Channel } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';

type FormType = Exclude<ChannelType, 'email'>;
interface Field {
  key: string;
  label: string;
  placeholder?: string;
  required?: boolean;
  description?: string;
}
interface TypeForm {
  address?: Field;
  settings: Field[];
  secrets: Field[];
}

const publicUrl: Field = {
  key: 'publicUrl',
  label: 'Public webhook URL',
  description: 'Only when Rapport is reached through a different address than RAPPORT_PUBLIC_URL',
  placeholder: 'https://help.example.com/webhooks/v1/channels/…',
};
const apiBase = (platform: string): Field => ({
  key: 'apiBaseUrl',
  label: 'API base URL',
  placeholder: platform,
  description: 'Leave empty for the platform itself',
});
const metaSecrets: Field[] = [
  { key: 'appSecret', label: 'App secret', description: 'Checks X-Hub-Signature-256 on every webhook' },
  { key: 'accessToken', label: 'Access token', description: 'Sends replies' },
  { key: 'verifyToken', label: 'Verify token', description: 'The token you enter in the webhook setup' },
];
const twilio = (accountRequired: boolean): TypeForm => ({
  address: { key: 'address', label: 'Number', placeholder: '+447700900123', required: true },
  settings: [
    { key: 'accountSid', label: 'Account SID', placeholder: 'AC…', required: accountRequired },
    publicUrl,
    ...(accountRequired ? [apiBase('https://api.twilio.com')] : []),
  ],
  secrets: [{ key: 'authToken', label: 'Auth token', description: 'Checks X-Twilio-Signature and sends' }],
});

const forms: Record<FormType, TypeForm> = {
  sms: twilio(true),
  phone: twilio(false),
  whatsapp: {
    address: { key: 'address', label: 'Phone number ID', placeholder: '106540352242922', required: true },
    settings: [
      { key: 'displayPhoneNumber', label: 'Display number', placeholder: '+447700900123' },
      { key: 'apiVersion', label: 'Graph API version', placeholder: 'v21.0' },
      apiBase('https://graph.facebook.com'),
    ],
    secrets: metaSecrets,
  },
  messenger: {
    address: { key: 'address', label: 'Page ID', required: true },
    settings: [
      { key: 'apiVersion', label: 'Graph API version', placeholder: 'v21.0' },
      apiBase('https://graph.facebook.com'),
    ],
    secrets: metaSecrets,
  },
  instagram: {
    address: { key: 'address', label: 'Instagram account ID', required: true },
    settings: [
      { key: 'apiVersion', label: 'Graph API version', placeholder: 'v21.0' },
      apiBase('https://graph.facebook.com'),
    ],
    secrets: metaSecrets,
  },
  x: {
    address: { key: 'address', label: 'Account ID', placeholder: '1510987654321098752', required: true },
    settings: [
      { key: 'handle', label: 'Handle', placeholder: '@NorthwindHelp' },
      apiBase('https://api.x.com'),
    ],
    secrets: [
      {
        key: 'consumerSecret',
        label: 'API secret',
        description: 'Answers the CRC check and checks signatures',
      },
      { key: 'accessToken', label: 'Access token', description: 'Sends replies' },
    ],
  },
  chat: {
    settings: [
      { key: 'greeting', label: 'Greeting', placeholder: 'Hi! How can we help?' },
      { key: 'colour', label: 'Colour', placeholder: '#1864ab' },
    ],
    secrets: [
      {
        key: 'identitySecret',
        label: 'Identity secret',
        description: 'Your site signs signed-in visitors with it (HMAC-SHA256 of the user id)',
      },
    ],
  },
};

export const formTypes = channelTypes.filter((t): t is FormType => t !== 'email');
const typeLabel = (t: ChannelType) => channelLabels[t] ?? t;

/** The webhook URL to paste into the platform, with a copy button. */
export function WebhookCell({ channel }: { channel: Channel }) {
  if (!channel.webhookPath) return null;
  const url = channel.webhookUrl ?? `${window.location.origin}${channel.webhookPath}`;
  return (
    <Stack gap={4} align="flex-start">
      <code style={{ wordBreak: 'break-all' }} data-testid={`webhook-${channel.id}`}>
        {url}
      </code>
      <CopyButton value={url}>
        {({ copied, copy }) => (
          <Button
            size="compact-xs"
            variant="light"
            onClick={copy}
            aria-label={
              copied ? `Copied the webhook URL of ${channel.name}` : `Copy webhook URL of ${channel.name}`
            }
          >
            {copied ? 'Copied' : 'Copy webhook URL'}
          </Button>
        )}
      </CopyButton>
      {channel.webhookUrl ? null : (
        <Text size="xs" c="dimmed">
          This browser’s address: set RAPPORT_PUBLIC_URL or the channel’s public URL if the platform reaches
          Rapport elsewhere.
        </Text>
      )}
    </Stack>
  );
}

/** Which secrets are stored, and an edit button for admins. */
export function PlatformCell({ channel, editable }: { channel: Channel; editable: boolean }) {
  const [open, setOpen] = useState(false);
  const form = forms[channel.type as FormType];
  if (!form) return null;
  return (
    <Stack gap={4} align="flex-start">
      <WebhookCell channel={channel} />
      <Group gap={4}>
        {form.secrets.map((s) => (
          <Badge
            key={s.key}
            size="sm"
            variant="light"
            tt="none"
            color={channel.secretsSet.includes(s.key) ? 'teal' : 'red'}
          >
            {s.label}: {channel.secretsSet.includes(s.key) ? 'set' : 'not set'}
          </Badge>
        ))}
      </Group>
      {editable ? (
        <Button
          size="compact-xs"
          variant="light"
          onClick={() => setOpen(true)}
          aria-label={`Edit ${channel.name}`}
        >
          Edit
        </Button>
      ) : null}
      <PlatformDialog
        open={open}
        onClose={() => setOpen(false)}
        title={`${typeLabel(channel.type)}: ${channel.name}`}
      >
        <PlatformForm type={channel.type as FormType} channel={channel} onDone={() => setOpen(false)} />
      </PlatformDialog>
    </Stack>
  );
}

function PlatformDialog({
  open,
  onClose,
  title,
  children,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  children: ReactNode;
}) {
  return (
    <Modal.Root opened={open} onClose={onClose} size="lg">
      <Modal.Overlay />
      <Modal.Content>
        {/* Not a banner landmark: the page has its own header. */}
        <Modal.Header role="presentation">
          <Modal.Title>{title}</Modal.Title>
          <Modal.CloseButton aria-label="Close" />
        </Modal.Header>
        <Modal.Body>{open ? children : null}</Modal.Body>
      </Modal.Content>
    </Modal.Root>
  );
}

/** "Add a messaging channel": pick the type, then its form in a dialog. */
export function AddPlatformChannel() {
  const [type, setType] = useState<FormType>('sms');
  const [open, setOpen] = useState(false);
  return (
    <section className="panel add-channel" aria-labelledby="add-platform-heading">
      <h2 id="add-platform-heading" className="section-title">
        Add a messaging channel
      </h2>
      <Group align="flex-end" gap="sm">
        <NativeSelect
          label="Type"
          value={type}
          onChange={(e) => setType(e.currentTarget.value as FormType)}
          data={formTypes.map((t) => ({ value: t, label: typeLabel(t) }))}
        />
        <Button onClick={() => setOpen(true)}>Add {typeLabel(type)} channel</Button>
      </Group>
      <PlatformDialog open={open} onClose={() => setOpen(false)} title={`New ${typeLabel(type)} channel`}>
        <PlatformForm type={type} channel={null} onDone={() => setOpen(false)} />
      </PlatformDialog>
    </section>
  );
}

function PlatformForm({
  type,
  channel,
  onDone,
}: {
  type: FormType;
  channel: Channel | null;
  onDone: () => void;
}) {
  const client = useQueryClient();
  const form = forms[type];
  const stored = (channel?.settings ?? {}) as Record<string, unknown>;
  const [values, setValues] = useState<Record<string, string>>(() => ({
    name: channel?.name ?? '',
    address: channel?.address ?? '',
    ...Object.fromEntries(
      form.settings.map((f) => [f.key, typeof stored[f.key] === 'string' ? String(stored[f.key]) : '']),
    ),
  }));
  const [secrets, setSecrets] = useState<Record<string, string | null>>({});
  const set = (key: string) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setValues((v) => ({ ...v, [key]: value }));
  };
  const save = useMutation({
    mutationFn: () => {
      const settings = Object.fromEntries(
        form.settings.map((f) => [
          f.key,
          values[f.key]?.trim() ? values[f.key]!.trim() : channel ? null : undefined,
        ]),
      );
      const changed = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v === null || v !== ''));
      const common = {
        ...(form.address ? { address: values.address!.trim() } : {}),
        settings: Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
        ...(Object.keys(changed).length > 0 ? { secrets: changed } : {}),
      };
      return channel
        ? api.channels.update(channel.id, { name: values.name!.trim(), ...common })
        : api.channels.create({ type, name: values.name!.trim(), ...common });
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['channels'] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="sm">
        <TextInput label="Name" required value={values.name} onChange={set('name')} />
        {form.address ? (
          <TextInput
            label={form.address.label}
            placeholder={form.address.placeholder}
            required
            value={values.address}
            onChange={set('address')}
          />
        ) : null}
        {form.settings.map((f) => (
          <TextInput
            key={f.key}
            label={f.label}
            description={f.description}
            placeholder={f.placeholder}
            required={f.required}
            value={values[f.key]}
            onChange={set(f.key)}
          />
        ))}
        {form.secrets.map((f) => {
          const isSet = channel?.secretsSet.includes(f.key) ?? false;
          return (
            <Group key={f.key} align="flex-end" gap="xs" wrap="nowrap">
              <PasswordInput
                style={{ flex: 1 }}
                label={f.label}
                description={`${f.description ?? ''}${isSet ? ' · Stored; leave empty to keep it' : ''}`}
                autoComplete="new-password"
                disabled={secrets[f.key] === null}
                value={secrets[f.key] ?? ''}
                onChange={(e) => {
                  const value = e.currentTarget.value;
                  setSecrets((s) => ({ ...s, [f.key]: value }));
                }}
              />
              {isSet ? (
                <Button
                  variant="subtle"
                  color="red.9"
                  size="xs"
                  onClick={() => setSecrets((s) => ({ ...s, [f.key]: s[f.key] === null ? '' : null }))}
                >
                  {secrets[f.key] === null ? 'Keep' : 'Remove'}
                </Button>
              ) : null}
            </Group>
          );
        })}
        {save.error ? <ErrorAlert error={save.error} title="Not saved" /> : null}
        <Group justify="flex-end">
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" loading={save.isPending}>
            {channel ? 'Save' : 'Add channel'}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
