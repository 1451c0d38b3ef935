/**
 * Fan-out of "something changed" notices to every app node. In-process on the embedded engine
 * (one node); Postgres LISTEN/NOTIFY on a server, so several nodes need no extra service.
 * Notices carry ids, never bodies (NOTIFY payloads are capped at 8 KB).
 */
import type pg from 'pg';

export interface Notice {
  tenantId: string;
  type: string;
  caseId: string | null;
  eventId: number;
}

export interface Bus {
  /** Sends notices in order; on PostgreSQL one statement for the whole list. */
  publish(notices: Notice[]): Promise<void>;
  subscribe(handler: (notice: Notice) => void): () => void;
  close(): Promise<void>;
}

export function createMemoryBus(): Bus {
  const handlers = new Set<(notice: Notice) => void>();
  return {
    async publish(notices) {
      for (const notice of notices) for (const h of handlers) h(notice);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
    },
  };
}

const CHANNEL = 'rapport_events';

export async function createPostgresBus(pool: pg.Pool): Promise<Bus> {
  const handlers = new Set<(notice: Notice) => void>();
  const listener = await pool.connect();
  listener.on('notification', (msg) => {
    if (msg.channel !== CHANNEL || !msg.payload) return;
    const notice = JSON.parse(msg.payload) as Notice;
    for (const h of handlers) h(notice);
  });
  await listener.query(`listen ${CHANNEL}`);
  return {
    async publish(notices) {
      if (notices.length === 0) return;
      // One NOTIFY per notice (each far under the 8 KB cap), all in one round trip; unnest
      // yields them in array order and one transaction's notifications arrive in that order.
      await pool.query('select pg_notify($1, n) from unnest($2::text[]) as n', [
        CHANNEL,
        notices.map((notice) => JSON.stringify(notice)),
      ]);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
      await listener.query(`unlisten ${CHANNEL}`).catch(() => {});
      listener.release();
    },
  };
}
