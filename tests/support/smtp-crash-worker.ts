/**
 * The inbound SMTP listener as a process a test can kill -9 (SECURITY.md CR-02), on a PGlite
 * data directory or PostgreSQL. Creates its tenant and channel on first start. Writes to stdout:
 *  - `listening <port>` once it accepts mail;
 *  - `stored` after each message is committed, before the 250 is sent; the process then stalls
 *    for `holdMs` so that the test's kill lands in that window, not after the 250.
 *
 * Arguments in the environment: SMTP_WORKER = JSON of WorkerArgs.
 */
import { openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { findEmailChannelByAddress } from '../../server/modules/channels/channels.queries.ts';
import { createChannel } from '../../server/modules/channels/channels.service.ts';
import { createSmtpListener } from '../../server/modules/email/email.smtp.ts';
import { createTenant } from '../../server/modules/tenants/tenants.service.ts';

interface WorkerArgs {
  databaseUrl: string | null;
  dataDir: string | null;
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
const quiet = { info() {}, warn() {} };
const listener = createSmtpListener({
  db: database.db,
  log: quiet,
  host: '127.0.0.1',
  port: args.port,
  maxBytes: args.maxBytes ?? 1024 * 1024,
  onStored: () => {
    process.stdout.write('stored\n');
    if (args.holdMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, args.holdMs);
  },
});
const { port } = await listener.listen();
process.stdout.write(`listening ${port}\n`);
