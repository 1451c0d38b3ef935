/**
 * Who is calling: an API token (`Authorization: Bearer`) or a session cookie. Every route names a
 * permission in `config.permission`; this hook resolves the actor, checks CSRF on cookie-
 * authenticated writes, checks the role table and hands the route a tenant-scoped `Ctx`.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allows, type Permission } from '../../shared/domain/permissions.ts';
import type { Role } from '../../shared/domain/roles.ts';
import type { Actor, Ctx } from '../context.ts';
import { type Db, rows } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { safeEqual, sha256 } from '../lib/secrets.ts';
import type { Bus } from '../realtime/bus.ts';

export const SESSION_COOKIE = 'rapport_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission from shared/domain/permissions.ts this route requires. */
    permission?: Permission;
  }
  interface FastifyRequest {
    /** Set for every authenticated route. */
    ctx: Ctx;
  }
}

interface Caller {
  tenantId: string;
  actor: Actor;
  csrfToken: string | null;
}

/**
 * Bearer tokens checked in the last few seconds, so a busy integration costs no token lookup per
 * request. A revocation writes a token.revoked event whose notice reaches every node on commit
 * and empties that tenant's entries; the short lifetime bounds what a lost notice could cost.
 */
const TOKEN_TTL_MS = 10_000;
const TOKEN_CACHE_MAX = 10_000;
const tokenCaches = new WeakMap<Db, Map<string, { caller: Caller; until: number }>>();

function tokenCache(db: Db) {
  let cache = tokenCaches.get(db);
  if (!cache) {
    cache = new Map();
    tokenCaches.set(db, cache);
  }
  return cache;
}

export function registerAuth(app: FastifyInstance, db: Db, bus: Bus): void {
  const unsubscribe = bus.subscribe((notice) => {
    if (notice.type !== 'token.revoked') return;
    const cache = tokenCache(db);
    for (const [hash, entry] of cache) if (entry.caller.tenantId === notice.tenantId) cache.delete(hash);
  });
  app.addHook('onClose', async () => unsubscribe());
  app.decorateRequest('ctx', null as unknown as Ctx);
  // onRequest: callers are identified and checked before their body is read or validated.
  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config.permission;
    if (!permission || permission === 'public') return;
    const caller = await resolveCaller(db, request);
    if (!caller) throw new AppError('unauthenticated', 'Sign in or send an API token');
    if (caller.csrfToken !== null && !SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !safeEqual(sent, caller.csrfToken)) {
        throw new AppError('csrf_failed', `Missing or wrong ${CSRF_HEADER} header for a signed-in write`);
      }
    }
    if (!allows(caller.actor.role, permission)) {
      throw new AppError('forbidden', `The ${caller.actor.role} role may not do this (${permission})`);
    }
    request.ctx = {
      tenantId: caller.tenantId,
      actor: caller.actor,
      db,
      log: request.log,
      now: () => new Date(),
    };
  });
}

/** Resolves the caller from a bearer token or session cookie; null when neither is valid. */
export async function resolveCaller(db: Db, request: FastifyRequest): Promise<Caller | null> {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) {
    const hash = sha256(header.slice(7).trim());
    const cache = tokenCache(db);
    const hit = cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.caller;
    const [token] = await rows<{ tenant_id: string; id: string; role: Role; stale: boolean }>(
      db,
      sql`select tenant_id, id, role, coalesce(last_used_at < now() - interval '1 minute', true) as stale
          from api_tokens where token_hash = ${hash} and revoked_at is null`,
    );
    if (!token) return null;
    // Last use is kept to the minute: a write on every call would serialise busy integrations.
    if (token.stale) {
      await db.execute(
        sql`update api_tokens set last_used_at = now() where tenant_id = ${token.tenant_id} and id = ${token.id}`,
      );
    }
    const caller: Caller = {
      tenantId: token.tenant_id,
      actor: { type: 'token', id: token.id, role: token.role },
      csrfToken: null,
    };
    if (cache.size >= TOKEN_CACHE_MAX) cache.clear();
    cache.set(hash, { caller, until: Date.now() + TOKEN_TTL_MS });
    return caller;
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (!cookie) return null;
  const session = await findSession(db, cookie);
  if (!session) return null;
  return {
    tenantId: session.tenantId,
    actor: { type: 'user', id: session.userId, role: session.role, sessionId: session.idHash },
    csrfToken: session.csrfToken,
  };
}

export interface SessionRow {
  idHash: string;
  tenantId: string;
  userId: string;
  role: Role;
  csrfToken: string;
}

/** A live session: not expired, its user active, and created after the user's last password change. */
export async function findSession(db: Db, token: string): Promise<SessionRow | null> {
  const [row] = await rows<{
    id_hash: string;
    tenant_id: string;
    user_id: string;
    role: Role;
    csrf_token: string;
  }>(
    db,
    sql`select s.id_hash, s.tenant_id, s.user_id, u.role, s.csrf_token
        from sessions s join users u on u.tenant_id = s.tenant_id and u.id = s.user_id
        where s.id_hash = ${sha256(token)} and s.expires_at > now() and u.active
          and s.created_at >= u.sessions_valid_after`,
  );
  if (!row) return null;
  return {
    idHash: row.id_hash,
    tenantId: row.tenant_id,
    userId: row.user_id,
    role: row.role,
    csrfToken: row.csrf_token,
  };
}
