/**
 * Group commit for the intake. Contacts that arrive while a batch is being written wait and go
 * together in the next one: one statement (receive_contacts, migration 0001), one transaction,
 * one WAL flush for all of them; the batch's messages, contacts and events are inserted together
 * at its end (migration 0014). Alone, a contact goes at once, so a quiet system adds no
 * delay; under load the batches grow and each contact pays a share of one commit instead of a
 * whole one. Every contact still gets its own answer, after the batch has committed.
 *
 * A batch's realtime notices are not sent from inside its transaction (migration 0006): pg_notify
 * there would hold the database's one notification lock through the commit's WAL flush and make
 * concurrent batches queue behind each other's flushes. receive_contacts returns them instead,
 * and after the commit they go to this process's bus (realtime/bus.ts), which hands them to its
 * handlers and, only when other nodes listen, to NOTIFY. A process without a bus (the CLI) sends
 * them by NOTIFY itself on a PostgreSQL pool; on PGlite it lets the trigger send them.
 */
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import { type Db, rows, sql } from '../../db/client.ts';
import { sqlState } from '../../lib/retry.ts';
import { busOf, type Notice, Notifier } from '../../realtime/bus.ts';

/** receive_contact's parameters, by name. */
export interface IntakeItem {
  tenant: string;
  actorType: string;
  actorId: string | null;
  channel: string;
  kind: string;
  platform: string;
  value: string;
  name: string | null;
  text: string;
  subject: string;
  externalId: string | null;
  caseNumber: number | null;
  receivedAt: string;
  attributes?: Record<string, unknown>;
  /** A case the caller verified (a signed email reply token): joined whoever the sender is. */
  caseId?: string | null;
  /** Machine-written (auto-reply, bounce): stored, but no repeat, no reopening (migration 0003). */
  automatic?: boolean;
  /** A further line of a live conversation on caseId: stored, not a new contact (migration 0009). */
  continuation?: boolean;
  /** What the platform says about the sender, kept on their identity (migration 0011). */
  profile?: Record<string, unknown>;
}

/** One contact's result: receive_contact's JSON, or the SQLSTATE that rolled it back alone. */
export type IntakeOutcome<T> = { ok: T } | { error: string; message: string };

interface Pending {
  item: IntakeItem;
  /** Lock order: tenant and identity. */
  key: string;
  bytes: number;
  resolve: (outcome: IntakeOutcome<unknown>) => void;
  reject: (err: unknown) => void;
}

/** Subtransactions past 64 in one transaction slow every snapshot in the cluster; stay under. */
const MAX_ITEMS = 32;
/** A batch's text stays around this size; a larger contact goes alone. */
const MAX_BYTES = 1 << 20;

export class IntakeQueue {
  readonly #db: Db;
  /** Counter shards of the batches that may be written at once; a free one is taken per batch. */
  readonly #freeShards: number[];
  /** On a pool: sends the notices of batches when this process has no bus. */
  readonly #notifier: Notifier | null;
  /** A single in-process session (PGlite) starts a batch only after this event-loop turn. */
  readonly #gather: boolean;
  #gathering = false;
  #waiting: Pending[] = [];
  /** Size of the batch being written on each busy shard. */
  readonly #sizes = new Map<number, number>();
  readonly #batchListeners = new Set<(size: number) => void>();

  /** `batches`: how many may be written at once, each on its counter shard (0-3, migration 0006). */
  constructor(db: Db, log: FastifyBaseLogger, batches: 1 | 2 | 3 | 4) {
    this.#db = db;
    this.#freeShards = [0, 1, 2, 3].slice(0, batches);
    this.#notifier = batches > 1 ? new Notifier(db, log) : null;
    this.#gather = batches === 1;
  }

  /** Told the size of every batch as it starts (/metrics: rapport_intake_batch_size). */
  onBatch(listener: (size: number) => void): () => void {
    this.#batchListeners.add(listener);
    return () => this.#batchListeners.delete(listener);
  }

  submit<T>(item: IntakeItem): Promise<IntakeOutcome<T>> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({
        item,
        key: `${item.tenant}|${item.kind}|${item.platform}|${item.value}`,
        bytes: item.text.length + item.subject.length + 256,
        resolve: resolve as Pending['resolve'],
        reject,
      });
      this.#pump();
    });
  }

  /**
   * A batch goes when no batch is being written, or when as many contacts wait as the smallest
   * batch in flight holds. Started at once, a second batch took the two or three contacts that
   * had just arrived, and every contact paid a bigger share of a commit and a statement: at 16
   * clients the pipeline ran batches of about 3 and the database spent 30 % more per contact.
   */
  #pump(): void {
    if (!this.#gather) {
      this.#start();
      return;
    }
    // PGlite runs a statement on this thread, so nothing new arrives while a batch is written:
    // started at once, every batch held the one contact that asked. Requests read in the same
    // turn of the event loop now go together.
    if (this.#gathering) return;
    this.#gathering = true;
    setImmediate(() => {
      this.#gathering = false;
      this.#start();
    });
  }

  #start(): void {
    while (
      this.#freeShards.length > 0 &&
      this.#waiting.length > 0 &&
      this.#waiting.length >= this.#writing()
    ) {
      let n = 0;
      let bytes = 0;
      while (
        n < this.#waiting.length &&
        n < MAX_ITEMS &&
        (n === 0 || bytes + this.#waiting[n]!.bytes <= MAX_BYTES)
      ) {
        bytes += this.#waiting[n]!.bytes;
        n++;
      }
      // Sorted by identity (stable, so one customer's contacts keep their order): concurrent
      // batches then lock customers and cases in the same order and cannot deadlock on them.
      const batch = this.#waiting.splice(0, n).sort((a, b) => compare(a.key, b.key));
      const shard = this.#freeShards.pop()!;
      this.#sizes.set(shard, batch.length);
      for (const listener of this.#batchListeners) listener(batch.length);
      void this.#write(batch, shard).finally(() => {
        this.#sizes.delete(shard);
        this.#freeShards.push(shard);
        this.#pump();
      });
    }
  }

  /** The smallest batch being written, 0 when none is. */
  #writing(): number {
    let smallest = 0;
    for (const size of this.#sizes.values()) smallest = smallest === 0 ? size : Math.min(smallest, size);
    return smallest;
  }

  /**
   * Without isolation first: one failing contact then fails the whole batch, which is written
   * again with each contact in its own subtransaction, so only that one fails. Alone, a contact
   * needs no isolation: its failure is its outcome.
   */
  async #write(batch: Pending[], shard: number): Promise<void> {
    let written: Written;
    try {
      written = await this.#receive(batch, shard, false);
    } catch (err) {
      // A statement the database refused has a SQLSTATE; a lost connection has none.
      const code = sqlState(err);
      try {
        if (batch.length === 1 && code) {
          written = { results: [{ error: code, message: databaseMessage(err) }], notices: [] };
        } else if (code) {
          written = await this.#receive(batch, shard, true);
        } else {
          throw err;
        }
      } catch (again) {
        for (const p of batch) p.reject(again);
        return;
      }
    }
    batch.forEach((p, i) => {
      p.resolve(written.results[i]!);
    });
    const { notices } = written;
    if (notices.length === 0) return;
    const bus = busOf(this.#db);
    if (bus) bus.publish(notices);
    else this.#notifier?.send(notices);
  }

  async #receive(batch: Pending[], shard: number, isolate: boolean): Promise<Written> {
    // Without a bus or a pool (an open transaction, the CLI on PGlite) the trigger sends them
    // with the commit.
    const returnNotices = this.#notifier !== null || busOf(this.#db) !== undefined;
    const [row] = await rows<{ r: Written }>(
      this.#db,
      sql`select receive_contacts(${JSON.stringify(batch.map((p) => p.item))}::jsonb, ${shard}::smallint,
                                  ${returnNotices}, ${isolate}) as r`,
    );
    return row!.r;
  }
}

/** receive_contacts' answer: each contact's outcome, in order, and the notices of the batch's events. */
interface Written {
  results: IntakeOutcome<unknown>[];
  notices: Notice[];
}

function databaseMessage(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return e.cause?.message ?? e.message ?? String(err);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const queues = new WeakMap<Db, IntakeQueue>();

/**
 * The queue of a database handle: two batches in flight on a PostgreSQL pool (one commits while
 * the next runs), one on PGlite or an open transaction, which have a single session.
 */
export function intakeQueue(db: Db, log: FastifyBaseLogger): IntakeQueue {
  let queue = queues.get(db);
  if (!queue) {
    const client = (db as { $client?: unknown }).$client;
    queue = new IntakeQueue(db, log, client instanceof pg.Pool ? 2 : 1);
    queues.set(db, queue);
  }
  return queue;
}
