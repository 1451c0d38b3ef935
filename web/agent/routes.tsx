/**
 * The route tree of the agent workspace (code-based). Everything but /sign-in sits under the
 * signed-in layout, whose guard loads the session and sends strangers to sign in.
 */
import type { QueryClient } from '@tanstack/react-query';
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  Outlet,
  redirect,
} from '@tanstack/react-router';
import { ApiError } from '../lib/api.ts';
import { ErrorAlert } from '../ui/error-alert.tsx';
import { CasePage } from './case-page.tsx';
import { ChannelsPage } from './channels-page.tsx';
import { InboxPage, type InboxView, inboxViews } from './inbox-page.tsx';
import { NotFound, RootNotFound } from './not-found.tsx';
import { OutboundMailPage } from './outbound-mail-page.tsx';
import { QuarantinePage } from './quarantine-page.tsx';
import { sessionQuery } from './queries.ts';
import { Shell } from './shell.tsx';
import { SignInPage } from './sign-in-page.tsx';

interface RouterContext {
  queryClient: QueryClient;
}

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: RootNotFound,
});

export const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: (search: Record<string, unknown>): { redirect?: string } =>
    typeof search.redirect === 'string' && search.redirect.startsWith('/')
      ? { redirect: search.redirect }
      : {},
  component: SignInPage,
});

const signedInRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'signed-in',
  beforeLoad: async ({ context, location }) => {
    try {
      await context.queryClient.ensureQueryData(sessionQuery);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        throw redirect({ to: '/sign-in', search: { redirect: location.href } });
      }
      throw err;
    }
  },
  component: Shell,
});

const indexRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: '/',
  beforeLoad: () => {
    throw redirect({ to: '/inbox/$view', params: { view: 'mine' } });
  },
});

export const inboxRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: '/inbox/$view',
  params: {
    parse: ({ view }): { view: InboxView } => {
      if (!(inboxViews as readonly string[]).includes(view)) throw new Error(`No inbox view ${view}`);
      return { view: view as InboxView };
    },
    stringify: ({ view }) => ({ view }),
  },
  validateSearch: (search: Record<string, unknown>): { team?: string } =>
    typeof search.team === 'string' ? { team: search.team } : {},
  component: InboxPage,
});

export const caseRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: '/cases/$number',
  component: CasePage,
});

export const channelsRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: '/settings/channels',
  component: ChannelsPage,
});

export const quarantineRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: '/settings/quarantine',
  component: QuarantinePage,
});

export const outboundMailRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: '/settings/outbound-mail',
  component: OutboundMailPage,
});

const routeTree = rootRoute.addChildren([
  signInRoute,
  signedInRoute.addChildren([
    indexRoute,
    inboxRoute,
    caseRoute,
    channelsRoute,
    quarantineRoute,
    outboundMailRoute,
  ]),
]);

export function createAgentRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: 'intent',
    defaultNotFoundComponent: NotFound,
    defaultErrorComponent: ({ error }) => (
      <div className="page">
        <ErrorAlert error={error} title="This page could not be shown" />
      </div>
    ),
    scrollRestoration: true,
  });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createAgentRouter>;
  }
}
