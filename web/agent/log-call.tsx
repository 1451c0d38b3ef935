/**
 * "Log call" on the case page: a phone call with the customer recorded on the case — the
 * customer's call as a contact, ours as an outbound message — with its number (the customer's
 * by default), duration, outcome and notes.
 */
import {
  Button,
  Group,
  Modal,
  NativeSelect,
  SegmentedControl,
  Stack,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { type CallOutcome, callOutcomes } from '../../shared/api/calls.ts';
import { api, type Case } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { customerQuery, keys } from './queries.ts';

const outcomeLabels: Record<CallOutcome, string> = {
  completed: 'Talked',
  no_answer: 'No answer',
  busy: 'Busy',
  voicemail: 'Left a voicemail',
  failed: 'Call failed',
  canceled: 'Hung up before answer',
};

/** "2:34" or "154" → seconds; null when it is neither. */
function seconds(text: string): number | null {
  const t = text.trim();
  const m = /^(\d{1,4})(?::([0-5]\d))?$/.exec(t);
  if (!m) return null;
  return m[2] === undefined ? Number(m[1]) * 60 : Number(m[1]) * 60 + Number(m[2]);
}

export function LogCallButton({ current }: { current: Case }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="compact-sm" variant="default" onClick={() => setOpen(true)}>
        Log call
      </Button>
      <Modal.Root opened={open} onClose={() => setOpen(false)}>
        <Modal.Overlay />
        <Modal.Content>
          {/* Not a banner landmark: the page has its own header. */}
          <Modal.Header role="presentation">
            <Modal.Title>Log a call on case #{current.number}</Modal.Title>
            <Modal.CloseButton aria-label="Close" />
          </Modal.Header>
          <Modal.Body>
            {open ? <LogCallForm current={current} onDone={() => setOpen(false)} /> : null}
          </Modal.Body>
        </Modal.Content>
      </Modal.Root>
    </>
  );
}

function LogCallForm({ current, onDone }: { current: Case; onDone: () => void }) {
  const client = useQueryClient();
  const customer = useQuery(customerQuery(current.customerId));
  const phone = customer.data?.identities.find((i) => i.kind === 'phone')?.value ?? '';
  const [direction, setDirection] = useState<'inbound' | 'outbound'>('inbound');
  const [number, setNumber] = useState('');
  const [length, setLength] = useState('');
  const [outcome, setOutcome] = useState<CallOutcome>('completed');
  const [notes, setNotes] = useState('');
  const duration = outcome === 'completed' ? seconds(length) : 0;
  const log = useMutation({
    mutationFn: () =>
      api.cases.logCall(current.id, {
        direction,
        ...(number.trim() ? { number: number.trim() } : {}),
        durationSeconds: duration ?? 0,
        outcome,
        ...(notes.trim() ? { notes: notes.trim() } : {}),
      }),
    onSuccess: (result) => {
      client.setQueryData(keys.case(String(result.case.number)), result.case);
      void client.invalidateQueries({ queryKey: keys.timeline(current.id) });
      void client.invalidateQueries({ queryKey: keys.cases });
      void client.invalidateQueries({ queryKey: keys.counts });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (duration === null) return;
    log.mutate();
  };
  return (
    <form onSubmit={submit} aria-label="Log a call">
      <Stack gap="sm">
        <SegmentedControl
          aria-label="Who called"
          value={direction}
          onChange={(v) => setDirection(v as 'inbound' | 'outbound')}
          data={[
            { value: 'inbound', label: 'The customer called' },
            { value: 'outbound', label: 'We called' },
          ]}
        />
        <TextInput
          label="Number"
          description={
            phone ? `Leave empty for the customer’s number, ${phone}` : 'The customer has no number yet'
          }
          placeholder={phone || '+447700900123'}
          required={!phone}
          value={number}
          onChange={(e) => setNumber(e.currentTarget.value)}
        />
        <NativeSelect
          label="Outcome"
          value={outcome}
          onChange={(e) => setOutcome(e.currentTarget.value as CallOutcome)}
          data={callOutcomes.map((o) => ({ value: o, label: outcomeLabels[o] }))}
        />
        {outcome === 'completed' ? (
          <TextInput
            label="Duration"
            description="Minutes, or minutes:seconds (2:34)"
            required
            value={length}
            onChange={(e) => setLength(e.currentTarget.value)}
            error={length && duration === null ? 'Write it as 5 or 2:34' : undefined}
          />
        ) : null}
        <Textarea
          label="Notes"
          autosize
          minRows={3}
          maxRows={10}
          value={notes}
          onChange={(e) => setNotes(e.currentTarget.value)}
        />
        {log.error ? <ErrorAlert error={log.error} title="The call was not logged" /> : null}
        <Group justify="flex-end">
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" loading={log.isPending}>
            Log call
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
