/**
 * Settings → Quarantine (admins): inbound mail that could not become a contact — unparseable,
 * too large, or failing again and again — kept whole with the reason. Reprocessing puts a
 * message back in the queue, e.g. after a fix or a channel change.
 */
import { Button, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type QuarantinedEmail } from '../lib/api.ts';
import { byteSize } from '../ui/byte-size.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { RelativeTime } from '../ui/relative-time.tsx';
import { SettingsList } from '../ui/settings-list.tsx';

const quarantineKey = ['quarantine'] as const;

export function QuarantinePage() {
  const { data, error, isPending } = useQuery({ queryKey: quarantineKey, queryFn: api.quarantine.list });
  return (
    <div className="page settings-page">
      <header className="page-header">
        <Title order={1}>Quarantine</Title>
        <Text size="sm" c="dimmed">
          Mail that could not become a contact is kept here in full, with the reason.
        </Text>
      </header>
      <SettingsList
        items={data}
        error={error}
        isPending={isPending}
        errorTitle="The quarantine could not be loaded"
        empty="Nothing in quarantine."
        label="Quarantined mail"
        testId="quarantine"
        columns={['Received', 'From and subject', 'Mailbox', 'Size', 'Reason']}
        row={(item) => <QuarantineRow key={item.id} item={item} />}
      />
    </div>
  );
}

function QuarantineRow({ item }: { item: QuarantinedEmail }) {
  const client = useQueryClient();
  const reprocess = useMutation({
    mutationFn: () => api.quarantine.reprocess(item.id),
    onSuccess: () => client.invalidateQueries({ queryKey: quarantineKey }),
  });
  const label = item.subject ?? '(no readable subject)';
  return (
    <Table.Tr data-testid={`quarantined-${item.id}`}>
      <Table.Td>
        <RelativeTime iso={item.receivedAt} />
      </Table.Td>
      <Table.Th scope="row" fw={400}>
        <Text size="sm">{item.from ?? '(no readable sender)'}</Text>
        <Text size="sm" fw={500}>
          {label}
        </Text>
      </Table.Th>
      <Table.Td>{item.channel}</Table.Td>
      <Table.Td>{byteSize(item.size)}</Table.Td>
      <Table.Td>
        <Text size="sm">{item.reason ?? '—'}</Text>
        {item.attempts > 0 ? (
          <Text size="xs" c="dimmed">
            {item.attempts === 1 ? '1 attempt' : `${item.attempts} attempts`}
          </Text>
        ) : null}
      </Table.Td>
      <Table.Td>
        <Button
          size="compact-sm"
          variant="light"
          loading={reprocess.isPending}
          onClick={() => reprocess.mutate()}
          aria-label={`Reprocess “${label}”`}
        >
          Reprocess
        </Button>
        {reprocess.error ? <ErrorAlert error={reprocess.error} title="Not requeued" /> : null}
      </Table.Td>
    </Table.Tr>
  );
}
