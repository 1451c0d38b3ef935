/** The case's owner, team, status, priority and contact reason; each change saves at once. */
import { NativeSelect, Stack, TextInput } from '@mantine/core';
import { type KeyboardEvent, useEffect, useState } from 'react';
import { type CaseStatus, canMove, caseStatuses, priorities } from '../../shared/domain/cases.ts';
import type { Case } from '../lib/api.ts';
import { priorityLabels, statusLabels } from '../ui/badges.tsx';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { useTeams, useUpdateCase, useUsers } from './queries.ts';

const NONE = '';

export function CaseProperties({ current }: { current: Case }) {
  const update = useUpdateCase(current);
  const { data: users } = useUsers();
  const { data: teams } = useTeams();
  const [reason, setReason] = useState(current.reason ?? '');
  useEffect(() => setReason(current.reason ?? ''), [current.reason]);

  const saveReason = () => {
    const next = reason.trim() || null;
    if (next !== current.reason) update.mutate({ reason: next });
  };
  const onReasonKey = (event: KeyboardEvent) => {
    if (event.key === 'Enter') saveReason();
  };
  const people = (users ?? []).filter((u) => u.active || u.id === current.ownerId);

  return (
    <section aria-labelledby="properties-heading" className="panel">
      <h2 id="properties-heading" className="section-title">
        Properties
      </h2>
      <Stack gap="xs">
        <NativeSelect
          label="Status"
          size="xs"
          value={current.status}
          onChange={(e) => update.mutate({ status: e.currentTarget.value as CaseStatus })}
          data={caseStatuses.map((s) => ({
            value: s,
            label: statusLabels[s],
            disabled: !canMove(current.status, s),
          }))}
        />
        <NativeSelect
          label="Priority"
          size="xs"
          value={current.priority}
          onChange={(e) => update.mutate({ priority: e.currentTarget.value as Case['priority'] })}
          data={priorities.map((p) => ({ value: p, label: priorityLabels[p] }))}
        />
        <NativeSelect
          label="Owner"
          size="xs"
          value={current.ownerId ?? NONE}
          onChange={(e) => update.mutate({ ownerId: e.currentTarget.value || null })}
          data={[
            { value: NONE, label: 'Unassigned' },
            ...people.map((u) => ({ value: u.id, label: u.displayName })),
          ]}
        />
        <NativeSelect
          label="Team"
          size="xs"
          value={current.teamId ?? NONE}
          onChange={(e) => update.mutate({ teamId: e.currentTarget.value || null })}
          data={[
            { value: NONE, label: 'No team' },
            ...(teams ?? []).map((t) => ({ value: t.id, label: t.name })),
          ]}
        />
        <TextInput
          label="Contact reason"
          size="xs"
          placeholder="e.g. Outage, Billing"
          description="Saved when you press Enter or leave the field"
          maxLength={100}
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          onBlur={saveReason}
          onKeyDown={onReasonKey}
        />
        {update.error ? <ErrorAlert error={update.error} title="Not saved" /> : null}
      </Stack>
    </section>
  );
}
