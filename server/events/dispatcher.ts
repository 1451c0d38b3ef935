/**
 * Runs listeners for committed events, at least once each, in id order per claim. Claims use
 * SKIP LOCKED, so several nodes share the work; a node that dies mid-batch rolls back its claim.
 * Listeners take a claimed batch at once, so a listener that talks to the database (the realtime
 * bus) makes one round trip per batch, not one per event. The list below answers "what happens
 * when X".
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

/** Called once per claimed batch (never empty), events in id order. */
export type Listener = (events: DispatchedEvent[]) => Promise<void> | void;

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
      if (claimed.length === 0) return 0;
      const batch: DispatchedEvent[] = claimed
        .map((row) => ({
          id: Number(row.id),
          tenantId: row.tenant_id,
          type: row.type,
          caseId: row.case_id,
          actorType: row.actor_type,
          actorId: row.actor_id,
          data: row.data,
          createdAt: new Date(row.created_at),
        }))
        .sort((a, b) => a.id - b.id);
      for (const listener of listeners) {
        try {
          await listener(batch);
        } catch (err) {
          // A failing listener must not block the others; durable consumers keep their own retries.
          log.error({ err, firstEventId: batch[0]!.id, count: batch.length }, 'event listener failed');
        }
      }
      return claimed.length;
    });
  }

  async function loop(): Promise<void> {
    // Start the round after the current turn of the event loop, so the kicks of every response
    // finished in that turn share one claim. (A 3 ms timer measured no better in the intake bench.)
    await new Promise((resolve) => setImmediate(resolve));
    if (stopped) return;
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
