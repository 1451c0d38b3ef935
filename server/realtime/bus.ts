/**
 * Fan-out of "something changed" notices to every app node. Notices carry ids, never bodies
 * (NOTIFY payloads are capped at 8 KB). They travel two ways:
 *
 * - **From the database**: a trigger on events (migration 0001, events_notify) calls pg_notify
 *   in the transaction that writes the event, and PostgreSQL delivers the notification only when
 *   that transaction commits, in commit order, to every node's LISTEN (PGlite: to its own
 *   process). A notice never announces a change that was rolled back.
 * - **Published by the node that committed**: the intake asks receive_contacts for its batch's
 *   notices instead (migration 0006) and hands them to `publish` once the batch has committed.
 *   This node's handlers get them at once, without a round trip; other nodes get them through
 *   NOTIFY, tagged with this bus's origin so that it skips its own. With no other node listening
 *   (one server, the usual install) nothing is sent: the statement and the notifications cost
 *   the intake about a fifth of its throughput on PostgreSQL (docs/performance.md, session 9).
 * - **Broadcast** (presence): a notice for everyone but the app that sends it, the other apps on
 *   this handle at once and other nodes by NOTIFY under the same rule.
 *
 * Who else listens: every bus's LISTEN session is named `rapport-bus` (application_name, which
 * pg_stat_activity shows to any role). A bus counts the others every PEERS_MS, and a node that
 * starts says so right after its LISTEN (`bus.joined`), so the others start sending at once. A
 * published notice can miss a node only in the moment between its LISTEN and the others hearing
 * its join, while it is still starting and has no sockets.
 *
 * Apps built on one database handle (tests run two) share its bus: one LISTEN, one origin.
 */
import { randomUUID } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { type Database, type Db, rows, sql } from '../db/client.ts';

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
  /** Notices of changes this node has committed: here at once, to other nodes by NOTIFY. */
  publish(notices: Notice[]): void;
  /**
   * A notice for everyone but this app (presence): the other apps on this database handle, and
   * other nodes by NOTIFY while any listen.
   */
  broadcast(notice: Notice): void;
  /** Other nodes listening on this database, as last counted (/metrics: rapport_bus_other_nodes). */
  otherNodes(): number;
  close(): Promise<void>;
}

interface Log {
  warn(details: object, message: string): void;
}

const CHANNEL = 'rapport_events';
const SESSION_NAME = 'rapport-bus';
const PEERS_MS = 5_000;
const NIL = '00000000-0000-0000-0000-000000000000';

/** The bus of each database handle this process has one for, while it opens and once open. */
const opening = new WeakMap<Db, Promise<SharedBus>>();
const opened = new WeakMap<Db, SharedBus>();

/** The bus apps on this database handle share, if one is open (a CLI process has none). */
export function busOf(db: Db): Pick<Bus, 'publish'> | undefined {
  return opened.get(db);
}

export async function createBus(database: Database, log: Log): Promise<Bus> {
  let pending = opening.get(database.db);
  if (!pending) {
    pending = SharedBus.open(database, log);
    opening.set(database.db, pending);
    pending.then(
      (bus) => opened.set(database.db, bus),
      () => opening.delete(database.db),
    );
  }
  const bus = await pending;
  const mine = new Set<(notice: Notice) => void>();
  bus.views.add(mine);
  return {
    subscribe(handler) {
      mine.add(handler);
      return () => mine.delete(handler);
    },
    publish: (notices) => bus.publish(notices),
    broadcast: (notice) => bus.broadcast(notice, mine),
    otherNodes: () => bus.otherNodes(),
    async close() {
      mine.clear();
      bus.views.delete(mine);
      if (bus.views.size > 0) return;
      opening.delete(database.db);
      opened.delete(database.db);
      await bus.close();
    },
  };
}

class SharedBus implements Pick<Bus, 'publish' | 'otherNodes'> {
  readonly views = new Set<Set<(notice: Notice) => void>>();
  readonly #origin = randomUUID();
  readonly #log: Log;
  readonly #notifier: Notifier | null;
  /** Other nodes' buses listening on this database (PostgreSQL only). */
  #peers = 0;
  #joins = 0;
  #stop: () => Promise<void> = async () => {};
  #timer: NodeJS.Timeout | null = null;

  static async open(database: Database, log: Log): Promise<SharedBus> {
    const bus = new SharedBus(database, log);
    const onPayload = (payload: string | undefined) => bus.#received(payload);
    if (database.pool) {
      const { stop, pid } = await listenPostgres(database.pool, onPayload);
      bus.#stop = stop;
      const countPeers = async () => {
        const joins = bus.#joins;
        const [row] = await rows<{ n: number }>(
          database.db,
          sql`select count(*)::int as n from pg_stat_activity
               where datname = current_database() and application_name = ${SESSION_NAME} and pid <> ${pid}`,
        );
        // A join heard while counting may not be in the count.
        bus.#peers = joins === bus.#joins ? row!.n : Math.max(row!.n, 1);
      };
      await countPeers();
      const joined = { tenantId: NIL, type: 'bus.joined', caseId: null, eventId: 0, origin: bus.#origin };
      await rows(database.db, sql`select pg_notify(${CHANNEL}, ${JSON.stringify(joined)})`);
      bus.#timer = setInterval(() => {
        countPeers().catch((err) => log.warn({ err }, 'could not count the other nodes on the bus'));
      }, PEERS_MS);
      bus.#timer.unref();
    } else {
      bus.#stop = await listenPglite(database.pglite!, onPayload);
    }
    return bus;
  }

  private constructor(database: Database, log: Log) {
    this.#log = log;
    this.#notifier = database.pool ? new Notifier(database.db, log) : null;
  }

  publish(notices: Notice[]): void {
    for (const notice of notices) this.#deliver(notice);
    this.#toOthers(notices);
  }

  broadcast(notice: Notice, from: Set<(notice: Notice) => void>): void {
    this.#deliver(notice, from);
    this.#toOthers([notice]);
  }

  #toOthers(notices: Notice[]): void {
    if (this.#peers > 0) this.#notifier!.send(notices.map((n) => ({ ...n, origin: this.#origin })));
  }

  otherNodes(): number {
    return this.#peers;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.views.clear();
    await this.#stop();
  }

  #received(payload: string | undefined): void {
    let notice: Notice & { origin?: string };
    try {
      notice = JSON.parse(payload ?? '');
    } catch {
      return; // not one of ours
    }
    if (notice.origin === this.#origin) return;
    if (notice.type === 'bus.joined') {
      this.#joins++;
      this.#peers = Math.max(this.#peers, 1);
      return;
    }
    delete notice.origin;
    this.#deliver(notice);
  }

  #deliver(notice: Notice, except?: Set<(notice: Notice) => void>): void {
    for (const view of this.views) {
      if (view === except) continue;
      for (const handler of view) {
        try {
          handler(notice);
        } catch (err) {
          this.#log.warn({ err, type: notice.type }, 'a bus handler failed');
        }
      }
    }
  }
}

/**
 * Sends notices with NOTIFY, in statements of their own that write nothing, so each holds the
 * database's notification lock only for a moment. While one statement is out, further notices
 * gather and leave together in the next, in the order they were handed in.
 */
export class Notifier {
  readonly #db: Db;
  readonly #log: Log;
  #queue: object[] = [];
  #sending = false;

  constructor(db: Db, log: Log) {
    this.#db = db;
    this.#log = log;
  }

  send(notices: object[]): void {
    this.#queue.push(...notices);
    if (this.#sending || this.#queue.length === 0) return;
    this.#sending = true;
    void (async () => {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        const payloads = JSON.stringify(batch.map((n) => JSON.stringify(n)));
        try {
          await rows(
            this.#db,
            sql`select pg_notify(${CHANNEL}, n) from jsonb_array_elements_text(${payloads}::jsonb) as n`,
          );
        } catch (err) {
          this.#log.warn({ err, notices: batch.length }, 'realtime notices were not sent');
        }
      }
      this.#sending = false;
    })();
  }
}

async function listenPostgres(pool: pg.Pool, onPayload: (payload: string | undefined) => void) {
  const listener = await pool.connect();
  listener.on('notification', (msg) => {
    if (msg.channel === CHANNEL) onPayload(msg.payload);
  });
  await listener.query(`set application_name = '${SESSION_NAME}'`);
  await listener.query(`listen ${CHANNEL}`);
  const { rows: self } = await listener.query<{ pid: number }>('select pg_backend_pid() as pid');
  return {
    pid: self[0]!.pid,
    // Closed rather than returned to the pool, where it would still count as a listening node.
    stop: async () => listener.release(true),
  };
}

async function listenPglite(pglite: PGlite, onPayload: (payload: string | undefined) => void) {
  const unlisten = await pglite.listen(CHANNEL, onPayload);
  return async () => {
    if (!pglite.closed) await unlisten();
  };
}
