import { Alert } from '@mantine/core';
import { ApiError } from '../lib/api.ts';

/** Explains a failed request in the API's own words; `role="alert"` so screen readers hear it. */
export function ErrorAlert({ error, title = 'Something went wrong' }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message =
    error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" variant="light" title={title} role="alert" p="xs">
      {message}
    </Alert>
  );
}
