import type { Actor } from '../context.ts';
import type { Executor } from '../db/client.ts';
import { events } from '../db/schema/index.ts';
import type { EventType } from './catalog.ts';

export interface NewEvent {
  type: EventType;
  caseId?: string | null;
  data?: Record<string, unknown>;
}

/** Records domain events inside the caller's transaction; the dispatcher picks them up after commit. */
export async function recordEvents(
  tx: Executor,
  tenantId: string,
  actor: Actor,
  list: NewEvent[],
): Promise<void> {
  if (list.length === 0) return;
  await tx.insert(events).values(
    list.map((e) => ({
      tenantId,
      type: e.type,
      caseId: e.caseId ?? null,
      actorType: actor.type,
      actorId: actor.id,
      data: e.data ?? {},
    })),
  );
}

/**
 * A use case's events, collected as its steps run and written in one INSERT just before commit:
 * one round trip instead of one per step. Order is kept (ids follow the order of `add`).
 */
export class EventBuffer {
  readonly #list: NewEvent[] = [];

  add(...list: NewEvent[]): void {
    this.#list.push(...list);
  }

  /** Writes what was added since the last flush; call it last, inside the transaction. */
  async flush(tx: Executor, tenantId: string, actor: Actor): Promise<void> {
    await recordEvents(tx, tenantId, actor, this.#list.splice(0));
  }
}
