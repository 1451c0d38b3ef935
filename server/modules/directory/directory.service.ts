/**
 * The tenant's staff and teams: who can own a case, who belongs to which team.
 * Every query is scoped by tenant; ids of another tenant are simply not found.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { Team, User } from '../../../shared/api/directory.ts';
import type { Role } from '../../../shared/domain/roles.ts';
import type { Executor } from '../../db/client.ts';
import { teamMembers, teams, users } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';

export async function assertAssignableUser(db: Executor, tenantId: string, userId: string): Promise<void> {
  const [row] = await db
    .select({ active: users.active })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
  if (!row?.active) throw new AppError('user_not_found', 'No active staff member with that id here');
}

export async function assertTeam(db: Executor, tenantId: string, teamId: string): Promise<void> {
  const [row] = await db
    .select({ id: teams.id })
    .from(teams)
    .where(and(eq(teams.tenantId, tenantId), eq(teams.id, teamId)));
  if (!row) throw new AppError('team_not_found', 'No team with that id here');
}

export async function listUsers(db: Executor, tenantId: string): Promise<User[]> {
  const [people, memberships] = await Promise.all([
    db.select().from(users).where(eq(users.tenantId, tenantId)).orderBy(asc(users.displayName)),
    db.select().from(teamMembers).where(eq(teamMembers.tenantId, tenantId)),
  ]);
  return people.map((u) => ({
    id: u.id,
    email: u.email,
    displayName: u.displayName,
    role: u.role as Role,
    avatarUrl: u.avatarUrl,
    bio: u.bio,
    signature: u.signature,
    active: u.active,
    teamIds: memberships.filter((m) => m.userId === u.id).map((m) => m.teamId),
  }));
}

export async function getUser(db: Executor, tenantId: string, userId: string): Promise<User> {
  const user = (await listUsers(db, tenantId)).find((u) => u.id === userId);
  if (!user) throw new AppError('user_not_found', 'No staff member with that id here');
  return user;
}

export async function listTeams(db: Executor, tenantId: string): Promise<Team[]> {
  const [all, memberships] = await Promise.all([
    db.select().from(teams).where(eq(teams.tenantId, tenantId)).orderBy(asc(teams.name)),
    db.select().from(teamMembers).where(eq(teamMembers.tenantId, tenantId)),
  ]);
  return all.map((t) => ({
    id: t.id,
    name: t.name,
    memberIds: memberships.filter((m) => m.teamId === t.id).map((m) => m.userId),
  }));
}

export async function teamIdsOf(db: Executor, tenantId: string, userId: string): Promise<string[]> {
  const rows = await db
    .select({ teamId: teamMembers.teamId })
    .from(teamMembers)
    .where(and(eq(teamMembers.tenantId, tenantId), eq(teamMembers.userId, userId)));
  return rows.map((r) => r.teamId);
}
