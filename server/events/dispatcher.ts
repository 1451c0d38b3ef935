/**
 * Runs listeners for committed events, at least once each, in id order per claim. Claims use
 * SKIP LOCKED, so several nodes share the work; a node that dies mid-batch rolls back its claim.
 * The list below answers "what happens when X".
 */
import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { type Db, rows } from '../db/client.ts';
import type { EventType } from './catalog.ts';

export interface DispatchedEvent {
  id: number;
  tenantId: string;
  type: EventType;
  caseId: string | null;
  actorType: string;
  actorId: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

export type Listener = (event: DispatchedEvent) => Promise<void> | void;

export interface Dispatcher {
  /** Ask for a dispatch round soon (after a commit). */
  kick(): void;
  /** Dispatch until nothing is pending; used by tests and shutdown. */
  drain(): Promise<void>;
  /** Events written but not yet dispatched (the queue depth metric). */
  pending(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

const BATCH = 200;
const POLL_MS = 1000;

export function createDispatcher(db: Db, log: FastifyBaseLogger, listeners: Listener[]): Dispatcher {
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = true;

  async function round(): Promise<number> {
    return db.transaction(async (tx) => {
      const claimed = await rows<{
        id: string | number;
        tenant_id: string;
        type: EventType;
        case_id: string | null;
        actor_type: string;
        actor_id: string | null;
        data: Record<string, unknown>;
        created_at: string | Date;
      }>(
        tx,
        sql`update events set dispatched = true
            where id in (select id from events where not dispatched order by id limit ${BATCH} for update skip locked)
            returning id, tenant_id, type, case_id, actor_type, actor_id, data, created_at`,
      );
      claimed.sort((a, b) => Number(a.id) - Number(b.id));
      for (const row of claimed) {
        const event: DispatchedEvent = {
          id: Number(row.id),
          tenantId: row.tenant_id,
          type: row.type,
          caseId: row.case_id,
          actorType: row.actor_type,
          actorId: row.actor_id,
          data: row.data,
          createdAt: new Date(row.created_at),
        };
        for (const listener of listeners) {
          try {
            await listener(event);
          } catch (err) {
            // A failing listener must not block the others; durable consumers keep their own retries.
            log.error({ err, eventId: event.id, type: event.type }, 'event listener failed');
          }
        }
      }
      return claimed.length;
    });
  }

  async function loop(): Promise<void> {
    do {
      again = false;
      try {
        while ((await round()) === BATCH) {}
      } catch (err) {
        if (!stopped) log.warn({ err }, 'event dispatch round failed; retrying on the next poll');
      }
    } while (again && !stopped);
  }

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = loop().finally(() => {
      running = null;
    });
  }

  return {
    kick,
    async drain() {
      if (running) await running;
      while ((await round()) > 0) {}
    },
    async pending() {
      const [row] = await rows<{ n: number }>(
        db,
        sql`select count(*)::int as n from events where not dispatched`,
      );
      return row?.n ?? 0;
    },
    start() {
      stopped = false;
      timer = setInterval(kick, POLL_MS);
      timer.unref();
      kick();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      if (running) await running;
    },
  };
}
