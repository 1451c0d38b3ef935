import type { Actor } from '../context.ts';
import type { Executor } from '../db/client.ts';
import { events } from '../db/schema/index.ts';
import type { EventType } from './catalog.ts';

export interface NewEvent {
  type: EventType;
  caseId?: string | null;
  data?: Record<string, unknown>;
}

/** Records domain events inside the caller's transaction; the database announces them on commit. */
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
