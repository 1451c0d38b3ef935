/** The agent workspace: providers and the router. */
import '@mantine/core/styles.css';
import './app.css';
import { MantineProvider } from '@mantine/core';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError } from '../lib/api.ts';
import { cssVariablesResolver, theme } from '../ui/theme.ts';
import { createAgentRouter } from './routes.tsx';

/** A session that ended elsewhere (signed out everywhere, expired) sends the agent back to sign in. */
function onError(error: unknown) {
  if (!(error instanceof ApiError) || error.status !== 401) return;
  if (router.state.location.pathname === '/sign-in') return;
  void router
    .navigate({ to: '/sign-in', search: { redirect: router.state.location.href } })
    .then(() => queryClient.clear());
}

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // Realtime notices keep data fresh; a 4xx will not fix itself by asking again.
      refetchOnWindowFocus: true,
      retry: (count, error) =>
        !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

const router = createAgentRouter(queryClient);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver} defaultColorScheme="light">
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
