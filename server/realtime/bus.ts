/**
 * Fan-out of "something changed" notices to every app node. The database sends them: a trigger
 * on events (migration 0001, events_notify) calls pg_notify for each event in the transaction
 * that writes it, and PostgreSQL delivers notifications only when that transaction commits, in
 * commit order. So a notice never announces a change that was rolled back, and no process has
 * to dispatch anything. On a server every node LISTENs; PGlite delivers to its own process.
 * Notices carry ids, never bodies (NOTIFY payloads are capped at 8 KB).
 */
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import type { Database } from '../db/client.ts';

export interface Notice {
  tenantId: string;
  type: string;
  caseId: string | null;
  eventId: number;
  /** contact.received only: its channel and the platform's id for it (migration 0012). */
  channel?: string;
  externalId?: string | null;
}

export interface Bus {
  subscribe(handler: (notice: Notice) => void): () => void;
  close(): Promise<void>;
}

const CHANNEL = 'rapport_events';

export async function createBus(database: Database): Promise<Bus> {
  const handlers = new Set<(notice: Notice) => void>();
  const deliver = (payload: string | undefined) => {
    if (!payload) return;
    const notice = JSON.parse(payload) as Notice;
    for (const h of handlers) h(notice);
  };
  const stop = database.pool
    ? await listenPostgres(database.pool, deliver)
    : await listenPglite(database.pglite!, deliver);
  return {
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
      await stop();
    },
  };
}

async function listenPostgres(pool: pg.Pool, deliver: (payload: string | undefined) => void) {
  const listener = await pool.connect();
  listener.on('notification', (msg) => {
    if (msg.channel === CHANNEL) deliver(msg.payload);
  });
  await listener.query(`listen ${CHANNEL}`);
  return async () => {
    await listener.query(`unlisten ${CHANNEL}`).catch(() => {});
    listener.release();
  };
}

async function listenPglite(pglite: PGlite, deliver: (payload: string | undefined) => void) {
  const unlisten = await pglite.listen(CHANNEL, deliver);
  return async () => {
    if (!pglite.closed) await unlisten();
  };
}
