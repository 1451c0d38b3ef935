/**
 * IMAP polling for mailboxes hosted elsewhere (imapflow). A round reads every message above the
 * mailbox's checkpoint (UIDVALIDITY + last UID) in UID order, hands each raw message to
 * `deliver`, and only after `deliver` resolved (the message is committed) marks it \Seen or moves
 * it, then advances the checkpoint. A crash anywhere therefore loses nothing; it can only make
 * the next round deliver a message again, which the deliver step dedupes by
 * (mailbox, UIDVALIDITY, UID). Knows nothing of the database: checkpoints and delivery are given.
 */

import { ImapFlow } from 'imapflow';
import ipaddr from 'ipaddr.js';
import { resolveEgress } from '../../lib/egress.ts';

export interface ImapMailboxConfig {
  /** Stable name of the mailbox for checkpoints and logs; `imap://user@host:port/mailbox` by default. */
  key?: string;
  host: string;
  port: number;
  /** TLS from the first byte (993); when false, STARTTLS is required unless `plaintext` is set. */
  secure: boolean;
  /**
   * Allow the password over an unencrypted connection when the server offers no STARTTLS. Only
   * for a server on loopback or a trusted network: a man in the middle can strip the offer.
   */
  plaintext?: boolean;
  user: string;
  password: string;
  /** Folder to read; INBOX by default. */
  mailbox?: string;
  /** Move delivered messages to this folder (created if missing) instead of marking them \Seen. */
  moveTo?: string;
}

export interface ImapCheckpoint {
  /** The mailbox's UIDVALIDITY when `lastUid` was delivered; a different one means start over. */
  uidValidity: string;
  /** Every message up to this UID was delivered and marked. */
  lastUid: number;
}

export interface Checkpoints {
  load(key: string): Promise<ImapCheckpoint | null>;
  save(key: string, value: ImapCheckpoint): Promise<void>;
}

interface DeliveryBase {
  mailboxKey: string;
  uidValidity: string;
  uid: number;
  /** Size in bytes as the server reports it. */
  size: number;
}

/** One message for `deliver`; an oversized one comes without its bytes, to be quarantined. */
export type ImapDelivery =
  | (DeliveryBase & { raw: Buffer; reason?: undefined })
  | (DeliveryBase & { raw: null; reason: 'oversized' });

/** Resolves only once the message is durably stored; throwing stops the round at that message. */
export type Deliver = (message: ImapDelivery) => Promise<void>;

/** The subset of a pino/Fastify logger the poller writes to. */
export interface ImapLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PollOptions {
  /** Messages fetched per page (one FETCH of sizes, then of sources); 50 by default. */
  pageSize?: number;
  /** Bytes of message sources held per page; a page always takes at least one message. 32 MiB by default. */
  maxPageBytes?: number;
  /** Bigger messages are delivered as an `oversized` marker without being downloaded. 50 MiB by default. */
  maxMessageBytes?: number;
  /** Ends the round after the message being delivered (its marks and checkpoint are still written). */
  signal?: AbortSignal;
  log?: ImapLog;
  /** Milliseconds to establish the connection; 30 s by default. */
  connectTimeoutMs?: number;
  /** Milliseconds of silence on an open connection before it is dropped; 5 min by default. */
  socketTimeoutMs?: number;
}

export interface PollResult {
  mailboxKey: string;
  uidValidity: string;
  lastUid: number;
  delivered: number;
  /** The stored checkpoint was for another UIDVALIDITY (or missing): read from UID 1. */
  fromStart: boolean;
  /** The signal ended the round early; the rest comes next round. */
  aborted: boolean;
}

/** `deliver` failed: the message at `uid` stays unmarked and is offered again next round. */
export class ImapDeliverError extends Error {
  readonly mailboxKey: string;
  readonly uid: number;
  constructor(mailboxKey: string, uid: number, cause: unknown) {
    super(`${mailboxKey}: delivering UID ${uid} failed: ${errorText(cause)}`, { cause });
    this.name = 'ImapDeliverError';
    this.mailboxKey = mailboxKey;
    this.uid = uid;
  }
}

export const IMAP_DEFAULTS = {
  pageSize: 50,
  maxPageBytes: 32 * 1024 * 1024,
  maxMessageBytes: 50 * 1024 * 1024,
  connectTimeoutMs: 30_000,
  socketTimeoutMs: 5 * 60_000,
};

export function mailboxKey(config: ImapMailboxConfig): string {
  return config.key ?? `imap://${config.user}@${config.host}:${config.port}/${config.mailbox ?? 'INBOX'}`;
}

/**
 * One line for logs: the message plus what the server answered and the error code. Built from
 * chosen fields rather than the whole error object, which may hold the client and its options.
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { responseText, serverResponseCode, code } = err as {
    responseText?: unknown;
    serverResponseCode?: unknown;
    code?: unknown;
  };
  let text = err.message;
  if (typeof responseText === 'string' && responseText && !text.includes(responseText))
    text += `: ${responseText}`;
  for (const c of [serverResponseCode, code]) {
    if (typeof c === 'string' && c && !text.includes(c)) text += ` [${c}]`;
  }
  return text;
}

/** Checkpoints kept in this process only, for tests and one-off runs. */
export function memoryCheckpoints(): Checkpoints & { entries: Map<string, ImapCheckpoint> } {
  const entries = new Map<string, ImapCheckpoint>();
  return {
    entries,
    async load(key) {
      const value = entries.get(key);
      return value ? { ...value } : null;
    },
    async save(key, value) {
      entries.set(key, { ...value });
    },
  };
}

/**
 * One round for one mailbox: connect, deliver everything new in UID order, mark, checkpoint,
 * log out. Throws on connection, authentication and IMAP errors, and ImapDeliverError when
 * `deliver` throws; what was delivered before that is marked and checkpointed first.
 */
export async function pollMailbox(
  config: ImapMailboxConfig,
  checkpoints: Checkpoints,
  deliver: Deliver,
  options: PollOptions = {},
): Promise<PollResult> {
  const key = mailboxKey(config);
  const pageSize = Math.max(1, options.pageSize ?? IMAP_DEFAULTS.pageSize);
  const maxPageBytes = options.maxPageBytes ?? IMAP_DEFAULTS.maxPageBytes;
  const maxMessageBytes = options.maxMessageBytes ?? IMAP_DEFAULTS.maxMessageBytes;
  const signal = options.signal;

  // SS-01 at connect time: the checked address, not the name, so DNS cannot change its answer.
  const target = await resolveEgress(config.host);
  const client = new ImapFlow({
    host: target.address,
    servername: ipaddr.isValid(target.host) ? undefined : target.host,
    port: config.port,
    secure: config.secure,
    doSTARTTLS: config.secure || config.plaintext ? undefined : true,
    auth: { user: config.user, pass: config.password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: options.connectTimeoutMs ?? IMAP_DEFAULTS.connectTimeoutMs,
    socketTimeout: options.socketTimeoutMs ?? IMAP_DEFAULTS.socketTimeoutMs,
    clientInfo: { name: 'Rapport' },
  });
  // Without a listener a dropped socket would be an unhandled 'error' event and end the process;
  // the command in flight rejects as well, and that is what ends the round.
  let socketError: unknown = null;
  client.on('error', (err: unknown) => {
    socketError = err;
  });
  // On abort, a round waiting on the server is cut off at once; one between deliver and its
  // marks finishes them first (else that page would be delivered again next round).
  let delivering = false;
  const onAbort = () => {
    if (!delivering) client.close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let result: PollResult | null = null;

  try {
    await client.connect();
    const box = await client.mailboxOpen(config.mailbox ?? 'INBOX');
    const uidValidity = String(box.uidValidity);
    const stored = await checkpoints.load(key);
    const fromStart = stored?.uidValidity !== uidValidity;
    let lastUid = fromStart ? 0 : stored.lastUid;
    if (fromStart) {
      if (stored)
        options.log?.info(
          { mailbox: key, was: stored.uidValidity, now: uidValidity },
          'imap uidvalidity changed: reading from the start',
        );
      await checkpoints.save(key, { uidValidity, lastUid: 0 });
    }
    if (config.moveTo) await client.mailboxCreate(config.moveTo);

    result = { mailboxKey: key, uidValidity, lastUid, delivered: 0, fromStart, aborted: false };
    // "n:*" also matches the highest UID when it is below n (RFC 3501 6.4.8): filter it out.
    const found = await client.search({ uid: `${lastUid + 1}:*` }, { uid: true });
    const uids = (found || []).filter((uid) => uid > lastUid).sort((a, b) => a - b);

    for (let start = 0; start < uids.length && !signal?.aborted; start += pageSize) {
      const window = uids.slice(start, start + pageSize);
      const sizes = new Map<number, number>();
      for (const m of await client.fetchAll(window, { uid: true, size: true }, { uid: true })) {
        sizes.set(m.uid, m.size ?? 0);
      }
      // UIDs missing here were expunged by someone else since the search: nothing to deliver.
      const present = window.filter((uid) => sizes.has(uid));

      // Split the window so no more than maxPageBytes of sources are held at once.
      let i = 0;
      while (i < present.length && !signal?.aborted) {
        const page: number[] = [];
        let bytes = 0;
        while (i < present.length) {
          const uid = present[i]!;
          const size = sizes.get(uid)!;
          const cost = size > maxMessageBytes ? 0 : size;
          if (page.length > 0 && bytes + cost > maxPageBytes) break;
          page.push(uid);
          bytes += cost;
          i++;
        }
        const wanted = page.filter((uid) => sizes.get(uid)! <= maxMessageBytes);
        const sources = new Map<number, Buffer>();
        if (wanted.length > 0) {
          for (const m of await client.fetchAll(wanted, { uid: true, source: true }, { uid: true })) {
            if (m.source) sources.set(m.uid, m.source);
          }
        }

        if (signal?.aborted) break;
        delivering = true;
        const done: number[] = [];
        let failure: Error | null = null;
        for (const uid of page) {
          if (signal?.aborted) break;
          const size = sizes.get(uid)!;
          const raw = sources.get(uid);
          if (size <= maxMessageBytes && !raw) {
            // Most likely expunged since the size fetch, but never skip what was not delivered:
            // the round ends here and the next one no longer finds it if it is really gone.
            failure = new Error(`UID ${uid} came back without content`);
            break;
          }
          const message: ImapDelivery =
            raw === undefined
              ? { mailboxKey: key, uidValidity, uid, size, raw: null, reason: 'oversized' }
              : { mailboxKey: key, uidValidity, uid, size, raw };
          try {
            await deliver(message);
          } catch (err) {
            failure = new ImapDeliverError(key, uid, err);
            break;
          }
          sources.delete(uid);
          done.push(uid);
          result.delivered++;
        }

        // Marks and checkpoint only for what deliver confirmed, marks first: a crash between the
        // two redelivers (deduped) rather than leaving a delivered message unmarked for ever.
        if (done.length > 0) {
          if (config.moveTo) await client.messageMove(done, config.moveTo, { uid: true });
          else await client.messageFlagsAdd(done, ['\\Seen'], { uid: true });
          lastUid = done[done.length - 1]!;
          await checkpoints.save(key, { uidValidity, lastUid });
          result.lastUid = lastUid;
        }
        delivering = false;
        if (failure) throw failure;
      }
    }
    if (signal?.aborted) return { ...result, aborted: true };
    await client.logout();
    return result;
  } catch (err) {
    if (err instanceof ImapDeliverError) throw err;
    if (signal?.aborted && result) return { ...result, aborted: true };
    // A failed command often says only "Connection closed"; the socket's error says why.
    const why = socketError && socketError !== err ? ` (${errorText(socketError)})` : '';
    throw new Error(`${key}: ${errorText(err)}${why}`, { cause: err });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // After logout this is a no-op; after an error it drops the connection without waiting.
    client.close();
  }
}

export interface ImapPollerOptions {
  mailboxes: ImapMailboxConfig[];
  checkpoints: Checkpoints;
  deliver: Deliver;
  /** Pause between successful rounds of one mailbox, in milliseconds; 60 s by default. */
  intervalMs?: number;
  /** After a failed round: first pause, doubled per further failure up to maxMs. 5 s to 5 min by default. */
  backoff?: { initialMs?: number; maxMs?: number };
  log: ImapLog;
  poll?: Omit<PollOptions, 'signal' | 'log'>;
  /** Called after every round, for metrics and tests. */
  onRound?: (round: ImapRound) => void;
}

export interface ImapRound {
  mailboxKey: string;
  result: PollResult | null;
  error: Error | null;
  /** Milliseconds until this mailbox's next round. */
  nextInMs: number;
}

export interface ImapMailboxStatus {
  mailboxKey: string;
  running: boolean;
  /** Failed rounds in a row; 0 after a success. */
  failures: number;
  lastError: string | null;
  lastSuccessAt: Date | null;
  nextRoundAt: Date | null;
}

export interface ImapPoller {
  status(): ImapMailboxStatus[];
  /** Stops scheduling, ends running rounds after their current message, and waits for them. */
  stop(): Promise<void>;
}

/** Polls every mailbox on its own timer, one round at a time per mailbox, backing off on errors. */
export function createImapPoller(options: ImapPollerOptions): ImapPoller {
  const intervalMs = options.intervalMs ?? 60_000;
  const initialMs = options.backoff?.initialMs ?? 5_000;
  const maxMs = options.backoff?.maxMs ?? 5 * 60_000;
  const abort = new AbortController();
  let stopping = false;

  const loops = options.mailboxes.map((config) => {
    const state = {
      config,
      status: {
        mailboxKey: mailboxKey(config),
        running: false,
        failures: 0,
        lastError: null,
        lastSuccessAt: null,
        nextRoundAt: null,
      } as ImapMailboxStatus,
      timer: null as NodeJS.Timeout | null,
      round: null as Promise<void> | null,
    };
    const schedule = (delay: number) => {
      if (stopping) return;
      state.status.nextRoundAt = new Date(Date.now() + delay);
      state.timer = setTimeout(() => {
        state.timer = null;
        state.round = run();
      }, delay);
    };
    const run = async () => {
      const status = state.status;
      status.running = true;
      status.nextRoundAt = null;
      let result: PollResult | null = null;
      let error: Error | null = null;
      try {
        result = await pollMailbox(config, options.checkpoints, options.deliver, {
          ...options.poll,
          signal: abort.signal,
          log: options.log,
        });
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
      status.running = false;
      let next: number;
      if (error && stopping) {
        // The round was cut short by stop(): not a failure of the mailbox.
        return;
      }
      if (error) {
        status.failures++;
        status.lastError = error.message;
        next = Math.min(initialMs * 2 ** (status.failures - 1), maxMs);
        options.log.warn(
          { mailbox: status.mailboxKey, failures: status.failures, retryInMs: next, err: error.message },
          'imap poll failed',
        );
      } else {
        status.failures = 0;
        status.lastError = null;
        status.lastSuccessAt = new Date();
        next = intervalMs;
        if (result && result.delivered > 0) {
          options.log.info(
            { mailbox: status.mailboxKey, delivered: result.delivered, lastUid: result.lastUid },
            'imap poll',
          );
        }
      }
      try {
        options.onRound?.({ mailboxKey: status.mailboxKey, result, error, nextInMs: next });
      } catch (err) {
        options.log.warn({ mailbox: status.mailboxKey, err: errorText(err) }, 'imap onRound hook failed');
      }
      schedule(next);
    };
    schedule(0);
    return state;
  });

  return {
    status: () => loops.map((l) => ({ ...l.status })),
    async stop() {
      stopping = true;
      abort.abort();
      for (const l of loops) {
        if (l.timer) clearTimeout(l.timer);
        l.timer = null;
        l.status.nextRoundAt = null;
      }
      await Promise.allSettled(loops.map((l) => l.round));
    },
  };
}
