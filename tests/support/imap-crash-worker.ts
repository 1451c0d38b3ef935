/**
 * The IMAP poller as a process a test can kill -9 (SECURITY.md CR-01). Polls one mailbox until
 * a round finds nothing new, then exits 0. Stands in for the database with two files:
 *  - deliveries: one line per stored message, appended and fsynced before `deliver` resolves
 *    (the commit); a (mailbox, UIDVALIDITY, UID) already there is acknowledged and not stored
 *    again, as the real intake dedupes;
 *  - checkpoints: JSON, replaced atomically (write, fsync, rename).
 * Redeliveries of stored messages are counted in `<deliveries>.again`, for the test's report.
 *
 * Arguments in the environment (they hold a password): IMAP_WORKER = JSON of WorkerArgs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  type Checkpoints,
  type ImapCheckpoint,
  type ImapMailboxConfig,
  pollMailbox,
} from '../../server/modules/email/email.imap.ts';

interface WorkerArgs {
  mailbox: ImapMailboxConfig;
  deliveries: string;
  checkpoints: string;
  pageSize: number;
}

const args = JSON.parse(process.env.IMAP_WORKER ?? '') as WorkerArgs;

function deliveryKey(mailboxKey: string, uidValidity: string, uid: number) {
  return `${mailboxKey} ${uidValidity} ${uid}`;
}

/** Complete lines only: a kill can land after a write and before the next. */
function readDeliveries(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines;
}

function fileCheckpoints(file: string): Checkpoints {
  const read = (): Record<string, ImapCheckpoint> =>
    fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  return {
    async load(key) {
      return read()[key] ?? null;
    },
    async save(key, value) {
      const all = { ...read(), [key]: value };
      const tmp = `${file}.tmp`;
      const fd = fs.openSync(tmp, 'w');
      fs.writeSync(fd, JSON.stringify(all));
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, file);
      const dir = fs.openSync(path.dirname(file), 'r');
      fs.fsyncSync(dir);
      fs.closeSync(dir);
    },
  };
}

async function main() {
  const stored = new Set(
    readDeliveries(args.deliveries).map((line) => line.split(' ').slice(0, 3).join(' ')),
  );
  const out = fs.openSync(args.deliveries, 'a');
  const checkpoints = fileCheckpoints(args.checkpoints);
  for (;;) {
    process.stdout.write('polling\n');
    const result = await pollMailbox(
      args.mailbox,
      checkpoints,
      async (message) => {
        const key = deliveryKey(message.mailboxKey, message.uidValidity, message.uid);
        // The test picks its kill moments from these lines.
        process.stdout.write(`deliver ${message.uid}\n`);
        if (stored.has(key)) {
          fs.appendFileSync(`${args.deliveries}.again`, `${key}\n`);
          return;
        }
        const sha = createHash('sha256')
          .update(message.raw ?? '')
          .digest('hex');
        fs.writeSync(out, `${key} ${sha}\n`);
        fs.fsyncSync(out);
        stored.add(key);
      },
      { pageSize: args.pageSize },
    );
    if (result.delivered === 0) break;
  }
  process.stdout.write('done\n');
}

await main();
