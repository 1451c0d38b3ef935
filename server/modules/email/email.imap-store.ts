/**
 * What the IMAP pollers keep in the database (imap_mailboxes): checkpoints, so a restart resumes
 * exactly where the last committed page ended; the lease that lets one app node poll a mailbox
 * while others on the same database leave it alone; and the last round's outcome the channel
 * shows. Also the quarantine note for a message too big to fetch.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { imapMailboxes, inboundEmails } from '../../db/schema/index.ts';
import type { Checkpoints } from './email.imap.ts';

/** One channel's mailbox row: tenant, channel and the folder it reads. */
export interface MailboxRef {
  tenantId: string;
  channelId: string;
  folder: string;
}

const where = (ref: MailboxRef) =>
  and(
    eq(imapMailboxes.tenantId, ref.tenantId),
    eq(imapMailboxes.channelId, ref.channelId),
    eq(imapMailboxes.folder, ref.folder),
  );

const leaseEnd = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;

/**
 * Takes or renews the lease on a mailbox for `owner`; true when `owner` holds it now. A lease
 * another node renewed within `leaseMs` is left alone. `mailboxKey` names the mailbox the
 * channel reads into this folder now.
 */
export async function claimMailbox(
  db: Db,
  ref: MailboxRef,
  mailboxKey: string,
  owner: string,
  leaseMs: number,
): Promise<boolean> {
  const same = sql`${imapMailboxes.mailboxKey} = excluded.mailbox_key`;
  const rows = await db
    .insert(imapMailboxes)
    .values({ ...ref, mailboxKey, leaseOwner: owner, leaseUntil: leaseEnd(leaseMs) })
    .onConflictDoUpdate({
      target: [imapMailboxes.tenantId, imapMailboxes.channelId, imapMailboxes.folder],
      set: {
        leaseOwner: owner,
        leaseUntil: leaseEnd(leaseMs),
        // The channel now names another mailbox for this folder: its checkpoint and status start over.
        mailboxKey: sql`excluded.mailbox_key`,
        uidValidity: sql`case when ${same} then ${imapMailboxes.uidValidity} end`,
        lastUid: sql`case when ${same} then ${imapMailboxes.lastUid} else 0 end`,
        polledAt: sql`case when ${same} then ${imapMailboxes.polledAt} end`,
        pollError: sql`case when ${same} then ${imapMailboxes.pollError} end`,
        lastSuccessAt: sql`case when ${same} then ${imapMailboxes.lastSuccessAt} end`,
        failures: sql`case when ${same} then ${imapMailboxes.failures} else 0 end`,
      },
      setWhere: sql`${imapMailboxes.leaseOwner} = ${owner} or ${imapMailboxes.leaseOwner} is null or ${imapMailboxes.leaseUntil} < now()`,
    })
    .returning({ owner: imapMailboxes.leaseOwner });
  return rows.length > 0;
}

/** Lets another node take the mailbox at once (on stop, or when the channel stops polling). */
export async function releaseMailbox(db: Db, ref: MailboxRef, owner: string): Promise<void> {
  await db
    .update(imapMailboxes)
    .set({ leaseOwner: null, leaseUntil: null })
    .where(and(where(ref), eq(imapMailboxes.leaseOwner, owner)));
}

/**
 * Checkpoints of one channel's mailbox in its row. A save also renews the lease and fails once
 * another node has taken the mailbox over, which ends this node's round.
 */
export function databaseCheckpoints(db: Db, ref: MailboxRef, owner: string, leaseMs: number): Checkpoints {
  return {
    async load(key) {
      const [row] = await db
        .select({
          mailboxKey: imapMailboxes.mailboxKey,
          uidValidity: imapMailboxes.uidValidity,
          lastUid: imapMailboxes.lastUid,
        })
        .from(imapMailboxes)
        .where(where(ref));
      // Another mailbox read into this folder before (host or user changed): start over.
      if (!row || row.mailboxKey !== key || row.uidValidity === null) return null;
      return { uidValidity: row.uidValidity, lastUid: row.lastUid };
    },
    async save(key, value) {
      const saved = await db
        .update(imapMailboxes)
        .set({
          mailboxKey: key,
          uidValidity: value.uidValidity,
          lastUid: value.lastUid,
          leaseUntil: leaseEnd(leaseMs),
          updatedAt: sql`now()`,
        })
        .where(and(where(ref), eq(imapMailboxes.leaseOwner, owner)))
        .returning({ lastUid: imapMailboxes.lastUid });
      if (saved.length === 0) throw new Error('another node has taken over polling this mailbox');
    },
  };
}

/** Records how a round ended, for the channel's status. */
export async function recordPoll(db: Db, ref: MailboxRef, error: string | null): Promise<void> {
  await db
    .update(imapMailboxes)
    .set({
      polledAt: sql`now()`,
      pollError: error === null ? null : error.slice(0, 500),
      ...(error === null
        ? { failures: 0, lastSuccessAt: sql`now()` }
        : { failures: sql`${imapMailboxes.failures} + 1` }),
    })
    .where(where(ref));
}

/**
 * A message over the size limit is not downloaded: a quarantined row says where it is, so an
 * admin sees it (Settings → Quarantine) and the mailbox moves on. Recorded once per UID.
 */
export async function storeOversized(
  db: Db,
  message: {
    tenantId: string;
    channelId: string;
    mailboxKey: string;
    uidValidity: string;
    uid: number;
    size: number;
  },
): Promise<void> {
  const where = `${message.mailboxKey} UIDVALIDITY ${message.uidValidity} UID ${message.uid}`;
  // No From: reprocessing the note can never open a case; the subject says what happened.
  const note = Buffer.from(
    `Subject: Left on the IMAP server: a message of ${message.size} bytes, over the size limit\r\n\r\n${where}\r\n`,
  );
  await db
    .insert(inboundEmails)
    .values({
      tenantId: message.tenantId,
      channelId: message.channelId,
      source: 'imap',
      dedupeKey: `imap-oversized:${where}`,
      raw: note,
      size: message.size,
      envelopeTo: [],
      status: 'quarantined',
      reason: `oversized: ${message.size} bytes, over the size limit; left on the server (${where})`,
    })
    .onConflictDoNothing({
      target: [inboundEmails.tenantId, inboundEmails.channelId, inboundEmails.dedupeKey],
    });
}
