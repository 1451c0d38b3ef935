/**
 * The inbound SMTP listener as a process a test can kill -9 (SECURITY.md CR-02), on a PGlite
 * data directory or PostgreSQL. Creates its tenant and channel on first start. Writes to stdout:
 *  - `listening <port>` once it accepts mail;
 *  - `stored` after each message is committed, before the 250 is sent; the process then stalls
 *    for `holdMs` so that the test's kill lands in that window, not after the 250;
 *  - with `process`, `processed` each time the inbound processor has taken every stored message.
 * Large messages go to the raw mail store in `<mailDir>/mail`, attachments to `<mailDir>/attachments`.
 *
 * Arguments in the environment: SMTP_WORKER = JSON of WorkerArgs.
 */
import path from 'node:path';
import { openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { findEmailChannelByAddress } from '../../server/modules/channels/channels.queries.ts';
import { createChannel } from '../../server/modules/channels/channels.service.ts';
import { createFileStore } from '../../server/modules/email/email.attachments.ts';
import { createInboundProcessor } from '../../server/modules/email/email.process.ts';
import { createSmtpListener } from '../../server/modules/email/email.smtp.ts';
import { createTenant } from '../../server/modules/tenants/tenants.service.ts';

interface WorkerArgs {
  databaseUrl: string | null;
  dataDir: string | null;
  /** Where the file stores live (on both engines). */
  mailDir: string;
  /** Also run the inbound processor, as the server does. */
  process?: boolean;
  port: number;
  address: string;
  slug: string;
  /** Size limit of the listener (1 MiB by default). */
  maxBytes?: number;
  /** How long the process stalls after each commit, before the 250 (ms; 0 = not at all). */
  holdMs?: number;
}

const args = JSON.parse(process.env.SMTP_WORKER ?? '') as WorkerArgs;
const database = await openDatabase({ url: args.databaseUrl, dataDir: args.dataDir });
await migrate(database);
if (!(await findEmailChannelByAddress(database.db, args.address))) {
  const tenant = await createTenant(database.db, { slug: args.slug, name: 'Crash Test Broadband' });
  await createChannel(database.db, tenant.id, { type: 'email', name: 'Support', address: args.address });
}
const quiet = { info() {}, warn() {}, error() {} };
const rawMail = createFileStore(path.join(args.mailDir, 'mail'));
const processor = args.process
  ? createInboundProcessor({
      db: database.db,
      log: quiet,
      secret: Buffer.alloc(32, 1),
      store: createFileStore(path.join(args.mailDir, 'attachments')),
      rawMail,
    })
  : null;
const listener = createSmtpListener({
  db: database.db,
  rawMail,
  log: quiet,
  host: '127.0.0.1',
  port: args.port,
  maxBytes: args.maxBytes ?? 1024 * 1024,
  onStored: () => {
    process.stdout.write('stored\n');
    if (args.holdMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, args.holdMs);
    processor?.drain().then(() => process.stdout.write('processed\n'));
  },
});
const { port } = await listener.listen();
process.stdout.write(`listening ${port}\n`);
