/**
 * Staff sign-in: argon2id passwords, server-side sessions (only a hash of the cookie token is
 * stored), one CSRF token per session, and sign-out everywhere when the password changes.
 */
import { hash, verify } from '@node-rs/argon2';
import { and, eq, sql } from 'drizzle-orm';
import type { Session } from '../../../shared/api/directory.ts';
import type { Executor } from '../../db/client.ts';
import { sessions, tenants, users } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { newSecret, sha256 } from '../../lib/secrets.ts';
import { getUser } from '../directory/directory.service.ts';

export const SESSION_DAYS = 14;
// Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
const DUMMY_HASH = await hash('rapport-timing-equaliser');

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function startSession(
  db: Executor,
  tenantId: string,
  userId: string,
): Promise<{ token: string }> {
  const token = newSecret('', 32);
  await db.insert(sessions).values({
    idHash: sha256(token),
    tenantId,
    userId,
    csrfToken: newSecret('', 24),
    expiresAt: sql`now() + make_interval(days => ${SESSION_DAYS})`,
  });
  return { token };
}

export async function signIn(db: Executor, input: { tenant: string; email: string; password: string }) {
  const [row] = await db
    .select({
      tenantId: users.tenantId,
      userId: users.id,
      passwordHash: users.passwordHash,
      active: users.active,
    })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(
      and(
        eq(tenants.slug, input.tenant.trim().toLowerCase()),
        sql`lower(${users.email}) = ${input.email.trim().toLowerCase()}`,
      ),
    );
  const ok = await verify(row?.passwordHash ?? DUMMY_HASH, input.password);
  if (!row?.passwordHash || !row.active || !ok) {
    throw new AppError(
      'invalid_credentials',
      'That organisation, email and password do not match an active account',
    );
  }
  return {
    ...(await startSession(db, row.tenantId, row.userId)),
    tenantId: row.tenantId,
    userId: row.userId,
  };
}

export async function endSession(db: Executor, idHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.idHash, idHash));
}

export async function describeSession(
  db: Executor,
  tenantId: string,
  userId: string,
  idHash: string,
): Promise<Session> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  const [session] = await db
    .select({ csrf: sessions.csrfToken })
    .from(sessions)
    .where(eq(sessions.idHash, idHash));
  if (!tenant || !session) throw new AppError('unauthenticated', 'The session has ended');
  return {
    user: await getUser(db, tenantId, userId),
    tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name },
    csrfToken: session.csrf,
  };
}

/** Verifies the current password, stores the new one, ends every session and starts a fresh one here. */
export async function changePassword(
  db: Executor,
  tenantId: string,
  userId: string,
  input: { currentPassword: string; newPassword: string },
): Promise<{ token: string }> {
  const [row] = await db
    .select({ passwordHash: users.passwordHash })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
  if (!row?.passwordHash || !(await verify(row.passwordHash, input.currentPassword))) {
    throw new AppError('invalid_credentials', 'The current password is not right');
  }
  const passwordHash = await hashPassword(input.newPassword);
  return db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ passwordHash, sessionsValidAfter: sql`now()` })
      .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
    await tx.delete(sessions).where(and(eq(sessions.tenantId, tenantId), eq(sessions.userId, userId)));
    return startSession(tx, tenantId, userId);
  });
}
