/**
 * The loop of a leasing sender (the email outbox, platform reply deliveries): rows queued in a
 * transaction are leased by the caller's `claim` and handed to its `deliver` after commit. A kick
 * after such a commit wakes it; a timer finds what no kick announced (another node's commit, a
 * back-off or a crashed node's lease that ran out).
 *
 * `claim` counts the attempt and pushes the row's next attempt past the lease before anything is
 * sent, so a crash after the far side accepted and before the outcome was recorded sends the row
 * once more when the lease runs out: at least once, at most one resend per crash (CR-03).
 */

const MINUTE = 60_000;

/** Waits after the 1st, 2nd, … failed attempt; one more failure after the last is final. */
export const BACKOFF_MS = [1 * MINUTE, 5 * MINUTE, 30 * MINUTE, 120 * MINUTE, 360 * MINUTE] as const;

/**
 * When a row whose `attempts`-th attempt (counted by the lease) failed for now is due again;
 * null once the back-off is used up and the row has failed for good.
 */
export function retryAt(attempts: number, backoff: readonly number[], now: Date): Date | null {
  if (attempts > backoff.length) return null;
  return new Date(now.getTime() + backoff[Math.max(attempts, 1) - 1]!);
}

/** What became of one leased row. */
export type Outcome = 'sent' | 'retried' | 'failed';

export type DrainResult = Record<Outcome, number>;

export interface LeasedSender {
  /** Look for due rows soon (after a commit that queued some). */
  kick(): void;
  /** Sends everything due now; resolves when done. Concurrent calls share one run. */
  drain(): Promise<DrainResult>;
  start(): void;
  /** No new rounds; resolves when the running one has finished. */
  stop(): Promise<void>;
}

export interface LeasedSenderOptions<Row> {
  log: { error(obj: object, msg: string): void };
  /** Names the rows in the log line of a round that stopped early ("email outbox"). */
  name: string;
  /** Leases up to `limit` rows due at `now`. */
  claim(now: Date, limit: number): Promise<Row[]>;
  /** Sends one leased row and records the outcome on it. */
  deliver(row: Row): Promise<Outcome>;
  now: () => Date;
  /** How often due rows are looked for without a kick (default 5 s). */
  pollMs?: number;
  batchSize?: number;
  /** A batch's rows one after another rather than all at once. */
  oneAtATime?: boolean;
}

export function createLeasedSender<Row>(options: LeasedSenderOptions<Row>): LeasedSender {
  const { log } = options;
  const batchSize = options.batchSize ?? 20;
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopped = false;
  let current: Promise<DrainResult> = Promise.resolve({ sent: 0, retried: 0, failed: 0 });
  let pending: Promise<DrainResult> | null = null;

  async function drainOnce(): Promise<DrainResult> {
    const result: DrainResult = { sent: 0, retried: 0, failed: 0 };
    const deliver = async (row: Row) => {
      result[await options.deliver(row)]++;
    };
    try {
      while (!stopped) {
        const batch = await options.claim(options.now(), batchSize);
        if (options.oneAtATime) for (const row of batch) await deliver(row);
        else await Promise.all(batch.map(deliver));
        if (batch.length < batchSize) break;
      }
    } catch (err) {
      log.error({ err }, `${options.name}: sending stopped early; retrying on the next round`);
    }
    return result;
  }

  // One round at a time; calls while one runs share the next (it sees what they were called for).
  function drain(): Promise<DrainResult> {
    if (pending) return pending;
    const next = current.then(() => {
      pending = null;
      return drainOnce();
    });
    pending = next;
    current = next;
    return next;
  }

  return {
    kick() {
      if (!stopped) void drain();
    },
    drain,
    start() {
      if (timer || stopped) return;
      timer = setInterval(() => void drain(), options.pollMs ?? 5_000);
      timer.unref();
      void drain();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
      await current.catch(() => {});
    },
  };
}
