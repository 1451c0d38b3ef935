/**
 * Runs one IMAP poller (email.imap.ts) per active email channel with a mailbox, on whichever app
 * node holds that mailbox's lease. Mail goes through storeInbound into inbound_emails, exactly as
 * SMTP mail does (large messages as files in the raw mail store), so the same processor turns it
 * into cases; the poller marks or moves a message only after that commit. Channel changes reach
 * every node as channel events: the poller is stopped, restarted with the new settings, or left
 * stopped; a periodic pass catches anything a missed notice left behind and renews the leases.
 */
import type { Db } from '../../db/client.ts';
import type { Bus } from '../../realtime/bus.ts';
import type { ChannelRow } from '../channels/channels.queries.ts';
import { listImapChannels } from '../channels/channels.queries.ts';
import { imapConnection, imapMailboxKey, storedImap } from '../channels/channels.service.ts';
import {
  createImapPoller,
  errorText,
  type ImapDelivery,
  type ImapLog,
  type ImapPoller,
} from './email.imap.ts';
import {
  claimMailbox,
  databaseCheckpoints,
  type MailboxRef,
  recordPoll,
  releaseMailbox,
  storeOversized,
} from './email.imap-store.ts';
import { type RawMailStore, storeInbound } from './email.inbound.ts';

export interface ImapChannelsOptions {
  db: Db;
  rawMail: RawMailStore;
  /** deriveKey(app secret, 'channel-secrets'): opens the stored mailbox passwords. */
  secretKey: Buffer;
  log: ImapLog;
  /** This node's name in leases: stable across restarts so a restarted node takes its mailboxes back at once. */
  nodeId: string;
  /** Pause between rounds of one mailbox (RAPPORT_IMAP_POLL_SECONDS). */
  intervalMs: number;
  /** Larger messages are not downloaded but quarantined as a note (the SMTP size limit). */
  maxMessageBytes: number;
  /** Channel events arrive here; null: only the periodic pass notices changes. */
  bus?: Bus | null;
  /** A message was stored: wake the processor. */
  onStored?: () => void;
  /** How often leases are renewed and channels re-read; 15 s by default. */
  reconcileMs?: number;
  /** A lease not renewed for this long is free for another node; 60 s by default. */
  leaseMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface ImapChannels {
  start(): void;
  /** Re-reads the channels now; resolves once pollers were started and stopped to match. */
  reconcile(): Promise<void>;
  /** Channel ids this node polls now. */
  polling(): string[];
  stop(): Promise<void>;
}

interface Running {
  ref: MailboxRef;
  /** What the poller was started with; another value means restart. */
  fingerprint: string;
  poller: ImapPoller | null;
}

export function createImapChannels(options: ImapChannelsOptions): ImapChannels {
  const { db, log, nodeId } = options;
  const reconcileMs = options.reconcileMs ?? 15_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const running = new Map<string, Running>();
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;
  let stopped = false;
  // One pass at a time; a request during a pass runs one more pass after it.
  let pass: Promise<void> | null = null;
  let again = false;

  const refOf = (row: ChannelRow): MailboxRef => ({
    tenantId: row.tenantId,
    channelId: row.id,
    folder: storedImap(row.settings)!.folder,
  });
  const fingerprintOf = (row: ChannelRow) =>
    JSON.stringify([(row.settings as { imap?: unknown }).imap, row.imapPassword, row.address]);

  async function stopOne(channelId: string, release: boolean) {
    const entry = running.get(channelId);
    if (!entry) return;
    running.delete(channelId);
    await entry.poller?.stop();
    if (release) await releaseMailbox(db, entry.ref, nodeId).catch(() => {});
  }

  function startOne(row: ChannelRow, ref: MailboxRef): Running {
    const entry: Running = { ref, fingerprint: fingerprintOf(row), poller: null };
    let connection: ReturnType<typeof imapConnection>;
    try {
      connection = imapConnection(options.secretKey, row);
    } catch (err) {
      // Shown on the channel; tried again only once the channel changes.
      const message = errorText(err);
      log.warn({ tenantId: row.tenantId, channelId: row.id, err: message }, 'imap mailbox not polled');
      void recordPoll(db, ref, message).catch(() => {});
      return entry;
    }
    const deliver = async (message: ImapDelivery) => {
      if (message.raw === null) {
        await storeOversized(db, { tenantId: row.tenantId, channelId: row.id, ...message });
        log.warn(
          { channelId: row.id, uid: message.uid, size: message.size },
          'imap message over the size limit quarantined',
        );
      } else {
        await storeInbound(db, options.rawMail, {
          channel: row,
          source: 'imap',
          raw: message.raw,
          envelopeFrom: null,
          envelopeTo: row.address ? [row.address] : [],
        });
      }
      options.onStored?.();
    };
    entry.poller = createImapPoller({
      mailboxes: [connection],
      checkpoints: databaseCheckpoints(db, ref, nodeId, leaseMs),
      deliver,
      intervalMs: options.intervalMs,
      backoff: options.backoff,
      log,
      poll: { maxMessageBytes: options.maxMessageBytes },
      onRound: (round) => {
        void recordPoll(db, ref, round.error ? round.error.message : null).catch((err) =>
          log.warn({ channelId: row.id, err: errorText(err) }, 'imap poll status not recorded'),
        );
      },
    });
    return entry;
  }

  async function reconcileOnce() {
    const rows = await listImapChannels(db);
    const wanted = new Map(rows.map((r) => [r.id, r]));
    for (const [channelId, entry] of running) {
      const row = wanted.get(channelId);
      if (!row || fingerprintOf(row) !== entry.fingerprint) {
        await stopOne(channelId, true);
      }
    }
    for (const row of rows) {
      if (stopped) return;
      const ref = refOf(row);
      const imap = storedImap(row.settings)!;
      const held = await claimMailbox(db, ref, imapMailboxKey(imap), nodeId, leaseMs);
      if (!held) {
        // Another node polls it (or took it over while this one stalled).
        await stopOne(row.id, false);
        continue;
      }
      if (!running.has(row.id)) running.set(row.id, startOne(row, ref));
    }
  }

  function reconcile(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (pass) {
      again = true;
      return pass;
    }
    pass = (async () => {
      do {
        again = false;
        try {
          await reconcileOnce();
        } catch (err) {
          log.warn({ err: errorText(err) }, 'imap channels could not be read; running pollers keep going');
        }
      } while (again && !stopped);
    })().finally(() => {
      pass = null;
    });
    return pass;
  }

  return {
    start() {
      if (timer || stopped) return;
      unsubscribe =
        options.bus?.subscribe((notice) => {
          if (notice.type === 'channel.created' || notice.type === 'channel.updated') void reconcile();
        }) ?? null;
      const tick = () => {
        timer = setTimeout(() => void reconcile().finally(() => !stopped && tick()), reconcileMs);
        timer.unref();
      };
      void reconcile();
      tick();
    },
    reconcile,
    polling: () => [...running.entries()].filter(([, e]) => e.poller).map(([id]) => id),
    async stop() {
      stopped = true;
      unsubscribe?.();
      if (timer) clearTimeout(timer);
      await pass;
      await Promise.all([...running.keys()].map((id) => stopOne(id, true)));
    },
  };
}
