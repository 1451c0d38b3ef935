/**
 * The outbound side of email in integration tests: an app of its own (on PostgreSQL a scratch
 * database, so its sender never takes another test file's mail), a relay standing in for the
 * tenant's provider (a local smtp-server on loopback that records what it receives and can
 * refuse recipients), senders with a clock the test moves, and a customer's email case with an
 * agent who answers it.
 */
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { type App, buildApp } from '../../server/app.ts';
import { type Database, openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { emailMessages, emailOutbox, users } from '../../server/db/schema/index.ts';
import { createOutboxSender, type OutboxSender } from '../../server/modules/email/email.sender.ts';
import * as given from './given.ts';
import { type ScratchDatabase, scratchPostgres } from './scratch-database.ts';
import { TEST_SECRET } from './test-app.ts';

export const quiet = { info() {}, warn() {}, error() {} };

/** An app on a database no other test file sends from; `logs` collects its warnings and errors. */
export async function startOutboundApp(
  options: { logs?: { level: number; msg: string; [key: string]: unknown }[] } = {},
): Promise<{ app: App; database: Database }> {
  let scratch: ScratchDatabase | null = null;
  if (process.env.TEST_DATABASE_URL) scratch = await scratchPostgres(process.env.TEST_DATABASE_URL);
  const database = await openDatabase({ url: scratch?.url ?? null, poolSize: 8 });
  await migrate(database);
  const { logs } = options;
  const app = await buildApp({
    database,
    secret: TEST_SECRET,
    loginLimit: 1000,
    webRoot: '/nonexistent',
    // IMAP pollers read every tenant's mailboxes: none here.
    imap: false,
    ...(logs
      ? { logger: { level: 'warn', stream: { write: (line: string) => logs.push(JSON.parse(line)) } } }
      : {}),
  });
  await app.ready();
  after(async () => {
    await app.close();
    await database.close();
    await scratch?.drop();
  });
  return { app, database };
}

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface Relay {
  url: string;
  port: number;
  received: Received[];
  /** Recipients the relay refuses for good (550). */
  refuse: Set<string>;
  /** Called with each message accepted. */
  onMessage?: (message: Received) => void;
  close(): Promise<void>;
}

export async function startRelay(port = 0): Promise<Relay> {
  const received: Received[] = [];
  const refuse = new Set<string>();
  const relay = { received, refuse } as Relay;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 64 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      if (refuse.has(address.address.toLowerCase())) {
        const err = Object.assign(new Error(`5.1.1 <${address.address}>: mailbox unavailable`), {
          responseCode: 550,
        });
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const message = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        };
        received.push(message);
        callback();
        relay.onMessage?.(message);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.server.address() as AddressInfo).port;
  relay.url = `smtp://127.0.0.1:${bound}`;
  relay.port = bound;
  relay.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  after(() => relay.close());
  return relay;
}

/** A sender of the app's outbox to `url`, on a clock the test moves; stopped after the file. */
export function sender(app: App, url: string | null, clock: { now: Date }): OutboxSender {
  const s = createOutboxSender({
    db: app.database.db,
    log: quiet,
    url,
    rawMail: app.rawMail,
    now: () => clock.now,
  });
  after(() => s.stop());
  return s;
}

export const mailTo = (relay: Relay, address: string) => relay.received.filter((m) => m.to.includes(address));

export interface EmailCase {
  t: given.GivenTenant;
  channel: Awaited<ReturnType<typeof given.emailChannel>>;
  caseId: string;
  caseNumber: number;
  customerAddress: string;
  /** The customer's mail as the inbound processing records it (threading headers). */
  inboundMessageId: string;
  agent: { id: string; write: Record<string, string>; read: Record<string, string> };
}

let n = 0;
/** A customer's email case in a tenant of its own, and a signed-in agent with a signature. */
export async function emailCase(
  app: App,
  options: { agentName?: string; customerName?: string; customerAddress?: string; inbound?: boolean } = {},
): Promise<EmailCase> {
  n++;
  const db = app.database.db;
  const t = await given.tenant(app, 'Northwind Broadband');
  const channel = await given.emailChannel(t);
  const agentRow = await given.user(t, 'agent', { name: options.agentName ?? 'Sam Taylor' });
  await db
    .update(users)
    .set({ signature: 'Sam Taylor\nNorthwind Broadband support' })
    .where(and(eq(users.tenantId, t.id), eq(users.id, agentRow.id)));
  const session = await given.signedIn(t, agentRow);
  const customerAddress = options.customerAddress ?? `ada${n}-${t.slug}@example.org`;
  const created = await given.contact(t, {
    channel: 'email',
    from: { identity: customerAddress, name: options.customerName ?? 'Ada Lovelace' },
    subject: 'Router keeps dropping',
    text: 'My router drops the line every evening.',
  });
  const inboundMessageId = `CAF${n}.${t.slug}@mail.example.org`;
  if (options.inbound !== false) {
    await db.insert(emailMessages).values({
      tenantId: t.id,
      messageId: created.contact.messageId,
      channelId: channel.id,
      headerMessageId: inboundMessageId,
      references: ['root.thread@mail.example.org'],
      fromAddress: customerAddress,
      fromName: options.customerName ?? 'Ada Lovelace',
      to: [{ address: channel.address, name: null }],
      subject: 'Router keeps dropping',
    });
  }
  return {
    t,
    channel,
    caseId: created.case.id,
    caseNumber: created.case.number,
    customerAddress,
    inboundMessageId,
    agent: { id: agentRow.id, write: session.write, read: session.read },
  };
}

export async function outboxRows(app: App, tenantId: string) {
  return app.database.db.select().from(emailOutbox).where(eq(emailOutbox.tenantId, tenantId));
}

function headerLines(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  return text
    .slice(0, text.indexOf('\r\n\r\n'))
    .replace(/\r\n[ \t]/g, ' ')
    .split('\r\n');
}

/** Every value of a top-level header, unfolded. */
export const header = (raw: Buffer, name: string) =>
  headerLines(raw)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());

/** The message as the timeline shows it. */
export async function timelineMessage(app: App, s: EmailCase, messageId: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/v1/cases/${s.caseId}/timeline`,
    headers: s.agent.read,
  });
  if (res.statusCode !== 200) throw new Error(`timeline: ${res.statusCode} ${res.body}`);
  const entry = (res.json().items as { message?: { id: string } }[]).find((e) => e.message?.id === messageId);
  if (!entry?.message) throw new Error('the message is not on the timeline');
  return entry.message as {
    id: string;
    delivery: Record<string, unknown> | null;
    email: { attachments: { id: string; filename: string; contentType: string; size: number }[] } | null;
  };
}

export interface FormFile {
  name?: string;
  filename: string;
  contentType?: string;
  content: Buffer;
}

/** A multipart/form-data body as a browser sends it: text fields, then files (under `files`). */
export function formBody(fields: Record<string, string>, files: FormFile[] = []) {
  const boundary = `----rapport${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  }
  for (const f of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.name ?? 'files'}"; filename="${f.filename}"\r\n` +
          `Content-Type: ${f.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      f.content,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** Posts a reply with files as the composer does. */
export async function postForm(
  app: App,
  s: EmailCase,
  fields: Record<string, string>,
  files: FormFile[] = [],
  headers: Record<string, string> = s.agent.write,
) {
  const { payload, contentType } = formBody(fields, files);
  return app.inject({
    method: 'POST',
    url: `/api/v1/cases/${s.caseId}/messages`,
    headers: { ...headers, 'content-type': contentType },
    payload,
  });
}
