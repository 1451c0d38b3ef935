/**
 * Organisations on one install, and the operator actions on them (used by the `rapport` CLI,
 * the demo seed and tests): create a tenant, its staff, teams and API tokens.
 */
import { and, eq, sql } from 'drizzle-orm';
import { type Role, roles } from '../../../shared/domain/roles.ts';
import { type Executor, rows } from '../../db/client.ts';
import { apiTokens, teamMembers, teams, tenants, users } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { newSecret, sha256 } from '../../lib/secrets.ts';
import { hashPassword } from '../sessions/sessions.service.ts';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export async function createTenant(db: Executor, input: { slug: string; name: string }) {
  if (!SLUG.test(input.slug)) {
    throw new AppError('validation_failed', 'A slug is 1–63 lower-case letters, digits and inner hyphens');
  }
  if (!input.name.trim()) throw new AppError('validation_failed', 'A tenant needs a name');
  const [existing] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, input.slug));
  if (existing) throw new AppError('conflict', `A tenant with slug "${input.slug}" already exists`);
  const [row] = await db.insert(tenants).values({ slug: input.slug, name: input.name.trim() }).returning();
  return row!;
}

export async function getTenantBySlug(db: Executor, slug: string) {
  const [row] = await db.select().from(tenants).where(eq(tenants.slug, slug));
  if (!row) throw new AppError('tenant_not_found', `No tenant with slug "${slug}"`);
  return row;
}

export interface NewUser {
  email: string;
  displayName: string;
  role: Role;
  password?: string | null;
  avatarUrl?: string | null;
  bio?: string;
  signature?: string;
  teamIds?: string[];
}

export async function createUser(db: Executor, tenantId: string, input: NewUser) {
  if (!roles.includes(input.role))
    throw new AppError('validation_failed', `role must be one of ${roles.join(', ')}`);
  if (!/^[^\s@]+@[^\s@]+$/.test(input.email))
    throw new AppError('validation_failed', 'email is not an email address');
  if (input.password != null && input.password.length < 10) {
    throw new AppError('validation_failed', 'A password needs at least 10 characters');
  }
  const [clash] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), sql`lower(${users.email}) = ${input.email.toLowerCase()}`));
  if (clash) throw new AppError('conflict', `${input.email} already has an account here`);
  const [row] = await db
    .insert(users)
    .values({
      tenantId,
      email: input.email.toLowerCase(),
      displayName: input.displayName,
      role: input.role,
      passwordHash: input.password ? await hashPassword(input.password) : null,
      avatarUrl: input.avatarUrl ?? null,
      bio: input.bio ?? '',
      signature: input.signature ?? '',
    })
    .returning();
  for (const teamId of input.teamIds ?? []) {
    await db.insert(teamMembers).values({ tenantId, teamId, userId: row!.id });
  }
  return row!;
}

export async function createTeam(db: Executor, tenantId: string, name: string) {
  const trimmed = name.trim();
  if (!trimmed) throw new AppError('validation_failed', 'A team needs a name');
  const [clash] = await db
    .select({ id: teams.id })
    .from(teams)
    .where(and(eq(teams.tenantId, tenantId), eq(teams.name, trimmed)));
  if (clash) throw new AppError('conflict', `A team named "${trimmed}" already exists here`);
  const [row] = await db.insert(teams).values({ tenantId, name: trimmed }).returning();
  return row!;
}

export async function getTeamByName(db: Executor, tenantId: string, name: string) {
  const [row] = await db
    .select()
    .from(teams)
    .where(and(eq(teams.tenantId, tenantId), eq(teams.name, name.trim())));
  if (!row) throw new AppError('team_not_found', `No team named "${name}" here`);
  return row;
}

/** Returns the secret once; only its hash is stored. */
export async function createToken(db: Executor, tenantId: string, input: { name: string; role: Role }) {
  if (!roles.includes(input.role))
    throw new AppError('validation_failed', `role must be one of ${roles.join(', ')}`);
  if (!input.name.trim()) throw new AppError('validation_failed', 'A token needs a name');
  const [clash] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.tenantId, tenantId), eq(apiTokens.name, input.name)));
  if (clash) throw new AppError('conflict', `A token named "${input.name}" already exists here`);
  const secret = newSecret('rpt_', 32);
  const [row] = await db
    .insert(apiTokens)
    .values({ tenantId, name: input.name, role: input.role, tokenHash: sha256(secret) })
    .returning({ id: apiTokens.id });
  return { id: row!.id, secret };
}

/** Revokes a token; its event tells every node to forget the token at once (see auth.ts). */
export async function revokeToken(db: Executor, tenantId: string, name: string): Promise<boolean> {
  const [revoked] = await rows<{ id: string }>(
    db,
    sql`with revoked as (
          update api_tokens set revoked_at = now()
          where tenant_id = ${tenantId} and name = ${name} and revoked_at is null returning id),
        announced as (
          insert into events (tenant_id, type, actor_type, actor_id, data)
          select ${tenantId}::uuid, 'token.revoked', 'system', null, jsonb_build_object('tokenId', id, 'name', ${name}::text)
          from revoked)
        select id from revoked`,
  );
  return revoked !== undefined;
}

export async function countTenants(db: Executor): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(tenants);
  return row?.n ?? 0;
}
