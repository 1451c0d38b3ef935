/**
 * An inbox view: the active cases that are mine, my team's, unassigned, or all open, newest
 * activity first. Realtime notices refetch it, so new contacts show up while the agent watches.
 */
import { Group, Text, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { getRouteApi, Link } from '@tanstack/react-router';
import type { CaseListQuery } from '../lib/api.ts';
import { CaseList } from './case-list.tsx';
import { useCounts, useSession, useTeams } from './queries.ts';

export const inboxViews = ['mine', 'team', 'unassigned', 'open'] as const;
export type InboxView = (typeof inboxViews)[number];
export const inboxViewLabels: Record<InboxView, string> = {
  mine: 'Mine',
  team: 'My team',
  unassigned: 'Unassigned',
  open: 'All open',
};
const descriptions: Record<InboxView, string> = {
  mine: 'Active cases you own',
  team: 'Active cases of your team',
  unassigned: 'Active cases waiting for an owner',
  open: 'Every active case',
};

const route = getRouteApi('/signed-in/inbox/$view');

export function InboxPage() {
  const { view } = route.useParams();
  const search = route.useSearch();
  const session = useSession();
  const { data: counts } = useCounts();
  const { data: teams } = useTeams();
  useDocumentTitle(`${inboxViewLabels[view]} · Inbox · Rapport`);

  const myTeams = session.user.teamIds;
  const teamId = view === 'team' ? (myTeams.find((t) => t === search.team) ?? myTeams[0]) : undefined;
  const filters: Record<InboxView, Omit<CaseListQuery, 'cursor'>> = {
    mine: { owner: 'me', status: 'active' },
    team: { team: teamId, status: 'active' },
    unassigned: { owner: 'none', status: 'active' },
    open: { status: 'active' },
  };
  const teamName = (id: string) => teams?.find((t) => t.id === id)?.name ?? 'Team';

  return (
    <div className="page">
      <header className="page-header">
        <Group justify="space-between" align="baseline" wrap="wrap" gap="xs">
          <div>
            <Title order={1}>{inboxViewLabels[view]}</Title>
            <Text size="sm" c="dimmed">
              {view === 'team' && teamId ? `Active cases of ${teamName(teamId)}` : descriptions[view]}
              {counts ? ` · ${counts[view === 'open' ? 'open' : view]} active` : ''}
            </Text>
          </div>
          {view === 'team' && myTeams.length > 1 ? (
            <nav aria-label="Teams" className="team-tabs">
              {myTeams.map((id) => (
                <Link
                  key={id}
                  to="/inbox/$view"
                  params={{ view: 'team' }}
                  search={{ team: id }}
                  className="team-tab"
                  aria-current={id === teamId ? 'page' : undefined}
                >
                  {teamName(id)}
                </Link>
              ))}
            </nav>
          ) : null}
        </Group>
      </header>
      {view === 'team' && !teamId ? (
        <Text className="empty" c="dimmed">
          You are not in a team yet. An administrator can add you to one.
        </Text>
      ) : (
        <CaseList filter={filters[view]} caption={inboxViewLabels[view]} />
      )}
    </div>
  );
}
