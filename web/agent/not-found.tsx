import { Text, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { Link } from '@tanstack/react-router';

export function NotFound() {
  useDocumentTitle('Not found · Rapport');
  return (
    <div className="page">
      <Title order={1} mb="xs">
        Nothing here
      </Title>
      <Text mb="md">This address does not lead to a page of the workspace.</Text>
      <Link to="/inbox/$view" params={{ view: 'mine' }}>
        Go to my inbox
      </Link>
    </div>
  );
}

/** Outside the signed-in frame there is no main landmark yet: give the page one. */
export function RootNotFound() {
  return (
    <main id="main">
      <NotFound />
    </main>
  );
}
