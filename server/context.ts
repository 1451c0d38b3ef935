import type { FastifyBaseLogger } from 'fastify';
import type { Role } from '../shared/domain/roles.ts';
import type { Db } from './db/client.ts';

/** Who is acting: a signed-in staff user, an API token, or the system itself (seeding, channels). */
export type Actor =
  | { type: 'user'; id: string; role: Role; sessionId: string | null }
  | { type: 'token'; id: string; role: Role }
  | { type: 'system'; id: null; role: 'admin' };

/** What every use case receives: the tenant it works in, who acts, and the tools to do it. */
export interface Ctx {
  tenantId: string;
  actor: Actor;
  db: Db;
  log: FastifyBaseLogger;
  now: () => Date;
}

export const systemActor: Actor = { type: 'system', id: null, role: 'admin' };
