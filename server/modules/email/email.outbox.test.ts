/**
 * Outbound email end to end: an agent's reply is composed and queued with the reply, a sender
 * hands it to a relay (a local smtp-server on loopback standing in for the tenant's provider)
 * and records the outcome on the message. Threading survives the round trip through our own
 * parser, retries back off, a 5xx fails for good with the reason shown, acknowledgements are
 * automatic and capped (EL-03), header injection cannot reach the relay (IN-02), notes never
 * send, and tenants stay apart. On PostgreSQL this file runs on a database of its own, so its
 * sender never takes another test file's mail.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import * as given from '../../../tests/support/given.ts';
import { type ScratchDatabase, scratchPostgres } from '../../../tests/support/scratch-database.ts';
import { TEST_SECRET } from '../../../tests/support/test-app.ts';
import { type App, buildApp } from '../../app.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';
import { emailMessages, emailOutbox, messages, users } from '../../db/schema/index.ts';
import { deriveKey } from '../../lib/secrets.ts';
import { updateChannel } from '../channels/channels.service.ts';
import {
  BACKOFF_MS,
  claimDue,
  createOutboxSender,
  enqueueAcknowledgement,
  errorText,
  type OutboxSender,
} from './email.outbox.ts';
import { parseEmail } from './email.parse.ts';
import { tagFromSubject, tokenFromAddress, tokenFromMessageId } from './email.threading.ts';

const secret = deriveKey(TEST_SECRET, 'email-threading');
const quiet = { info() {}, warn() {}, error() {} };

let scratch: ScratchDatabase | null = null;
if (process.env.TEST_DATABASE_URL) scratch = await scratchPostgres(process.env.TEST_DATABASE_URL);
const database: Database = await openDatabase({ url: scratch?.url ?? null, poolSize: 8 });
await migrate(database);
const app: App = await buildApp({ database, secret: TEST_SECRET, loginLimit: 1000, webRoot: '/nonexistent' });
await app.ready();
after(async () => {
  await app.close();
  await database.close();
  await scratch?.drop();
});

// ---------------------------------------------------------------------------------------------
// The relay

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
}

interface Relay {
  url: string;
  port: number;
  received: Received[];
  /** Recipients the relay refuses for good (550). */
  refuse: Set<string>;
  close(): Promise<void>;
}

async function startRelay(port = 0): Promise<Relay> {
  const received: Received[] = [];
  const refuse = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
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
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${bound}`,
    port: bound,
    received,
    refuse,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function sender(url: string | null, clock: { now: Date }): OutboxSender {
  const s = createOutboxSender({ db: database.db, log: quiet, url, now: () => clock.now });
  after(() => s.stop());
  return s;
}

// ---------------------------------------------------------------------------------------------
// A customer's email case and an agent who answers it

interface Scenario {
  t: given.GivenTenant;
  channel: Awaited<ReturnType<typeof given.emailChannel>>;
  caseId: string;
  caseNumber: number;
  customerAddress: string;
  agent: { id: string; write: Record<string, string>; read: Record<string, string> };
}

let n = 0;
async function emailCase(
  options: { agentName?: string; customerName?: string; customerAddress?: string; inbound?: boolean } = {},
): Promise<Scenario> {
  n++;
  const t = await given.tenant(app, 'Northwind Broadband');
  const channel = await given.emailChannel(t);
  const agentRow = await given.user(t, 'agent', { name: options.agentName ?? 'Sam Taylor' });
  await database.db
    .update(users)
    .set({ signature: 'Sam Taylor\nNorthwind Broadband support' })
    .where(and(eq(users.tenantId, t.id), eq(users.id, agentRow.id)));
  const session = await given.signedIn(t, agentRow);
  const customerAddress = options.customerAddress ?? `ada${n}@example.org`;
  const created = await given.contact(t, {
    channel: 'email',
    from: { identity: customerAddress, name: options.customerName ?? 'Ada Lovelace' },
    subject: 'Router keeps dropping',
    text: 'My router drops the line every evening.',
  });
  if (options.inbound !== false) {
    // What the inbound processing records for the customer's mail.
    await database.db.insert(emailMessages).values({
      tenantId: t.id,
      messageId: created.contact.messageId,
      channelId: channel.id,
      headerMessageId: `CAF${n}.evening@mail.example.org`,
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
    agent: { id: agentRow.id, write: session.write, read: session.read },
  };
}

async function post(s: Scenario, payload: Record<string, unknown>, headers = s.agent.write) {
  return app.inject({ method: 'POST', url: `/api/v1/cases/${s.caseId}/messages`, headers, payload });
}

async function reply(s: Scenario, text = 'Please restart the router.') {
  const res = await post(s, { kind: 'reply', text });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().message as { id: string; delivery: Record<string, unknown> | null };
}

async function timelineMessage(s: Scenario, messageId: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/v1/cases/${s.caseId}/timeline`,
    headers: s.agent.read,
  });
  assert.equal(res.statusCode, 200, res.body);
  const entry = (res.json().items as { message?: { id: string; delivery: unknown } }[]).find(
    (e) => e.message?.id === messageId,
  );
  assert.ok(entry?.message, 'the message is on the timeline');
  return entry.message as { id: string; delivery: Record<string, unknown> | null };
}

async function outboxRows(tenantId: string) {
  return database.db.select().from(emailOutbox).where(eq(emailOutbox.tenantId, tenantId));
}

function headerLines(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  return text
    .slice(0, text.indexOf('\r\n\r\n'))
    .replace(/\r\n[ \t]/g, ' ')
    .split('\r\n');
}

const header = (raw: Buffer, name: string) =>
  headerLines(raw)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());

const mailTo = (relay: Relay, address: string) => relay.received.filter((m) => m.to.includes(address));

// ---------------------------------------------------------------------------------------------

describe('email outbox: an agent’s reply reaches the customer', () => {
  test('the relay gets the reply with the agent’s name, the token Reply-To, threading headers, the tag and the signature, and it threads back', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const s = await emailCase();
    const message = await reply(s, 'Hello Ada,\n\nplease restart the router.');
    const clock = { now: new Date() };
    assert.deepEqual(message.delivery, { status: 'queued', attempts: 0 });

    const result = await sender(relay.url, clock).drain();
    assert.equal(result.sent, 1);
    const [mail, ...more] = mailTo(relay, s.customerAddress);
    assert.ok(mail, 'the relay received the reply');
    assert.equal(more.length, 0);
    assert.deepEqual(mail.to, [s.customerAddress]);
    assert.equal(mail.from, s.channel.address);

    const parsed = await parseEmail(mail.raw);
    assert.equal(parsed.from?.address, s.channel.address);
    assert.equal(parsed.from?.name, 'Sam Taylor via Northwind Broadband');
    assert.deepEqual(
      parsed.to.map((a) => a.address),
      [s.customerAddress],
    );
    assert.equal(parsed.inReplyTo, `CAF${n}.evening@mail.example.org`);
    assert.deepEqual(parsed.references, ['root.thread@mail.example.org', `CAF${n}.evening@mail.example.org`]);
    assert.match(parsed.subject, /^Re: \[#\d+-[a-z2-7]{5}\] Router keeps dropping$/);
    assert.match(parsed.text, /please restart the router\.\n\n-- \nSam Taylor\nNorthwind Broadband support/);
    assert.match(parsed.rawHtml ?? '', /please restart the router\./);
    assert.match(parsed.rawHtml ?? '', /class="signature"[\s\S]*Northwind Broadband support/);

    // The customer's answer finds the case by any of the three hints, in this tenant only.
    const byId = tokenFromMessageId(secret, s.t.id, parsed.messageId!);
    assert.deepEqual(byId, { tenantId: s.t.id, caseId: s.caseId, messageId: message.id });
    assert.deepEqual(tagFromSubject(secret, s.t.id, parsed.subject), { number: s.caseNumber, signed: true });
    assert.equal(parsed.replyTo?.address.split('@')[0]?.startsWith(s.channel.address!.split('@')[0]!), true);
    assert.deepEqual(tokenFromAddress(secret, s.t.id, parsed.replyTo!.address), {
      tenantId: s.t.id,
      caseId: s.caseId,
    });
    const other = await given.tenant(app);
    assert.equal(tokenFromMessageId(secret, other.id, parsed.messageId!), null);

    // The outbound email is recorded for threading, and the message shows it went out.
    const [stored] = await database.db
      .select()
      .from(emailMessages)
      .where(and(eq(emailMessages.tenantId, s.t.id), eq(emailMessages.messageId, message.id)));
    assert.equal(stored?.headerMessageId, parsed.messageId);
    assert.equal(stored?.inReplyTo, `CAF${n}.evening@mail.example.org`);
    assert.equal(stored?.subject, parsed.subject);
    const shown = await timelineMessage(s, message.id);
    assert.equal(shown.delivery?.status, 'sent');
    assert.equal(shown.delivery?.attempts, 1);
    assert.ok(typeof shown.delivery?.sentAt === 'string');
  });

  test('a case without a threaded inbound mail replies on the case subject, tagged', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const s = await emailCase({ inbound: false });
    await reply(s);
    await sender(relay.url, { now: new Date() }).drain();
    const [mail] = mailTo(relay, s.customerAddress);
    assert.ok(mail);
    const parsed = await parseEmail(mail.raw);
    assert.match(parsed.subject, /^\[#\d+-[a-z2-7]{5}\] Router keeps dropping$/);
    assert.equal(parsed.inReplyTo, null);
  });

  test('while the relay is down the reply stays queued with back-off, and goes out once it is back', async () => {
    const probe = await startRelay();
    const port = probe.port;
    await probe.close();
    const s = await emailCase();
    const message = await reply(s);
    const clock = { now: new Date() };
    const outbox = sender(`smtp://127.0.0.1:${port}`, clock);

    assert.deepEqual(await outbox.drain(), { sent: 0, retried: 1, failed: 0 });
    let shown = await timelineMessage(s, message.id);
    assert.equal(shown.delivery?.status, 'queued');
    assert.equal(shown.delivery?.attempts, 1);
    assert.match(String(shown.delivery?.lastError), /ECONNREFUSED|connect/i);
    const [row] = await outboxRows(s.t.id);
    assert.equal(row!.nextAttemptAt.getTime(), clock.now.getTime() + BACKOFF_MS[0]);

    // Not due yet: nothing is tried again before the back-off has passed.
    clock.now = new Date(clock.now.getTime() + BACKOFF_MS[0] - 1000);
    assert.deepEqual(await outbox.drain(), { sent: 0, retried: 0, failed: 0 });

    const relay = await startRelay(port);
    after(() => relay.close());
    clock.now = new Date(clock.now.getTime() + 2000);
    assert.deepEqual(await outbox.drain(), { sent: 1, retried: 0, failed: 0 });
    assert.equal(mailTo(relay, s.customerAddress).length, 1);
    shown = await timelineMessage(s, message.id);
    assert.equal(shown.delivery?.status, 'sent');
    assert.equal(shown.delivery?.attempts, 2);
    assert.equal(shown.delivery?.lastError, undefined);
  });

  test('after the last back-off the reply fails for good, with the reason on the message', async () => {
    const probe = await startRelay();
    await probe.close();
    const s = await emailCase();
    const message = await reply(s);
    const clock = { now: new Date() };
    const outbox = sender(probe.url, clock);
    for (const wait of BACKOFF_MS) {
      assert.equal((await outbox.drain()).retried, 1);
      clock.now = new Date(clock.now.getTime() + wait);
    }
    assert.deepEqual(await outbox.drain(), { sent: 0, retried: 0, failed: 1 });
    const shown = await timelineMessage(s, message.id);
    assert.equal(shown.delivery?.status, 'failed');
    assert.equal(shown.delivery?.attempts, BACKOFF_MS.length + 1);
  });

  test('a permanent 550 fails at once and the relay’s reason shows on the message', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const s = await emailCase();
    relay.refuse.add(s.customerAddress);
    const message = await reply(s);
    assert.deepEqual(await sender(relay.url, { now: new Date() }).drain(), {
      sent: 0,
      retried: 0,
      failed: 1,
    });
    const shown = await timelineMessage(s, message.id);
    assert.equal(shown.delivery?.status, 'failed');
    assert.equal(shown.delivery?.attempts, 1);
    assert.match(String(shown.delivery?.lastError), /550.*mailbox unavailable/);
  });

  test('a crash after the relay accepted sends the same message once more, with the same Message-ID (CR-03)', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const s = await emailCase();
    await reply(s);
    const clock = { now: new Date() };
    // The first node claims the row and hands it over, then dies before recording it.
    const lease = 5 * 60_000;
    const claimed = (await claimDue(database.db, clock.now, 50, lease)).filter((r) => r.tenantId === s.t.id);
    assert.equal(claimed.length, 1);
    const transport = nodemailer.createTransport({ url: relay.url });
    await transport.sendMail({
      envelope: { from: claimed[0]!.envelopeFrom, to: claimed[0]!.envelopeTo },
      raw: claimed[0]!.raw,
    });
    transport.close();

    const outbox = sender(relay.url, clock);
    assert.equal((await outbox.drain()).sent, 0, 'the lease keeps the row from being sent again at once');
    clock.now = new Date(clock.now.getTime() + lease + 1000);
    assert.equal((await outbox.drain()).sent, 1);
    clock.now = new Date(clock.now.getTime() + 24 * 3600_000);
    assert.equal((await outbox.drain()).sent, 0);
    const got = mailTo(relay, s.customerAddress);
    assert.equal(got.length, 2);
    assert.deepEqual(header(got[0]!.raw, 'Message-ID'), header(got[1]!.raw, 'Message-ID'));
  });

  test('without a relay URL mail stays queued', async () => {
    const s = await emailCase();
    const message = await reply(s);
    assert.deepEqual(await sender(null, { now: new Date() }).drain(), { sent: 0, retried: 0, failed: 0 });
    const shown = await timelineMessage(s, message.id);
    assert.deepEqual(shown.delivery, { status: 'queued', attempts: 0 });
  });
});

describe('email outbox: what never goes out', () => {
  test('a note never sends mail and has no delivery', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const s = await emailCase();
    const res = await post(s, { kind: 'note', text: 'Customer sounds annoyed; check the line.' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().message.delivery, null);
    await sender(relay.url, { now: new Date() }).drain();
    assert.equal(mailTo(relay, s.customerAddress).length, 0);
    assert.equal((await outboxRows(s.t.id)).length, 0);
  });

  test('an address we cannot write safely is a 422 with a code, and nothing is stored', async () => {
    const s = await emailCase({ customerAddress: 'ada[1]@example.org', inbound: false });
    const before = await database.db.select().from(messages).where(eq(messages.tenantId, s.t.id));
    const res = await post(s, { kind: 'reply', text: 'Hello' });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().error.code, 'email_invalid_address');
    assert.equal(res.json().error.details[0].path, 'to[0].address');
    const afterwards = await database.db.select().from(messages).where(eq(messages.tenantId, s.t.id));
    assert.equal(afterwards.length, before.length);
    assert.equal((await outboxRows(s.t.id)).length, 0);
  });

  test('a reply on another channel is not mailed', async () => {
    const s = await emailCase();
    const res = await post(s, { kind: 'reply', text: 'Called you back.', channel: 'phone' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().message.delivery, null);
    assert.equal((await outboxRows(s.t.id)).length, 0);
  });

  test('IN-02: CRLF and encoded-word tricks in the agent’s and the customer’s names add no header and no recipient', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const tricks = [
      { agentName: 'Sam\r\nBcc: victim@evil.example', customerName: 'Ada\r\nCc: other@evil.example' },
      {
        agentName: '=?utf-8?q?Sam=0D=0ABcc=3A_victim=40evil=2Eexample?=',
        customerName: '=?utf-8?b?QWRhIDxvdGhlckBldmlsLmV4YW1wbGU+LCA=?= x',
      },
      { agentName: 'Sam", victim@evil.example, "', customerName: 'Ada\tLovelace\n\nX-Injected: yes' },
    ];
    for (const trick of tricks) {
      const s = await emailCase(trick);
      await reply(s);
      await sender(relay.url, { now: new Date() }).drain();
      const got = mailTo(relay, s.customerAddress);
      assert.equal(got.length, 1, JSON.stringify(trick));
      const mail = got[0]!;
      assert.deepEqual(mail.to, [s.customerAddress], 'the envelope has the customer only');
      assert.equal(relay.received.filter((m) => m.to.some((a) => a.includes('evil.example'))).length, 0);
      assert.deepEqual(header(mail.raw, 'Bcc'), []);
      assert.deepEqual(header(mail.raw, 'Cc'), []);
      assert.deepEqual(header(mail.raw, 'X-Injected'), []);
      assert.equal(header(mail.raw, 'To').length, 1);
      assert.equal(header(mail.raw, 'From').length, 1);
      const parsed = await parseEmail(mail.raw);
      assert.deepEqual(
        parsed.to.map((a) => a.address),
        [s.customerAddress],
      );
      assert.deepEqual(parsed.cc, []);
      assert.equal(parsed.from?.address, s.channel.address);
    }
  });
});

describe('email outbox: the new-case acknowledgement', () => {
  async function ackChannel(s: Scenario, settings: Record<string, unknown>) {
    await updateChannel(database.db, s.t.id, s.channel.id, {
      settings: { acknowledgement: { enabled: true, locale: 'en', ...settings } },
    });
  }

  const ackInput = (s: Scenario) => ({
    tenantId: s.t.id,
    channelId: s.channel.id,
    caseId: s.caseId,
    recipient: s.customerAddress.toUpperCase(),
    customerName: 'Ada Lovelace',
    caseNumber: s.caseNumber,
    subject: 'Router keeps dropping',
    ownerName: 'Sam Taylor',
    teamName: 'Broadband',
    locale: '',
    inReplyTo: `<CAF${n}.evening@mail.example.org>`,
  });

  test('carries the case number and owner, is automatic, threads, and a second one within 24 h is not queued (EL-03)', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const s = await emailCase();
    await ackChannel(s, {});
    const first = await database.db.transaction((tx) => enqueueAcknowledgement(tx, ackInput(s)));
    assert.equal(first, true);
    const second = await database.db.transaction((tx) =>
      enqueueAcknowledgement(tx, { ...ackInput(s), recipient: s.customerAddress }),
    );
    assert.equal(second, false, 'a second acknowledgement to the same address is capped');
    assert.equal((await outboxRows(s.t.id)).filter((r) => r.kind === 'acknowledgement').length, 1);

    await sender(relay.url, { now: new Date() }).drain();
    const got = mailTo(relay, s.customerAddress);
    assert.equal(got.length, 1);
    const raw = got[0]!.raw;
    assert.deepEqual(header(raw, 'Auto-Submitted'), ['auto-replied']);
    assert.deepEqual(header(raw, 'X-Auto-Response-Suppress'), ['All']);
    const parsed = await parseEmail(raw);
    assert.match(parsed.text, new RegExp(`case #${s.caseNumber}\\b`));
    assert.match(parsed.text, /Sam Taylor will take care of it/);
    assert.match(parsed.text, /Hello Ada Lovelace,/);
    assert.equal(parsed.inReplyTo, `CAF${n}.evening@mail.example.org`);
    assert.deepEqual(tagFromSubject(secret, s.t.id, parsed.subject), { number: s.caseNumber, signed: true });
    assert.equal(tokenFromMessageId(secret, s.t.id, parsed.messageId!)?.caseId, s.caseId);
    assert.equal(tokenFromAddress(secret, s.t.id, parsed.replyTo!.address)?.caseId, s.caseId);
    assert.equal(parsed.from?.name, 'Northwind Broadband');
  });

  test('names the team while the case has no owner, in the channel’s language and with its own subject', async () => {
    const relay = await startRelay();
    after(() => relay.close());
    const s = await emailCase();
    await ackChannel(s, { locale: 'de', subject: 'Vorgang {{caseNumber}} eröffnet' });
    const ok = await database.db.transaction((tx) =>
      enqueueAcknowledgement(tx, { ...ackInput(s), ownerName: null, locale: 'ja' }),
    );
    assert.equal(ok, true);
    await sender(relay.url, { now: new Date() }).drain();
    const parsed = await parseEmail(mailTo(relay, s.customerAddress)[0]!.raw);
    assert.match(
      parsed.subject,
      new RegExp(`\\[#${s.caseNumber}-[a-z2-7]{5}\\] Vorgang ${s.caseNumber} eröffnet$`),
    );
    assert.match(parsed.text, /Broadband kümmert sich darum/);
  });

  test('is not queued when the channel has it switched off', async () => {
    const s = await emailCase();
    assert.equal(await database.db.transaction((tx) => enqueueAcknowledgement(tx, ackInput(s))), false);
    assert.equal((await outboxRows(s.t.id)).length, 0);
  });
});

describe('email outbox: tenants stay apart', () => {
  test('another tenant cannot see a message’s delivery nor reply into the case', async () => {
    const s = await emailCase();
    const message = await reply(s);
    const other = await given.tenant(app, 'Other Org');
    const seen = await app.inject({
      method: 'GET',
      url: `/api/v1/cases/${s.caseId}/timeline`,
      headers: other.headers,
    });
    assert.equal(seen.statusCode, 404);
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/cases/${s.caseId}/messages`,
      headers: other.headers,
      payload: { kind: 'reply', text: 'Hello from elsewhere' },
    });
    assert.equal(res.statusCode, 404);
    assert.equal((await outboxRows(s.t.id)).length, 1);
    assert.equal((await outboxRows(other.id)).length, 0);
    // An acknowledgement naming a channel of another tenant queues nothing.
    const foreign = await database.db.transaction((tx) =>
      enqueueAcknowledgement(tx, {
        tenantId: other.id,
        channelId: s.channel.id,
        caseId: s.caseId,
        recipient: s.customerAddress,
        customerName: null,
        caseNumber: s.caseNumber,
        subject: 'x',
        ownerName: null,
        teamName: null,
        locale: 'en',
        inReplyTo: null,
      }),
    );
    assert.equal(foreign, false);
    assert.equal((await outboxRows(other.id)).length, 0);
    const shown = await timelineMessage(s, message.id);
    assert.equal(shown.delivery?.status, 'queued');
  });
});

describe('email outbox: errors kept on a message', () => {
  test('never carry the relay’s password', () => {
    const url = 'smtp://mailer:s3cr%3Dt-pass@relay.example:587';
    const text = errorText(
      new Error('Invalid login for smtp://mailer:s3cr=t-pass@relay.example:587 (s3cr=t-pass)'),
      url,
    );
    assert.doesNotMatch(text, /s3cr/);
    assert.match(text, /Invalid login/);
  });
});
