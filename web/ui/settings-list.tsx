/**
 * The shape every Settings list page shares (quarantine, outbound mail): a loading line, the
 * error, a sentence when the list is empty, else a table whose last column holds each row's action.
 */
import { Table, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { ErrorAlert } from './error-alert.tsx';

export interface SettingsListProps<T> {
  items: T[] | undefined;
  error: unknown;
  isPending: boolean;
  errorTitle: string;
  /** Said when there is nothing to list. */
  empty: ReactNode;
  /** The table's accessible name. */
  label: string;
  /** Prefix of the test ids: `<testId>-table`, `<testId>-empty`. */
  testId: string;
  /** Column headings before the action column. */
  columns: string[];
  row: (item: T) => ReactNode;
}

export function SettingsList<T>(props: SettingsListProps<T>) {
  const { items } = props;
  return (
    <>
      {props.error ? <ErrorAlert error={props.error} title={props.errorTitle} /> : null}
      {props.isPending ? <Text size="sm">Loading…</Text> : null}
      {items && items.length === 0 ? (
        <Text size="sm" data-testid={`${props.testId}-empty`}>
          {props.empty}
        </Text>
      ) : null}
      {items && items.length > 0 ? (
        <Table striped withTableBorder aria-label={props.label} data-testid={`${props.testId}-table`}>
          <Table.Thead>
            <Table.Tr>
              {props.columns.map((c) => (
                <Table.Th key={c} scope="col">
                  {c}
                </Table.Th>
              ))}
              <Table.Th scope="col">
                <span className="visually-hidden">Action</span>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>{items.map(props.row)}</Table.Tbody>
        </Table>
      ) : null}
    </>
  );
}
