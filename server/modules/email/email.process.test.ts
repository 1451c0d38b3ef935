/**
 * Stored inbound mail becomes contacts on the right case: threading (MI-04), loop safety
 * (EL-01, EL-02, EL-04), forged threading (IN-04), duplicates and crashes (CR-02), quarantine
 * (MI-01, MI-02) and sanitised HTML (XS-01), on whichever engine the tests run on.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { and, eq, inArray, sql } from 'drizzle-orm';
import * as given from '../../../tests/support/given.ts';
import { startTestApp, TEST_SECRET } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';
import {
  attachments,
  cases,
  channels,
  contacts,
  customerIdentities,
  customers,
  emailMessages,
  inboundEmails,
  messages,
} from '../../db/schema/index.ts';
import { deriveKey } from '../../lib/secrets.ts';
import type { ChannelRow } from '../channels/channels.queries.ts';
import { type AttachmentStore, createFileStore, sha256Hex } from './email.attachments.ts';
import { rawMail } from './email.fixtures.ts';
import { RAW_ROW_MAX_BYTES, storeInbound } from './email.inbound.ts';
import { parseEmail } from './email.parse.ts';
import { createInboundProcessor, MAX_ATTEMPTS } from './email.process.ts';
import { threadQueues } from './email.round-order.ts';
import { messageIdFor, replyAddress, subjectTag } from './email.threading.ts';

const { app } = await startTestApp();
const db = app.database.db;
// This file drives processors of its own, with a clock it can move.
await app.emailInbound.stop();

const secret = deriveKey(TEST_SECRET, 'email-threading');
const silent = { info() {}, warn() {}, error() {} };
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-process-test-'));
const files = createFileStore(dir);
// The app's raw mail store, so its quarantine routes read the same files.
const mailStore = app.rawMail;
const processor = createInboundProcessor({ db, log: silent, secret, store: files, rawMail: mailStore, now });

/** Moves the clock past every back-off, so a failed row is due again. */
function later() {
  offsetMs += 24 * 3600_000;
}

let seq = 0;
function mail(
  opts: {
    from?: string;
    to?: string;
    cc?: string;
    subject?: string;
    messageId?: string | null;
    inReplyTo?: string;
    references?: string;
    extra?: string[];
    body?: string;
    contentType?: string;
  } = {},
): Buffer {
  seq++;
  const headers = [
    `From: ${opts.from ?? `Sam Customer <sam${seq}@customer.example>`}`,
    `To: ${opts.to ?? 'support@nowhere.example'}`,
    ...(opts.cc ? [`Cc: ${opts.cc}`] : []),
    `Subject: ${opts.subject ?? `Question ${seq}`}`,
    `Date: ${now().toUTCString()}`,
    ...(opts.messageId === null
      ? []
      : [`Message-ID: <${opts.messageId ?? `m${seq}-${randomUUID()}@customer.example`}>`]),
    ...(opts.inReplyTo ? [`In-Reply-To: ${opts.inReplyTo}`] : []),
    ...(opts.references ? [`References: ${opts.references}`] : []),
    'MIME-Version: 1.0',
    `Content-Type: ${opts.contentType ?? 'text/plain; charset=utf-8'}`,
    ...(opts.extra ?? []),
  ];
  return rawMail(headers, opts.body ?? `Hello, message ${seq}.\n`);
}

async function deliver(channel: ChannelRow, raw: Buffer, envelopeTo = [channel.address!]) {
  const stored = await storeInbound(db, mailStore, {
    channel,
    source: 'smtp',
    raw,
    envelopeFrom: null,
    envelopeTo,
  });
  await processor.drain();
  return inbound(channel.tenantId, stored.id);
}

async function inbound(tenantId: string, id: string) {
  const [row] = await db
    .select()
    .from(inboundEmails)
    .where(and(eq(inboundEmails.tenantId, tenantId), eq(inboundEmails.id, id)));
  return row!;
}

async function caseOf(tenantId: string, caseId: string | null) {
  const [row] = await db
    .select()
    .from(cases)
    .where(and(eq(cases.tenantId, tenantId), eq(cases.id, caseId!)));
  return row!;
}

async function caseCount(tenantId: string) {
  const [row] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from cases where tenant_id = ${tenantId}`,
  );
  return row!.n;
}

async function setup(name = 'Test Broadband') {
  const t = await given.tenant(app, name);
  const channel = (await given.emailChannel(t)) as ChannelRow;
  return { t, channel };
}

async function setStatus(tenantId: string, caseId: string, status: string) {
  await db
    .update(cases)
    .set({ status })
    .where(and(eq(cases.tenantId, tenantId), eq(cases.id, caseId)));
}

describe('threading', () => {
  test('a new email opens a case for its sender, with the email details and the inbound row processed', async () => {
    const { t, channel } = await setup();
    const row = await deliver(
      channel,
      mail({ from: '"Ada Lovelace" <Ada@Customer.example>', subject: 'Router keeps rebooting' }),
    );
    assert.equal(row.status, 'processed', row.reason ?? '');
    const kase = await caseOf(t.id, row.caseId);
    assert.equal(kase.subject, 'Router keeps rebooting');
    assert.equal(kase.channel, 'email');
    const [customer] = await db
      .select({ name: customers.name, identity: customerIdentities.value })
      .from(customers)
      .innerJoin(
        customerIdentities,
        and(
          eq(customerIdentities.tenantId, customers.tenantId),
          eq(customerIdentities.customerId, customers.id),
        ),
      )
      .where(and(eq(customers.tenantId, t.id), eq(customers.id, kase.customerId)));
    assert.deepEqual(customer, { name: 'Ada Lovelace', identity: 'ada@customer.example' });
    const [details] = await db
      .select()
      .from(emailMessages)
      .where(and(eq(emailMessages.tenantId, t.id), eq(emailMessages.messageId, row.messageId!)));
    assert.equal(details?.channelId, channel.id);
    assert.equal(details?.inboundEmailId, row.id);
    assert.equal(details?.fromAddress, 'ada@customer.example');
    assert.equal(details?.automatic, null);
    assert.match(details?.headerMessageId ?? '', /@customer\.example$/);
  });

  test('a reply to our reply address (signed token) joins the case, even from another address', async () => {
    const { t, channel } = await setup();
    const first = await deliver(channel, mail({ from: 'owner@customer.example' }));
    const to = replyAddress(secret, channel.address!, { tenantId: t.id, caseId: first.caseId! });
    const reply = await deliver(channel, mail({ from: 'colleague@customer.example', to }), [to]);
    assert.equal(reply.status, 'processed', reply.reason ?? '');
    assert.equal(reply.caseId, first.caseId);
    const [message] = await db
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, t.id), eq(messages.id, reply.messageId!)));
    assert.equal(message?.kind, 'inbound');
    assert.notEqual(
      message?.authorCustomerId,
      (await caseOf(t.id, first.caseId)).customerId,
      'the colleague wrote it',
    );
    assert.equal((await caseOf(t.id, first.caseId)).repeatContactCount, 1);
  });

  test('a reply with only References naming a message stored in this mailbox joins its case', async () => {
    const { channel } = await setup();
    const id = `${randomUUID()}@customer.example`;
    const first = await deliver(channel, mail({ messageId: id }));
    const reply = await deliver(
      channel,
      mail({
        from: 'someone.else@customer.example',
        subject: 'Re: something',
        references: `<old@x.example> <${id}>`,
      }),
    );
    assert.equal(reply.caseId, first.caseId);
  });

  test('mail that arrived together is threaded as if one at a time: a colleague’s reply after its original', async () => {
    const { t, channel } = await setup();
    const id = `${randomUUID()}@customer.example`;
    const store = (raw: Buffer) =>
      storeInbound(db, mailStore, { channel, source: 'smtp', raw, envelopeFrom: null, envelopeTo: [] });
    const others = [];
    for (let i = 0; i < 5; i++) others.push(await store(mail()));
    const original = await store(mail({ from: 'first@customer.example', messageId: id }));
    const reply = await store(mail({ from: 'colleague@customer.example', inReplyTo: `<${id}>` }));
    const followUp = await store(mail({ from: 'first@customer.example', subject: 'One more thing' }));
    await processor.drain();
    const caseId = (await inbound(t.id, original.id)).caseId;
    assert.equal((await inbound(t.id, reply.id)).caseId, caseId);
    assert.equal((await inbound(t.id, followUp.id)).caseId, caseId, 'the sender’s open case');
    for (const o of others) assert.notEqual((await inbound(t.id, o.id)).caseId, caseId);
  });

  test('a reply whose In-Reply-To is one of our signed Message-IDs joins that case', async () => {
    const { t, channel } = await setup();
    const first = await deliver(channel, mail());
    const ours = messageIdFor(
      secret,
      { tenantId: t.id, caseId: first.caseId!, messageId: randomUUID() },
      'rapport.example',
    );
    const reply = await deliver(channel, mail({ from: 'other@customer.example', inReplyTo: ours }));
    assert.equal(reply.caseId, first.caseId);
  });

  test('a signed subject tag alone joins its case; a bare tag only from that case’s customer', async () => {
    const { t, channel } = await setup();
    const first = await deliver(channel, mail({ from: 'kim@customer.example' }));
    const number = (await caseOf(t.id, first.caseId)).number;
    const signed = await deliver(
      channel,
      mail({ from: 'stranger@elsewhere.example', subject: `Re: ${subjectTag(secret, t.id, number)} hi` }),
    );
    assert.equal(signed.caseId, first.caseId);

    const before = await caseCount(t.id);
    const bare = await deliver(
      channel,
      mail({ from: 'intruder@elsewhere.example', subject: `Re: [#${number}] me too` }),
    );
    assert.notEqual(bare.caseId, first.caseId, 'an unsigned tag from a stranger does not join');
    assert.equal(await caseCount(t.id), before + 1);

    await setStatus(t.id, first.caseId!, 'resolved');
    const own = await deliver(
      channel,
      mail({ from: 'kim@customer.example', subject: `Re: [#${number}] still broken` }),
    );
    assert.equal(own.caseId, first.caseId, 'the case’s customer may use the bare tag');
    assert.equal((await caseOf(t.id, first.caseId)).status, 'open', 'and reopens it');
  });

  test('another tenant’s reply token, Message-ID, subject tag or stored Message-ID never crosses over', async () => {
    const a = await setup('Alpha');
    const b = await setup('Beta');
    const bId = `${randomUUID()}@customer.example`;
    const bFirst = await deliver(b.channel, mail({ from: 'pat@customer.example', messageId: bId }));
    const bCase = await caseOf(b.t.id, bFirst.caseId);
    const token = replyAddress(secret, a.channel.address!, { tenantId: b.t.id, caseId: bCase.id });
    const ourId = messageIdFor(
      secret,
      { tenantId: b.t.id, caseId: bCase.id, messageId: randomUUID() },
      'r.example',
    );
    const attempts = [
      mail({ from: 'pat@customer.example', to: token }),
      mail({ from: 'pat@customer.example', inReplyTo: ourId }),
      mail({ from: 'pat@customer.example', subject: `Re: ${subjectTag(secret, b.t.id, bCase.number)}` }),
      mail({ from: 'pat@customer.example', references: `<${bId}>` }),
    ];
    for (const raw of attempts) {
      const row = await deliver(a.channel, raw, [token]);
      assert.equal(row.status, 'processed');
      assert.equal(row.tenantId, a.t.id);
      assert.notEqual(row.caseId, bCase.id);
      assert.equal((await caseOf(a.t.id, row.caseId)).tenantId, a.t.id);
    }
    const after = await caseOf(b.t.id, bCase.id);
    assert.equal(after.contactCount, 1, 'B’s case got nothing');
    assert.equal(await caseCount(a.t.id), 1, 'in A they are one new customer’s one case');
  });

  test('a forwarded mail whose References name a message of another mailbox opens a new case', async () => {
    const { t, channel } = await setup();
    const billing = (await given.emailChannel(t)) as ChannelRow;
    const id = `${randomUUID()}@customer.example`;
    const old = await deliver(billing, mail({ from: 'lee@customer.example', messageId: id }));
    await setStatus(t.id, old.caseId!, 'closed');
    const forwarded = await deliver(
      channel,
      mail({ from: 'robin@customer.example', subject: 'Fwd: the old problem', references: `<${id}>` }),
    );
    assert.notEqual(forwarded.caseId, old.caseId);
    assert.equal((await caseOf(t.id, old.caseId)).status, 'closed', 'the stale thread is not reopened');
  });

  test('IN-04: a forged reply from an agent’s address is stored as an inbound customer message', async () => {
    const { t, channel } = await setup();
    const agent = await given.user(t, 'agent');
    const first = await deliver(channel, mail({ from: 'victim@customer.example' }));
    const notification = messageIdFor(
      secret,
      { tenantId: t.id, caseId: first.caseId!, messageId: randomUUID() },
      'rapport.example',
    );
    const forged = await deliver(
      channel,
      mail({ from: `"Support Agent" <${agent.email}>`, inReplyTo: notification, references: notification }),
    );
    assert.equal(forged.status, 'processed');
    const [message] = await db
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, t.id), eq(messages.id, forged.messageId!)));
    assert.equal(message?.kind, 'inbound');
    assert.equal(message?.authorUserId, null, 'never an agent’s message');
    assert.ok(message?.authorCustomerId);
    const [identity] = await db
      .select({ value: customerIdentities.value })
      .from(customerIdentities)
      .where(
        and(
          eq(customerIdentities.tenantId, t.id),
          eq(customerIdentities.customerId, message!.authorCustomerId!),
        ),
      );
    assert.equal(identity?.value, agent.email.toLowerCase(), 'the address is just a customer identity');
  });
});

describe('loops and noise', () => {
  test('EL-01: an auto-reply joins its case flagged automatic, does not reopen it and gets no acknowledgement', async () => {
    const { t, channel } = await setup();
    await db
      .update(channels)
      .set({ settings: { acknowledgement: { enabled: true, locale: 'en' } } })
      .where(and(eq(channels.tenantId, t.id), eq(channels.id, channel.id)));
    const ackChannel = { ...channel, settings: { acknowledgement: { enabled: true, locale: 'en' } } };
    const first = await deliver(ackChannel, mail({ from: 'ooo@customer.example' }));
    const acks = async () =>
      (
        await rows<{ n: number }>(
          db,
          sql`select count(*)::int as n from email_outbox where tenant_id = ${t.id} and kind = 'acknowledgement'`,
        )
      )[0]!.n;
    assert.equal(await acks(), 1, 'the new case was acknowledged');

    const to = replyAddress(secret, channel.address!, { tenantId: t.id, caseId: first.caseId! });
    for (const [status, headers] of [
      ['resolved', ['Auto-Submitted: auto-replied']],
      ['pending', ['X-Autoreply: yes']],
      ['closed', ['Precedence: bulk']],
    ] as const) {
      await setStatus(t.id, first.caseId!, status);
      const before = await caseOf(t.id, first.caseId);
      const auto = await deliver(
        ackChannel,
        mail({ from: 'ooo@customer.example', to, extra: [...headers] }),
        [to],
      );
      assert.equal(auto.status, 'processed');
      assert.equal(auto.caseId, first.caseId, `${headers}: stored on the case`);
      const after = await caseOf(t.id, first.caseId);
      assert.equal(after.status, status, `${headers}: status unchanged`);
      assert.equal(after.contactCount, before.contactCount, 'not counted as a contact');
      assert.equal(after.repeatContactCount, before.repeatContactCount, 'not a repeat');
      assert.equal(after.reopenCount, before.reopenCount);
      const [details] = await db
        .select({ automatic: emailMessages.automatic })
        .from(emailMessages)
        .where(and(eq(emailMessages.tenantId, t.id), eq(emailMessages.messageId, auto.messageId!)));
      assert.ok(details?.automatic, 'flagged automatic');
    }
    // An auto-reply with no hint opens a case of its own, still without an acknowledgement.
    const stray = await deliver(ackChannel, mail({ from: 'noreply@vendor.example' }));
    assert.notEqual(stray.caseId, first.caseId);
    assert.equal(await acks(), 1, 'no acknowledgement for automatic mail');
  });

  test('EL-02: a delivery report for our mail lands on the original case and marks the address bouncing', async () => {
    const { t, channel } = await setup();
    const first = await deliver(channel, mail({ from: 'gone@customer.example' }));
    const ours = messageIdFor(
      secret,
      { tenantId: t.id, caseId: first.caseId!, messageId: randomUUID() },
      'rapport.example',
    );
    await setStatus(t.id, first.caseId!, 'pending');
    const before = await caseCount(t.id);
    const dsn = rawMail(
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>',
        `To: ${channel.address}`,
        'Subject: Undelivered Mail Returned to Sender',
        `Date: ${now().toUTCString()}`,
        `Message-ID: <dsn-${randomUUID()}@mx.customer.example>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      ],
      [
        '--b',
        'Content-Type: text/plain',
        '',
        'Your message could not be delivered.',
        '--b',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.customer.example',
        '',
        'Final-Recipient: rfc822; Gone@customer.example',
        'Action: failed',
        'Status: 5.1.1',
        '--b',
        'Content-Type: text/rfc822-headers',
        '',
        `From: Support <${channel.address}>`,
        'To: gone@customer.example',
        `Message-ID: ${ours}`,
        'Subject: Re: your case',
        '--b--',
      ].join('\n'),
    );
    const row = await deliver(channel, dsn, [channel.address!]);
    assert.equal(row.status, 'processed', row.reason ?? '');
    assert.equal(row.caseId, first.caseId, 'on the original case');
    assert.equal(await caseCount(t.id), before, 'no new case');
    assert.equal((await caseOf(t.id, first.caseId)).status, 'pending', 'not brought back to open');
    const [identity] = await db
      .select({ bouncedAt: customerIdentities.bouncedAt })
      .from(customerIdentities)
      .where(
        and(eq(customerIdentities.tenantId, t.id), eq(customerIdentities.value, 'gone@customer.example')),
      );
    assert.ok(identity?.bouncedAt, 'the address is marked bouncing');
    const [details] = await db
      .select({ automatic: emailMessages.automatic })
      .from(emailMessages)
      .where(and(eq(emailMessages.tenantId, t.id), eq(emailMessages.messageId, row.messageId!)));
    assert.equal(details?.automatic, 'bounce');
  });

  test('EL-04: our own mail coming back is ignored, by its Message-ID or by its sender', async () => {
    const { t, channel } = await setup();
    const first = await deliver(channel, mail());
    const ours = messageIdFor(
      secret,
      { tenantId: t.id, caseId: first.caseId!, messageId: randomUUID() },
      'rapport.example',
    );
    const before = await caseCount(t.id);
    const looped = await deliver(channel, mail({ messageId: ours.slice(1, -1) }));
    assert.equal(looped.status, 'ignored');
    assert.match(looped.reason ?? '', /own message/);
    const fromUs = await deliver(channel, mail({ from: `Support <${channel.address}>` }));
    assert.equal(fromUs.status, 'ignored');
    assert.match(fromUs.reason ?? '', /own address/);
    assert.equal(await caseCount(t.id), before, 'no case, no contact');
  });
});

describe('duplicates, crashes and quarantine', () => {
  test('one message delivered to two of our mailboxes makes one contact', async () => {
    const { t, channel } = await setup();
    const sales = (await given.emailChannel(t)) as ChannelRow;
    const raw = mail({ to: channel.address!, cc: sales.address! });
    const a = await storeInbound(db, mailStore, {
      channel,
      source: 'smtp',
      raw,
      envelopeFrom: null,
      envelopeTo: [],
    });
    const b = await storeInbound(db, mailStore, {
      channel: sales,
      source: 'smtp',
      raw,
      envelopeFrom: null,
      envelopeTo: [],
    });
    await processor.drain();
    const rowA = await inbound(t.id, a.id);
    const rowB = await inbound(t.id, b.id);
    assert.deepEqual([rowA.status, rowB.status].sort(), ['ignored', 'processed']);
    assert.equal(rowA.caseId, rowB.caseId);
    const [n] = await rows<{ n: number }>(
      db,
      sql`select count(*)::int as n from contacts where tenant_id = ${t.id}`,
    );
    assert.equal(n!.n, 1);
  });

  test('a crash after the intake: the retry makes exactly one contact, one email row and its attachment', async () => {
    const { t, channel } = await setup();
    let failures = 1;
    const flaky: AttachmentStore = {
      async put(bytes, meta) {
        if (failures-- > 0) throw new Error('disk went away');
        return files.put(bytes, meta);
      },
      get: (key) => files.get(key),
    };
    const crashing = createInboundProcessor({
      db,
      log: silent,
      secret,
      store: flaky,
      rawMail: mailStore,
      now,
    });
    const raw = mail({
      contentType: 'multipart/mixed; boundary="x"',
      body: [
        '--x',
        'Content-Type: text/plain',
        '',
        'See the log attached.',
        '--x',
        'Content-Type: text/plain; name="../../etc/passwd"',
        'Content-Disposition: attachment; filename="../../etc/passwd"',
        '',
        'line 1',
        '--x--',
      ].join('\n'),
    });
    const stored = await storeInbound(db, mailStore, {
      channel,
      source: 'smtp',
      raw,
      envelopeFrom: null,
      envelopeTo: [],
    });
    await crashing.drain();
    let row = await inbound(t.id, stored.id);
    assert.equal(row.status, 'pending', 'a failure leaves it pending');
    assert.equal(row.attempts, 1);
    assert.match(row.reason ?? '', /disk went away/);
    await crashing.drain();
    assert.equal((await inbound(t.id, stored.id)).attempts, 1, 'not retried before its back-off');

    later();
    await crashing.drain();
    row = await inbound(t.id, stored.id);
    assert.equal(row.status, 'processed', row.reason ?? '');
    const count = async (table: typeof contacts | typeof emailMessages | typeof attachments) =>
      (await db.select().from(table).where(eq(table.tenantId, t.id))).length;
    assert.equal(await count(contacts), 1);
    assert.equal(await count(emailMessages), 1);
    assert.equal(await count(attachments), 1);
    const [file] = await db.select().from(attachments).where(eq(attachments.tenantId, t.id));
    assert.equal(file?.filename, '_.._etc_passwd', 'the name is cleaned');
    assert.match(file!.storageKey, /^sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/, 'and never used as a path');
    assert.equal((await files.get(file!.storageKey)).toString(), 'line 1');
  });

  test('a message that keeps failing is quarantined after its attempts, with the error and no stack', async () => {
    const { t, channel } = await setup();
    const broken: AttachmentStore = {
      put: async () => {
        throw new Error('store unavailable');
      },
      get: (key) => files.get(key),
    };
    const failing = createInboundProcessor({
      db,
      log: silent,
      secret,
      store: broken,
      rawMail: mailStore,
      now,
    });
    const raw = mail({
      contentType: 'multipart/mixed; boundary="x"',
      body: '--x\nContent-Type: text/plain\n\nhi\n--x\nContent-Type: application/pdf; name="a.pdf"\n\n%PDF\n--x--',
    });
    const stored = await storeInbound(db, mailStore, {
      channel,
      source: 'smtp',
      raw,
      envelopeFrom: null,
      envelopeTo: [],
    });
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      await failing.drain();
      later();
    }
    const row = await inbound(t.id, stored.id);
    assert.equal(row.status, 'quarantined');
    assert.equal(row.attempts, MAX_ATTEMPTS);
    assert.match(row.reason ?? '', /store unavailable/);
    assert.doesNotMatch(row.reason ?? '', /\n\s+at /, 'no stack trace');
  });

  test('unparseable and oversized mail is quarantined, listed for admins and can be reprocessed', async () => {
    const { t, channel } = await setup();
    const garbage = await deliver(channel, Buffer.from('\u0000\u0001 this is not an email at all \u00ff'));
    assert.equal(garbage.status, 'quarantined');
    assert.match(garbage.reason ?? '', /^not_email/);
    const parts = Array.from({ length: 5000 }, (_, i) => `--p\nContent-Type: text/plain\n\npart ${i}`).join(
      '\n',
    );
    const huge = await deliver(
      channel,
      mail({
        subject: 'Five thousand parts',
        contentType: 'multipart/mixed; boundary="p"',
        body: `${parts}\n--p--`,
      }),
    );
    assert.equal(huge.status, 'quarantined');
    assert.match(huge.reason ?? '', /^part_count/);

    const list = await app.inject({ url: '/api/v1/email/quarantine', headers: t.headers });
    assert.equal(list.statusCode, 200, list.body);
    const items = list.json().items as { id: string; subject: string | null; reason: string; size: number }[];
    assert.deepEqual(items.map((i) => i.id).sort(), [garbage.id, huge.id].sort());
    const hugeItem = items.find((i) => i.id === huge.id)!;
    assert.equal(hugeItem.subject, 'Five thousand parts');
    assert.equal(hugeItem.size, huge.size);

    const other = await given.tenant(app, 'Other');
    const foreign = await app.inject({
      method: 'POST',
      url: `/api/v1/email/quarantine/${huge.id}/reprocess`,
      headers: other.headers,
    });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().error.code, 'inbound_email_not_found');

    const again = await app.inject({
      method: 'POST',
      url: `/api/v1/email/quarantine/${huge.id}/reprocess`,
      headers: t.headers,
    });
    assert.equal(again.statusCode, 200, again.body);
    const reset = await inbound(t.id, huge.id);
    assert.deepEqual([reset.status, reset.attempts], ['pending', 0]);
    await processor.drain();
    assert.equal((await inbound(t.id, huge.id)).status, 'quarantined', 'still too big, back in quarantine');
    const agent = await given.token(t, 'agent');
    const forbidden = await app.inject({ url: '/api/v1/email/quarantine', headers: agent });
    assert.equal(forbidden.statusCode, 403);
  });
});

describe('large messages kept as files', () => {
  /** A customer's mail with a `bytes`-long attachment (base64 on the wire: about 4/3 of that). */
  function withAttachment(bytes: number, opts: { from?: string | null; messageId?: string | null } = {}) {
    const file = Buffer.alloc(bytes);
    for (let i = 0; i + 4 <= bytes; i += 4) file.writeUInt32LE((i * 2654435761 + seq) >>> 0, i);
    seq++;
    const headers = [
      ...(opts.from === null ? [] : [`From: ${opts.from ?? `Big Sender <big${seq}@customer.example>`}`]),
      'To: support@nowhere.example',
      `Subject: Big file ${seq}`,
      ...(opts.messageId === null
        ? []
        : [`Message-ID: <${opts.messageId ?? `big${seq}-${randomUUID()}@customer.example`}>`]),
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="z"',
    ];
    const body = [
      '--z',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The file you asked for.',
      '--z',
      'Content-Type: application/octet-stream; name="dump.bin"',
      'Content-Disposition: attachment; filename="dump.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      file.toString('base64').replace(/.{76}/g, '$&\n'),
      '--z--',
      '',
    ].join('\n');
    return { raw: rawMail(headers, body), file };
  }

  /** Every file under `dir` (a store's root), temporary ones included. */
  function filesIn(dir: string): string[] {
    return fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  }

  test('up to RAW_ROW_MAX_BYTES a message stays in its row; one byte more and it is a file the row names', async () => {
    const { channel } = await setup();
    const own = createFileStore(fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-raw-limit-')));
    const head = Buffer.from(`From: a@customer.example\r\nSubject: limit\r\n\r\n`);
    const sized = (n: number) => Buffer.concat([head, Buffer.alloc(n - head.length, 'x')]);
    const atLimit = await storeInbound(db, own, {
      channel,
      source: 'smtp',
      raw: sized(RAW_ROW_MAX_BYTES),
      envelopeFrom: null,
      envelopeTo: [],
    });
    const over = await storeInbound(db, own, {
      channel,
      source: 'smtp',
      raw: sized(RAW_ROW_MAX_BYTES + 1),
      envelopeFrom: null,
      envelopeTo: [],
    });
    const a = await inbound(channel.tenantId, atLimit.id);
    const b = await inbound(channel.tenantId, over.id);
    assert.deepEqual(
      [a.raw?.equals(sized(RAW_ROW_MAX_BYTES)), a.rawKey, a.size],
      [true, null, RAW_ROW_MAX_BYTES],
    );
    assert.equal(b.raw, null);
    assert.equal(
      b.rawKey,
      `sha256/${sha256Hex(sized(RAW_ROW_MAX_BYTES + 1)).slice(0, 2)}/${sha256Hex(sized(RAW_ROW_MAX_BYTES + 1))}`,
    );
    assert.equal(b.size, RAW_ROW_MAX_BYTES + 1);
    assert.ok((await own.get(b.rawKey!)).equals(sized(RAW_ROW_MAX_BYTES + 1)));
    // Both were pending mail of this mailbox; take them out of the shared processor's way.
    await db
      .update(inboundEmails)
      .set({ status: 'ignored' })
      .where(inArray(inboundEmails.id, [a.id, b.id]));
  });

  test('a small message stays in its row; a 2 MB one is kept as a file and processed into its case like any other', async () => {
    const { t, channel } = await setup();
    const small = await deliver(channel, mail({ subject: 'Small one' }));
    assert.equal(small.status, 'processed', small.reason ?? '');
    assert.ok(small.raw !== null && small.raw.length < RAW_ROW_MAX_BYTES);
    assert.equal(small.rawKey, null);

    const { raw, file } = withAttachment(1_500_000);
    assert.ok(raw.length > 2_000_000);
    const big = await deliver(channel, raw);
    assert.equal(big.status, 'processed', big.reason ?? '');
    assert.equal(big.raw, null, 'not in the row');
    assert.match(big.rawKey ?? '', /^sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    assert.equal(big.size, raw.length);
    assert.ok((await mailStore.get(big.rawKey!)).equals(raw), 'the file holds the message byte for byte');
    const kase = await caseOf(t.id, big.caseId);
    assert.match(kase.subject ?? '', /^Big file/);
    const [email] = await db
      .select()
      .from(emailMessages)
      .where(and(eq(emailMessages.tenantId, t.id), eq(emailMessages.messageId, big.messageId!)));
    assert.match(email?.fromAddress ?? '', /^big\d+@customer\.example$/);
    const [kept] = await db
      .select()
      .from(attachments)
      .where(and(eq(attachments.tenantId, t.id), eq(attachments.messageId, big.messageId!)));
    assert.equal(kept?.filename, 'dump.bin');
    assert.ok((await files.get(kept!.storageKey)).equals(file), 'the attachment byte for byte');
  });

  test('a large message delivered again is a duplicate and writes no second file, with or without a Message-ID', async () => {
    const { t, channel } = await setup();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-raw-dupe-'));
    const own = createFileStore(dir);
    const store = (raw: Buffer) =>
      storeInbound(db, own, { channel, source: 'smtp', raw, envelopeFrom: null, envelopeTo: [] });
    const { raw } = withAttachment(1_200_000);
    const first = await store(raw);
    assert.equal(first.duplicate, false);
    assert.deepEqual(await store(raw), { id: first.id, duplicate: true });
    // A relay's redelivery: the same Message-ID under one more Received line.
    const relayed = Buffer.concat([
      Buffer.from('Received: from relay.example; Mon, 1 Jun 2026 10:00:00 +0000\r\n'),
      raw,
    ]);
    assert.deepEqual(await store(relayed), { id: first.id, duplicate: true });
    const { raw: anonymous } = withAttachment(1_200_000, { messageId: null });
    const hashed = await store(anonymous);
    assert.deepEqual(await store(anonymous), { id: hashed.id, duplicate: true });
    assert.equal(filesIn(dir).length, 2, 'one file per message, no temporary files left');
    const [n] = await rows<{ n: number }>(
      db,
      sql`select count(*)::int as n from inbound_emails where tenant_id = ${t.id} and channel_id = ${channel.id}`,
    );
    assert.equal(n!.n, 2);
    await db
      .update(inboundEmails)
      .set({ status: 'ignored' })
      .where(inArray(inboundEmails.id, [first.id, hashed.id]));
  });

  test('a row with neither raw bytes nor a raw key, or with both, is refused by the database', async () => {
    const { t, channel } = await setup();
    const row = (raw: Buffer | null, rawKey: string | null) =>
      db.insert(inboundEmails).values({
        tenantId: t.id,
        channelId: channel.id,
        source: 'smtp',
        dedupeKey: `sha256:${randomUUID()}`,
        raw,
        rawKey,
        size: 1,
      });
    const refused = (err: unknown) => {
      const e = err as { message?: string; cause?: { message?: string } };
      return /inbound_emails_raw_or_key/.test(`${e.message} ${e.cause?.message}`);
    };
    await assert.rejects(row(null, null), refused);
    await assert.rejects(row(Buffer.from('x'), 'sha256/00/00'), refused);
  });

  test('a large message in quarantine is listed with its From and Subject and can be reprocessed', async () => {
    const { t, channel } = await setup();
    const { raw } = withAttachment(1_200_000, { from: null });
    const row = await deliver(channel, raw, []);
    assert.equal(row.status, 'quarantined');
    assert.match(row.reason ?? '', /^sender_invalid/);
    assert.ok(row.rawKey);
    const list = await app.inject({ url: '/api/v1/email/quarantine', headers: t.headers });
    assert.equal(list.statusCode, 200, list.body);
    const [item] = list.json().items as { id: string; subject: string | null; size: number }[];
    assert.deepEqual([item?.id, item?.subject, item?.size], [row.id, `Big file ${seq}`, raw.length]);
    const again = await app.inject({
      method: 'POST',
      url: `/api/v1/email/quarantine/${row.id}/reprocess`,
      headers: t.headers,
    });
    assert.equal(again.statusCode, 200, again.body);
    await processor.drain();
    const after = await inbound(t.id, row.id);
    assert.deepEqual([after.status, after.attempts], ['quarantined', 1], 'read from the file again');
  });

  test('a file gone missing: the message is retried, then quarantined with the reason, never half-processed', async () => {
    const { t, channel } = await setup();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-raw-missing-'));
    const own = createFileStore(dir);
    const lost = createInboundProcessor({ db, log: silent, secret, store: files, rawMail: own, now });
    const { raw } = withAttachment(1_200_000);
    const stored = await storeInbound(db, own, {
      channel,
      source: 'smtp',
      raw,
      envelopeFrom: null,
      envelopeTo: [],
    });
    fs.rmSync(dir, { recursive: true });
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      await lost.drain();
      later();
    }
    const row = await inbound(t.id, stored.id);
    assert.equal(row.status, 'quarantined');
    assert.match(row.reason ?? '', /could not be read from the raw mail store \(ENOENT\)/);
    assert.doesNotMatch(row.reason ?? '', /rapport-raw-missing/, 'no server path shown to admins');
    assert.equal(await caseCount(t.id), 0);
  });
});

describe('attachments', () => {
  test('an inline cid: image is marked inline, a file beside it is not, and equal bytes are stored once', async () => {
    const { t, channel } = await setup();
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const body = [
      '--r',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Look: <img src="cid:shot@customer.example"></p>',
      '--r',
      'Content-Type: image/png',
      'Content-ID: <shot@customer.example>',
      'Content-Transfer-Encoding: base64',
      '',
      png.toString('base64'),
      '--r',
      'Content-Type: image/png; name="copy.png"',
      'Content-Disposition: attachment; filename="copy.png"',
      'Content-Transfer-Encoding: base64',
      '',
      png.toString('base64'),
      '--r--',
    ].join('\n');
    const row = await deliver(channel, mail({ contentType: 'multipart/related; boundary="r"', body }));
    assert.equal(row.status, 'processed', row.reason ?? '');
    const stored = await db
      .select()
      .from(attachments)
      .where(and(eq(attachments.tenantId, t.id), eq(attachments.messageId, row.messageId!)));
    const inline = stored.find((a) => a.inline);
    const file = stored.find((a) => !a.inline);
    assert.equal(inline?.contentId, 'shot@customer.example');
    assert.equal(file?.filename, 'copy.png');
    assert.equal(inline?.storageKey, file?.storageKey, 'the same bytes, one stored file');
    assert.deepEqual(await files.get(file!.storageKey), png);
  });
});

describe('hostile and real mail', () => {
  test('XS-01: hostile HTML never survives into the stored HTML', async () => {
    const { t, channel } = await setup();
    const payloads = [
      '<script>window.__xss=1</script>',
      '<img src=x onerror="window.__xss=1">',
      '<a href="javascript:window.__xss=1">a</a>',
      '<a href="jav&#x09;ascript:alert(1)">b</a>',
      '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">c</a>',
      '<a href="vbscript:msgbox(1)">d</a>',
      '<style>@import url(http://evil.example/x.css); body{background:url(javascript:alert(1))}</style>',
      '<svg><script>alert(1)</script></svg>',
      '<xmp><img src=x onerror=alert(1)></xmp>',
      '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
      '<template><script>alert(1)</script></template>',
      '<base href="http://evil.example/">',
      '<form action="http://evil.example"><input name=p></form>',
      '<meta http-equiv="refresh" content="0;url=http://evil.example">',
      '<iframe src="http://evil.example"></iframe>',
    ];
    const row = await deliver(
      channel,
      mail({ contentType: 'text/html; charset=utf-8', body: `<p>Hello</p>${payloads.join('\n')}` }),
    );
    assert.equal(row.status, 'processed', row.reason ?? '');
    const [details] = await db
      .select({ html: emailMessages.html })
      .from(emailMessages)
      .where(and(eq(emailMessages.tenantId, t.id), eq(emailMessages.messageId, row.messageId!)));
    const html = details!.html!.toLowerCase();
    assert.match(html, /hello/);
    for (const bad of [
      '<script',
      'onerror',
      'javascript:',
      'vbscript:',
      'data:text/html',
      '@import',
      '<style',
      '<svg',
      '<xmp',
      '<noscript',
      '<template',
      '<base',
      '<form',
      '<input',
      '<meta',
      '<iframe',
      'evil.example/x.css',
    ]) {
      assert.ok(!html.includes(bad), `${bad} survived: ${html}`);
    }
  });

  test('every mail of the Zammad corpus becomes a case with the sender, name and subject the parser reads', async () => {
    const corpus = path.resolve(
      path.dirname(fileURLToPath(import.meta.url)),
      '../../../../shared/corpus/mail/zammad',
    );
    const boxes = fs
      .readdirSync(corpus)
      .filter((f) => f.endsWith('.box'))
      .sort();
    assert.ok(boxes.length >= 30);
    for (const box of boxes) {
      // A mailbox each: several corpus mails share one Message-ID, which would be a redelivery.
      const { t, channel } = await setup();
      const raw = fs.readFileSync(path.join(corpus, box));
      const parsed = await parseEmail(raw);
      const stored = await storeInbound(db, mailStore, {
        channel,
        source: 'smtp',
        raw,
        envelopeFrom: null,
        envelopeTo: [],
      });
      await processor.drain();
      const row = await inbound(t.id, stored.id);
      assert.equal(row.status, 'processed', `${box}: ${row.reason}`);
      const kase = await caseOf(t.id, row.caseId);
      const [author] = await db
        .select({ name: customers.name, identity: customerIdentities.value })
        .from(messages)
        .innerJoin(
          customers,
          and(eq(customers.tenantId, messages.tenantId), eq(customers.id, messages.authorCustomerId)),
        )
        .innerJoin(
          customerIdentities,
          and(
            eq(customerIdentities.tenantId, customers.tenantId),
            eq(customerIdentities.customerId, customers.id),
          ),
        )
        .where(and(eq(messages.tenantId, t.id), eq(messages.id, row.messageId!)));
      // Quoted local parts, spaces and dotless domains (mail071, mail076, mail081) are kept as parsed.
      assert.equal(author?.identity, parsed.from!.address, `${box}: sender`);
      assert.equal(author?.name ?? '', parsed.from!.name, `${box}: display name`);
      const [details] = await db
        .select()
        .from(emailMessages)
        .where(and(eq(emailMessages.tenantId, t.id), eq(emailMessages.messageId, row.messageId!)));
      assert.equal(details?.fromName ?? '', parsed.from!.name, `${box}: display name as given`);
      assert.equal(details?.subject, parsed.subject, `${box}: subject`);
      // Case subjects stop at 300 characters (mail017); the email keeps the whole subject.
      if (parsed.subject !== '')
        assert.equal(kase.subject, parsed.subject.slice(0, 300), `${box}: the case is named after it`);
      assert.equal(details?.automatic ?? null, parsed.automatic?.kind ?? null, `${box}: automatic`);
    }
  });
});

test('the app’s own processor takes stored mail into a case when kicked (the SMTP listener’s onStored)', async () => {
  const { t, channel } = await setup();
  app.emailInbound.start();
  try {
    const stored = await storeInbound(db, mailStore, {
      channel,
      source: 'smtp',
      raw: mail({ subject: 'Kicked' }),
      envelopeFrom: null,
      envelopeTo: [channel.address!],
    });
    app.emailInbound.kick();
    await app.emailInbound.drain();
    const row = await inbound(t.id, stored.id);
    assert.equal(row.status, 'processed', JSON.stringify({ ...row, raw: null }));
    assert.equal((await caseOf(t.id, row.caseId)).subject, 'Kicked');
  } finally {
    await app.emailInbound.stop();
  }
});

test('a round’s queues keep a thread together even when arrival times tie: the answered message first', () => {
  const row = (sender: string, messageId: string | null, refs: string[] = []) => ({
    keys: { sender, messageId, refs },
  });
  const reply = row('colleague@customer.example', 'r@x', ['o@x']);
  const original = row('first@customer.example', 'o@x');
  const followUp = row('first@customer.example', 'f@x');
  const other = row('someone@else.example', 's@x');
  // The reply was claimed before its original (equal received_at, tie broken the other way).
  const queues = threadQueues([reply, other, original, followUp]);
  assert.equal(queues.length, 2);
  assert.deepEqual(
    queues.find((q) => q.includes(reply)),
    [original, reply, followUp],
  );
  assert.deepEqual(
    queues.find((q) => q.includes(other)),
    [other],
  );
});
