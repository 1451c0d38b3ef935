/**
 * Email end to end: messages sent by real SMTP clients over loopback to the server's inbound
 * listener, until each is a contact on a case. Half come from new senders (a new case), half are
 * replies of earlier senders with In-Reply-To/References to their first message (threaded); 1–20
 * KB of text, one in ten with a 40 KB attachment. Reported: SMTP acceptance (250s per second and
 * their latency) and end-to-end throughput (messages processed into cases per second, counted
 * until the backlog is drained), beside the raw intake baseline measured in the same run.
 *
 *   npm run bench -- email [--engines=postgres] [--seconds=10] [--warmup=2]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { openDatabase, rows, sql } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { createChannel } from '../server/modules/channels/channels.service.ts';
import { createTenant } from '../server/modules/tenants/tenants.service.ts';
import { freePort, startServerProcess } from '../tests/support/server-process.ts';
import { type Measurement, measure, postgresPids } from './lib/measure.ts';
import { rawAppendPglite, rawAppendPostgres } from './lib/raw-append.ts';
import { benchDatabase, benchOptions, type Engine, fmt, serverVersion, table } from './lib/setup.ts';

const options = benchOptions({ seconds: 10, warmup: 2 });
const CLIENTS = [4, 16];
const TARGET_PER_SECOND = 200;
const ADDRESS = 'support@bench-mail.example';

interface Cell {
  engine: Engine;
  clients: number;
  smtp: Measurement;
  /** Messages processed into cases per second, from the first send until the backlog drained. */
  endToEnd: number;
  drainSeconds: number;
  processed: number;
  quarantined: number;
  raw: Measurement;
}

const paragraph =
  'The connection drops every evening around seven and comes back ten minutes later. ' +
  'I have restarted the router and swapped the cable; the line test says there is no fault. ';

function message(from: string, subject: string, replyTo: string | null): { raw: Buffer; id: string } {
  const id = `${randomUUID()}@bench-customer.example`;
  const size = 1024 + Math.floor(Math.random() * 19 * 1024);
  const text = paragraph.repeat(Math.ceil(size / paragraph.length)).slice(0, size);
  const headers = [
    `From: Bench Customer <${from}>`,
    `To: ${ADDRESS}`,
    `Subject: ${replyTo ? `Re: ${subject}` : subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${id}>`,
    ...(replyTo ? [`In-Reply-To: <${replyTo}>`, `References: <${replyTo}>`] : []),
    'MIME-Version: 1.0',
  ];
  if (Math.random() < 0.1) {
    const boundary = `b-${randomUUID()}`;
    const attachment = randomBytes(40 * 1024)
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n');
    return {
      id,
      raw: Buffer.from(
        [
          ...headers,
          `Content-Type: multipart/mixed; boundary="${boundary}"`,
          '',
          `--${boundary}`,
          'Content-Type: text/plain; charset=utf-8',
          '',
          text,
          `--${boundary}`,
          'Content-Type: application/pdf; name="bill.pdf"',
          'Content-Disposition: attachment; filename="bill.pdf"',
          'Content-Transfer-Encoding: base64',
          '',
          attachment,
          `--${boundary}--`,
          '',
        ].join('\r\n'),
      ),
    };
  }
  return {
    id,
    raw: Buffer.from([...headers, 'Content-Type: text/plain; charset=utf-8', '', text, ''].join('\r\n')),
  };
}

async function counts(url: string | null, dataDir: string, db?: Awaited<ReturnType<typeof openDatabase>>) {
  const database = db ?? (await openDatabase({ url, dataDir: url ? null : dataDir }));
  try {
    const [row] = await rows<{ stored: number; processed: number; quarantined: number }>(
      database.db,
      sql`select count(*)::int as stored,
                 (count(*) filter (where status in ('processed', 'ignored')))::int as processed,
                 (count(*) filter (where status = 'quarantined'))::int as quarantined
          from inbound_emails`,
    );
    return row!;
  } finally {
    if (!db) await database.close();
  }
}

async function runEngine(engine: Engine): Promise<Cell[]> {
  if (engine === 'pglite') {
    // PGlite allows one process: the bench cannot watch the backlog while the server holds it.
    console.log('email bench: PostgreSQL only (the bench reads progress from a second process)');
    return [];
  }
  const bdb = await benchDatabase(engine, 'email');
  const rawDb = await benchDatabase('pglite', 'email-raw');
  const cells: Cell[] = [];
  const database = await openDatabase({ url: bdb.url, dataDir: null, poolSize: 2 });
  let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
  let raw: Awaited<ReturnType<typeof rawAppendPostgres>> | null = null;
  try {
    await migrate(database);
    const tenant = await createTenant(database.db, {
      slug: `bench-mail-${Date.now().toString(36)}`,
      name: 'Bench',
    });
    await createChannel(database.db, tenant.id, { type: 'email', name: 'Support', address: ADDRESS });
    raw = bdb.url
      ? await rawAppendPostgres(bdb.url, 20)
      : await rawAppendPglite(path.join(rawDb.dataDir, 'pg'));
    const smtpPort = await freePort();
    server = await startServerProcess({
      databaseUrl: bdb.url,
      dataDir: bdb.dataDir,
      env: { RAPPORT_SMTP: 'true', RAPPORT_SMTP_PORT: String(smtpPort) },
    });
    const serverPid = server.child.pid!;
    const watch = () => ({ server: [serverPid], bench: [process.pid], postgres: postgresPids() });

    /** Senders that wrote before, with their first message's id and subject: replies thread to it. */
    const earlier: { from: string; id: string; subject: string }[] = [];
    for (const clients of CLIENTS) {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: smtpPort,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: clients,
        maxMessages: Number.POSITIVE_INFINITY,
      });
      const send = async () => {
        const reply = earlier.length > 0 && Math.random() < 0.5;
        const thread = reply ? earlier[Math.floor(Math.random() * earlier.length)]! : null;
        const from = thread?.from ?? `c${randomUUID().slice(0, 12)}@bench-customer.example`;
        const subject = thread?.subject ?? `No broadband since ${Math.floor(Math.random() * 28) + 1} March`;
        const m = message(from, subject, thread?.id ?? null);
        await transport.sendMail({ envelope: { from, to: [ADDRESS] }, raw: m.raw });
        if (!thread) earlier.push({ from, id: m.id, subject });
      };
      const before = await counts(bdb.url, bdb.dataDir, database);
      const started = performance.now();
      const smtp = await measure({
        concurrency: clients,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        op: send,
        watch,
      });
      transport.close();
      // Wait for the backlog: every stored message processed (or quarantined).
      let after = await counts(bdb.url, bdb.dataDir, database);
      const deadline = performance.now() + 120_000;
      while (after.processed + after.quarantined < after.stored && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await counts(bdb.url, bdb.dataDir, database);
      }
      const seconds = (performance.now() - started) / 1000;
      const processed = after.processed - before.processed;
      const rawResult = await measure({
        concurrency: clients,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        op: raw.op,
        watch,
      });
      cells.push({
        engine,
        clients,
        smtp,
        endToEnd: processed / seconds,
        drainSeconds: seconds - (options.warmupMs + options.durationMs) / 1000,
        processed,
        quarantined: after.quarantined - before.quarantined,
        raw: rawResult,
      });
      console.log(
        `${engine} ${clients} SMTP clients: accepted ${fmt.int(smtp.throughput)}/s p99 ${fmt.ms(smtp.p99)} ms, ` +
          `end to end ${fmt.int(processed / seconds)}/s (${processed} processed), raw ${fmt.int(rawResult.throughput)}/s` +
          (smtp.errors ? `, ${smtp.errors} errors: ${smtp.firstError}` : ''),
      );
    }
    const code = await server.stop();
    if (code !== 0) console.log(`server exited with ${code}:\n${server.output()}`);
    server = null;
  } finally {
    if (server) await server.kill9();
    await raw?.close();
    await database.close();
    await bdb.dispose();
    await rawDb.dispose();
  }
  return cells;
}

const started = Date.now();
const cells: Cell[] = [];
for (const engine of options.engines) cells.push(...(await runEngine(engine)));
const probe = cells.length > 0 ? await benchDatabase('postgres', 'emailprobe') : null;
const version = probe ? await serverVersion(probe.url!) : '';
await probe?.dispose();
console.log(
  `\n## Email: SMTP on loopback → cases (${options.durationMs / 1000} s of sending after ${options.warmupMs / 1000} s warm-up, then the backlog drained; Node ${process.version}, PostgreSQL ${version})\n`,
);
console.log(
  table(
    [
      'engine',
      'SMTP clients',
      'accepted/s',
      'SMTP p50 ms',
      'SMTP p99 ms',
      'processed into cases/s',
      'drain after sending, s',
      'quarantined',
      'raw intake txn/s',
      'end to end / raw',
      'CPU cores while sending: server / bench / postgres',
    ],
    cells.map((c) => [
      c.engine,
      String(c.clients),
      fmt.int(c.smtp.throughput),
      fmt.ms(c.smtp.p50),
      fmt.ms(c.smtp.p99),
      fmt.int(c.endToEnd),
      c.drainSeconds.toFixed(1),
      String(c.quarantined),
      fmt.int(c.raw.throughput),
      `${(c.endToEnd / c.raw.throughput).toFixed(2)}×`,
      ['server', 'bench', 'postgres'].map((k) => (c.smtp.cpu?.[k] ?? 0).toFixed(2)).join(' / '),
    ]),
  ),
);
const best = Math.max(0, ...cells.map((c) => c.endToEnd));
console.log(
  `\nTarget: ≥ ${TARGET_PER_SECOND} emails/s end to end on PostgreSQL: best ${fmt.int(best)}/s (${best >= TARGET_PER_SECOND ? 'PASS' : 'FAIL'})`,
);
console.log(`email bench took ${Math.round((Date.now() - started) / 1000)} s`);
