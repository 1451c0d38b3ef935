/**
 * The new-case acknowledgement: automatic mail with the case number and owner, in the
 * customer's language; a message of the case the timeline shows with its delivery; at most one
 * per recipient per channel per 24 h, and one held back by that cap raises an alert: an event on
 * the case's timeline, a Prometheus counter and a warning in the log (SECURITY.md EL-03). A
 * simulated peer helpdesk that acknowledges everything, over real SMTP both ways, gets at most
 * one acknowledgement from us.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import * as given from '../../../tests/support/given.ts';
import {
  type EmailCase,
  emailCase,
  header,
  mailTo,
  outboxRows,
  sender,
  startOutboundApp,
  startRelay,
} from '../../../tests/support/outbound.ts';
import { TEST_SECRET } from '../../../tests/support/test-app.ts';
import { channels } from '../../db/schema/index.ts';
import { deriveKey } from '../../lib/secrets.ts';
import type { ChannelRow } from '../channels/channels.queries.ts';
import { type AcknowledgementInput, enqueueAcknowledgement } from './email.acknowledge.ts';
import { rawMail } from './email.fixtures.ts';
import { parseEmail } from './email.parse.ts';
import { createSmtpListener } from './email.smtp.ts';
import { tagFromSubject, tokenFromAddress, tokenFromMessageId } from './email.threading.ts';

const secret = deriveKey(TEST_SECRET, 'email-threading');
const logs: { level: number; msg: string; [key: string]: unknown }[] = [];
const { app, database } = await startOutboundApp({ logs });
const db = database.db;

async function acknowledging(
  channel: { tenantId: string; id: string },
  settings: Record<string, unknown> = {},
) {
  await db
    .update(channels)
    .set({ settings: { acknowledgement: { enabled: true, locale: 'en', ...settings } } })
    .where(and(eq(channels.tenantId, channel.tenantId), eq(channels.id, channel.id)));
}

const ackInput = (s: EmailCase): AcknowledgementInput => ({
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
  inReplyTo: `<${s.inboundMessageId}>`,
});

const enqueue = (input: AcknowledgementInput) =>
  db.transaction((tx) => enqueueAcknowledgement(tx, input, { secret }));

interface Entry {
  type: string;
  actor: { type: string };
  data: Record<string, unknown>;
  message?: {
    id: string;
    kind: string;
    authorUserId: string | null;
    text: string;
    delivery: { status: string } | null;
    email: { automatic: string | null; subject: string | null; hasHtml: boolean } | null;
  };
}

async function timeline(t: given.GivenTenant, caseId: string): Promise<Entry[]> {
  const res = await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items;
}

async function suppressedCount(): Promise<number> {
  const res = await app.inject({ url: '/metrics' });
  const line = /^rapport_email_acknowledgements_suppressed_total (\d+)$/m.exec(res.body);
  assert.ok(line, 'the counter is exported');
  return Number(line[1]);
}

describe('the acknowledgement mail', () => {
  test('carries the case number and owner, is automatic, threads, and a second one within 24 h is held back (EL-03)', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    await acknowledging(s.channel);
    const first = await enqueue(ackInput(s));
    assert.equal(first.status, 'queued');
    const second = await enqueue({ ...ackInput(s), recipient: s.customerAddress });
    assert.equal(second.status, 'suppressed', 'a second acknowledgement to the same address is capped');
    assert.equal((await outboxRows(app, s.t.id)).filter((r) => r.kind === 'acknowledgement').length, 1);

    await sender(app, relay.url, { now: new Date() }).drain();
    const got = mailTo(relay, s.customerAddress);
    assert.equal(got.length, 1);
    const raw = got[0]!.raw;
    assert.deepEqual(header(raw, 'Auto-Submitted'), ['auto-replied']);
    assert.deepEqual(header(raw, 'X-Auto-Response-Suppress'), ['All']);
    const parsed = await parseEmail(raw);
    assert.match(parsed.text, new RegExp(`case #${s.caseNumber}\\b`));
    assert.match(parsed.text, /Sam Taylor will take care of it/);
    assert.match(parsed.text, /Hello Ada Lovelace,/);
    assert.equal(parsed.inReplyTo, s.inboundMessageId);
    assert.deepEqual(tagFromSubject(secret, s.t.id, parsed.subject), { number: s.caseNumber, signed: true });
    // Our Message-ID names the acknowledgement's message on the case.
    assert.deepEqual(tokenFromMessageId(secret, s.t.id, parsed.messageId!), {
      tenantId: s.t.id,
      caseId: s.caseId,
      messageId: first.status === 'queued' ? first.messageId : '',
    });
    assert.equal(tokenFromAddress(secret, s.t.id, parsed.replyTo!.address)?.caseId, s.caseId);
    assert.equal(parsed.from?.name, 'Northwind Broadband');
  });

  test('names the team while the case has no owner, in the channel’s language and with its own subject', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    await acknowledging(s.channel, { locale: 'de', subject: 'Vorgang {{caseNumber}} eröffnet' });
    const ok = await enqueue({ ...ackInput(s), ownerName: null, locale: 'ja' });
    assert.equal(ok.status, 'queued');
    await sender(app, relay.url, { now: new Date() }).drain();
    const parsed = await parseEmail(mailTo(relay, s.customerAddress)[0]!.raw);
    assert.match(
      parsed.subject,
      new RegExp(`\\[#${s.caseNumber}-[a-z2-7]{5}\\] Vorgang ${s.caseNumber} eröffnet$`),
    );
    assert.match(parsed.text, /Broadband kümmert sich darum/);
  });

  test('is not queued when the channel has it switched off, nor for another tenant’s channel', async () => {
    const s = await emailCase(app);
    assert.equal((await enqueue(ackInput(s))).status, 'off');
    await acknowledging(s.channel);
    const other = await given.tenant(app, 'Other Org');
    assert.equal((await enqueue({ ...ackInput(s), tenantId: other.id })).status, 'off');
    assert.equal((await outboxRows(app, s.t.id)).length, 0);
    assert.equal((await outboxRows(app, other.id)).length, 0);
    assert.equal((await timeline(s.t, s.caseId)).filter((e) => e.type.startsWith('email.')).length, 0);
  });
});

describe('the acknowledgement on the case', () => {
  let seq = 0;
  const customerMail = (channel: ChannelRow, from: string, subject = `Question ${++seq}`) =>
    rawMail(
      [
        `From: ${from}`,
        `To: ${channel.address}`,
        `Subject: ${subject}`,
        `Message-ID: <q${seq}-${randomUUID()}@customer.example>`,
        'Content-Type: text/plain; charset=utf-8',
      ],
      'My line is down since Monday.\n',
    );

  test('shows as an automatic message on the timeline with its delivery, which follows the relay', async () => {
    const relay = await startRelay();
    const t = await given.tenant(app);
    const channel = (await given.emailChannel(t)) as ChannelRow;
    await acknowledging(channel);
    await given.inboundEmail(t, channel, customerMail(channel, 'Robin <robin@customer.example>'));
    const [opened] = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
    let entries = await timeline(t, opened.id);
    const ack = entries.find((e) => e.type === 'email.acknowledgement_queued');
    assert.ok(ack?.message, 'the acknowledgement is on the timeline with its message');
    assert.equal(ack.actor.type, 'system');
    assert.equal(ack.data.recipient, 'robin@customer.example');
    assert.equal(ack.message.kind, 'outbound');
    assert.equal(ack.message.authorUserId, null, 'no person wrote it');
    assert.match(ack.message.text, new RegExp(`case #${opened.number}`));
    assert.equal(ack.message.email?.automatic, 'auto_reply');
    assert.equal(ack.message.email?.hasHtml, true, 'the whole email can be shown');
    assert.equal(ack.message.delivery?.status, 'queued');
    assert.ok(
      entries.findIndex((e) => e.type === 'contact.received') < entries.indexOf(ack),
      'after the mail it answers',
    );

    await sender(app, relay.url, { now: new Date() }).drain();
    entries = await timeline(t, opened.id);
    const sent = entries.find((e) => e.type === 'email.acknowledgement_queued');
    assert.equal(sent?.message?.delivery?.status, 'sent');
    assert.equal(mailTo(relay, 'robin@customer.example').length, 1);
    const kase = (await app.inject({ url: `/api/v1/cases/${opened.id}`, headers: t.headers })).json();
    assert.equal(kase.firstResponseAt, null, 'an automatic acknowledgement is not a first response');
  });

  test('held back by the cap, it leaves an alert: on the new case, in /metrics and in the log', async () => {
    const t = await given.tenant(app);
    const channel = (await given.emailChannel(t)) as ChannelRow;
    await acknowledging(channel);
    const before = await suppressedCount();
    await given.inboundEmail(t, channel, customerMail(channel, 'kim@customer.example'));
    const [first] = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
    await app.inject({
      method: 'PATCH',
      url: `/api/v1/cases/${first.id}`,
      headers: t.headers,
      payload: { status: 'resolved' },
    });
    await given.inboundEmail(t, channel, customerMail(channel, 'kim@customer.example', 'Another thing'));
    const list = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
    assert.equal(list.length, 2, 'the second mail opened a case of its own');
    const second = list.find((c: { id: string }) => c.id !== first.id);

    const entries = await timeline(t, second.id);
    assert.equal(entries.filter((e) => e.type === 'email.acknowledgement_queued').length, 0);
    const alert = entries.find((e) => e.type === 'email.acknowledgement_suppressed');
    assert.ok(alert, 'the case says why it was not acknowledged');
    assert.deepEqual(alert.data, {
      recipient: 'kim@customer.example',
      channelId: channel.id,
      windowHours: 24,
    });
    assert.equal(await suppressedCount(), before + 1);
    const warned = logs.find(
      (l) => l.level === 40 && /possible mail loop/.test(l.msg) && l.caseNumber === second.number,
    );
    assert.ok(warned, 'a warning in the log');
    assert.equal(warned.senderDomain, 'customer.example');
    assert.doesNotMatch(JSON.stringify(warned), /kim@/, 'the log names the domain, not the person');
  });
});

describe('EL-03: a peer helpdesk that acknowledges everything', () => {
  test('gets at most one acknowledgement from us, the exchange stops, and an alert is raised', async () => {
    const t = await given.tenant(app, 'Harbour Fibre');
    const channel = (await given.emailChannel(t)) as ChannelRow;
    await acknowledging(channel);
    const peer = 'helpdesk@peer-desk.example';

    // Our inbound SMTP, as main.ts runs it.
    const listener = createSmtpListener({
      db,
      rawMail: app.rawMail,
      log: { info() {}, warn() {} },
      host: '127.0.0.1',
      port: 0,
      maxBytes: 1024 * 1024,
      onStored: () => app.emailInbound.kick(),
    });
    const { port } = await listener.listen();
    const toUs = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });

    // The peer: every mail it receives gets a fresh "request received" back to the sender, with
    // no automatic-mail headers, its own subject and no reference to what it answers.
    let ticket = 0;
    const peerSent: Promise<unknown>[] = [];
    const autoAcknowledge = (to: string) =>
      toUs.sendMail({
        from: `Peer Desk <${peer}>`,
        to,
        subject: `Request PEER-${++ticket} received`,
        messageId: `<peer-${ticket}-${randomUUID()}@peer-desk.example>`,
        text: `Thank you for your message. We have logged it as PEER-${ticket}.`,
      });
    const relay = await startRelay();
    relay.onMessage = (m) => {
      if (m.to.includes(peer)) peerSent.push(autoAcknowledge(m.from));
    };
    const clock = { now: new Date() };
    const outbox = sender(app, relay.url, clock);
    const before = await suppressedCount();

    try {
      // The peer writes first; an agent resolves whatever it opens, as agents do with machine
      // chatter, so each of its mails would open a new case and be acknowledged but for the cap.
      peerSent.push(autoAcknowledge(channel.address!));
      for (let round = 0; round < 12; round++) {
        await Promise.all(peerSent.splice(0));
        await app.emailInbound.drain();
        const active = (await app.inject({ url: '/api/v1/cases?status=active', headers: t.headers })).json();
        for (const c of active.items) {
          await app.inject({
            method: 'PATCH',
            url: `/api/v1/cases/${c.id}`,
            headers: t.headers,
            payload: { status: 'resolved' },
          });
        }
        clock.now = new Date();
        const { sent } = await outbox.drain();
        if (sent === 0 && peerSent.length === 0) break;
      }
    } finally {
      toUs.close();
      await listener.close();
    }

    const toPeer = mailTo(relay, peer);
    assert.equal(toPeer.length, 1, 'one acknowledgement reached the peer, no more');
    assert.deepEqual(header(toPeer[0]!.raw, 'Auto-Submitted'), ['auto-replied']);
    assert.equal(ticket, 2, 'the peer wrote twice: its first mail and its answer to our acknowledgement');
    const cases = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
    assert.equal(cases.length, 2);
    const alerts = [];
    for (const c of cases) {
      alerts.push(...(await timeline(t, c.id)).filter((e) => e.type === 'email.acknowledgement_suppressed'));
    }
    assert.equal(alerts.length, 1, 'the held-back acknowledgement is on the case it would have answered');
    assert.equal(alerts[0]!.data.recipient, peer);
    assert.equal(await suppressedCount(), before + 1);
  });
});
