/**
 * The signed-in frame: skip link, header (organisation, live status, who is signed in, sign out),
 * the inbox navigation with badge counts, and the main landmark every page renders into.
 */
import { AppShell, Burger, Button, Group, Text } from '@mantine/core';
import { useDisclosure, useMediaQuery } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { useEffect } from 'react';
import { api } from '../lib/api.ts';
import { UserAvatar } from '../ui/user-avatar.tsx';
import { inboxViewLabels, inboxViews } from './inbox-page.tsx';
import { useCounts, useSession } from './queries.ts';
import { type LiveStatus, useLiveUpdates } from './use-live-updates.ts';

const liveLabel: Record<LiveStatus, string> = {
  live: 'Live',
  connecting: 'Connecting…',
  offline: 'Offline, reconnecting…',
};

export function Shell() {
  const session = useSession();
  const live = useLiveUpdates();
  const [navOpen, nav] = useDisclosure(false);
  // Below the sm breakpoint the closed navigation slides off screen: keep it out of the tab order too.
  const phone = useMediaQuery('(max-width: 48em)');
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  // On a phone the navigation is a drawer: close it once the agent has gone somewhere.
  useEffect(() => nav.close(), [pathname]);

  return (
    <AppShell
      header={{ height: 48 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !navOpen } }}
      padding={0}
    >
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <AppShell.Header className="app-header">
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={navOpen}
              onClick={nav.toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={navOpen ? 'Close navigation' : 'Open navigation'}
            />
            <Link to="/inbox/$view" params={{ view: 'mine' }} className="brand">
              Rapport
            </Link>
            <Text size="sm" c="dimmed" visibleFrom="xs" truncate>
              {session.tenant.name}
            </Text>
          </Group>
          <Group gap="md" wrap="nowrap">
            <span className="live-status" data-status={live} role="status">
              <span className="live-dot" aria-hidden />
              <Text span size="xs" c="dimmed" visibleFrom="xs">
                {liveLabel[live]}
              </Text>
            </span>
            <CurrentUser />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Navigation" component="nav" inert={phone && !navOpen}>
        <InboxNav teamCount={session.user.teamIds.length} />
        {session.user.role === 'admin' || session.user.role === 'supervisor' ? (
          <SettingsNav admin={session.user.role === 'admin'} />
        ) : null}
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1} className="app-main">
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}

function InboxNav({ teamCount }: { teamCount: number }) {
  const { data: counts } = useCounts();
  const countOf = {
    mine: counts?.mine,
    team: counts?.team,
    unassigned: counts?.unassigned,
    open: counts?.open,
  };
  return (
    <>
      <Text size="xs" fw={600} c="dimmed" tt="uppercase" px="xs" pb={6} pt={4} id="inbox-nav-heading">
        Inbox
      </Text>
      <ul className="nav-list" aria-labelledby="inbox-nav-heading">
        {inboxViews.map((view) => (
          <li key={view}>
            <Link
              to="/inbox/$view"
              params={{ view }}
              className="nav-link"
              activeProps={{ 'aria-current': 'page' }}
              data-view={view}
            >
              <span>{inboxViewLabels[view]}</span>
              {view === 'team' && teamCount === 0 ? null : (
                <span className="nav-count" data-testid={`count-${view}`}>
                  {countOf[view] ?? '–'}
                </span>
              )}
            </Link>
          </li>
        ))}
      </ul>
    </>
  );
}

function SettingsNav({ admin }: { admin: boolean }) {
  return (
    <>
      <Text size="xs" fw={600} c="dimmed" tt="uppercase" px="xs" pb={6} pt={16} id="settings-nav-heading">
        Settings
      </Text>
      <ul className="nav-list" aria-labelledby="settings-nav-heading">
        <li>
          <Link to="/settings/channels" className="nav-link" activeProps={{ 'aria-current': 'page' }}>
            <span>Channels</span>
          </Link>
        </li>
        {admin ? (
          <li>
            <Link to="/settings/quarantine" className="nav-link" activeProps={{ 'aria-current': 'page' }}>
              <span>Quarantine</span>
            </Link>
          </li>
        ) : null}
        <li>
          <Link to="/settings/outbound-mail" className="nav-link" activeProps={{ 'aria-current': 'page' }}>
            <span>Outbound mail</span>
          </Link>
        </li>
      </ul>
    </>
  );
}

function CurrentUser() {
  const session = useSession();
  const client = useQueryClient();
  const navigate = useNavigate();
  const signOut = async () => {
    await api.session.signOut().catch(() => {});
    // Leave the signed-in pages before forgetting their data, so none renders without a session.
    await navigate({ to: '/sign-in', search: {} });
    client.clear();
  };
  return (
    <Group gap="xs" wrap="nowrap">
      <div className="current-user" title={`${session.user.email} · ${session.user.role}`}>
        <UserAvatar name={session.user.displayName} url={session.user.avatarUrl} size={26} />
        <Text size="sm" fw={500} data-testid="current-user-name" className="current-user-name">
          {session.user.displayName}
        </Text>
      </div>
      <Button variant="subtle" color="gray" size="compact-sm" onClick={signOut}>
        Sign out
      </Button>
    </Group>
  );
}
