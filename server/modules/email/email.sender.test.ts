/**
 * The leasing sender against a relay (a local smtp-server on loopback): back-off while the relay
 * is down, a final failure after the last back-off or at once on a 5xx, with the relay's reason
 * on the message; at-least-once delivery across a crash (CR-03); nothing leaves without a relay
 * URL; a large message is sent from the raw mail store; and a password never reaches an error.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import {
  type EmailCase,
  emailCase,
  header,
  mailTo,
  outboxRows,
  postForm,
  quiet,
  sender,
  startOutboundApp,
  startRelay,
  timelineMessage,
} from '../../../tests/support/outbound.ts';
import { BACKOFF_MS } from '../../lib/leased-sender.ts';
import { createFileStore } from './email.attachments.ts';
import { RAW_ROW_MAX_BYTES } from './email.inbound.ts';
import { parseEmail } from './email.parse.ts';
import { claimDue, createOutboxSender, errorText } from './email.sender.ts';

const { app, database } = await startOutboundApp();

async function reply(s: EmailCase, text = 'Please restart the router.') {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${s.caseId}/messages`,
    headers: s.agent.write,
    payload: { kind: 'reply', text },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().message as { id: string; delivery: Record<string, unknown> | null };
}

describe('email sender: retries and failures', () => {
  test('while the relay is down the reply stays queued with back-off, and goes out once it is back', async () => {
    const probe = await startRelay();
    const port = probe.port;
    await probe.close();
    const s = await emailCase(app);
    const message = await reply(s);
    const clock = { now: new Date() };
    const outbox = sender(app, `smtp://127.0.0.1:${port}`, clock);

    assert.deepEqual(await outbox.drain(), { sent: 0, retried: 1, failed: 0 });
    let shown = await timelineMessage(app, s, message.id);
    assert.equal(shown.delivery?.status, 'queued');
    assert.equal(shown.delivery?.attempts, 1);
    assert.match(String(shown.delivery?.lastError), /ECONNREFUSED|connect/i);
    const [row] = await outboxRows(app, s.t.id);
    assert.equal(row!.nextAttemptAt.getTime(), clock.now.getTime() + BACKOFF_MS[0]);

    // Not due yet: nothing is tried again before the back-off has passed.
    clock.now = new Date(clock.now.getTime() + BACKOFF_MS[0] - 1000);
    assert.deepEqual(await outbox.drain(), { sent: 0, retried: 0, failed: 0 });

    const relay = await startRelay(port);
    clock.now = new Date(clock.now.getTime() + 2000);
    assert.deepEqual(await outbox.drain(), { sent: 1, retried: 0, failed: 0 });
    assert.equal(mailTo(relay, s.customerAddress).length, 1);
    shown = await timelineMessage(app, s, message.id);
    assert.equal(shown.delivery?.status, 'sent');
    assert.equal(shown.delivery?.attempts, 2);
    assert.equal(shown.delivery?.lastError, undefined);
  });

  test('after the last back-off the reply fails for good, with the reason on the message', async () => {
    const probe = await startRelay();
    await probe.close();
    const s = await emailCase(app);
    const message = await reply(s);
    const clock = { now: new Date() };
    const outbox = sender(app, probe.url, clock);
    for (const wait of BACKOFF_MS) {
      assert.equal((await outbox.drain()).retried, 1);
      clock.now = new Date(clock.now.getTime() + wait);
    }
    assert.deepEqual(await outbox.drain(), { sent: 0, retried: 0, failed: 1 });
    const shown = await timelineMessage(app, s, message.id);
    assert.equal(shown.delivery?.status, 'failed');
    assert.equal(shown.delivery?.attempts, BACKOFF_MS.length + 1);
  });

  test('a permanent 550 fails at once and the relay’s reason shows on the message', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    relay.refuse.add(s.customerAddress);
    const message = await reply(s);
    assert.deepEqual(await sender(app, relay.url, { now: new Date() }).drain(), {
      sent: 0,
      retried: 0,
      failed: 1,
    });
    const shown = await timelineMessage(app, s, message.id);
    assert.equal(shown.delivery?.status, 'failed');
    assert.equal(shown.delivery?.attempts, 1);
    assert.match(String(shown.delivery?.lastError), /550.*mailbox unavailable/);
  });

  test('a crash after the relay accepted sends the same message once more, with the same Message-ID (CR-03)', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    await reply(s);
    const clock = { now: new Date() };
    // The first node claims the row and hands it over, then dies before recording it.
    const lease = 5 * 60_000;
    const claimed = (await claimDue(database.db, clock.now, 50, lease)).filter((r) => r.tenantId === s.t.id);
    assert.equal(claimed.length, 1);
    const transport = nodemailer.createTransport({ url: relay.url });
    await transport.sendMail({
      envelope: { from: claimed[0]!.envelopeFrom, to: claimed[0]!.envelopeTo },
      raw: claimed[0]!.raw!,
    });
    transport.close();

    const outbox = sender(app, relay.url, clock);
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
    const s = await emailCase(app);
    const message = await reply(s);
    assert.deepEqual(await sender(app, null, { now: new Date() }).drain(), {
      sent: 0,
      retried: 0,
      failed: 0,
    });
    const shown = await timelineMessage(app, s, message.id);
    assert.deepEqual(shown.delivery, { status: 'queued', attempts: 0 });
  });
});

describe('email sender: errors kept on a message', () => {
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

describe('email sender: a message larger than a row holds', () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 'Line test results, evening of the storm.\n');

  test('is kept in the raw mail store, not in the row, and the relay gets every byte of it', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    const res = await postForm(app, s, { kind: 'reply', text: 'The line test is attached.' }, [
      { filename: 'line-test.txt', contentType: 'text/plain', content: big },
    ]);
    assert.equal(res.statusCode, 201, res.body);
    const [row] = await outboxRows(app, s.t.id);
    assert.equal(row!.raw, null, 'the row names the stored message instead of holding it');
    assert.match(row!.rawKey ?? '', /\S/);

    // Earlier tests of this file may have left mail queued; this one is picked by its recipient.
    await sender(app, relay.url, { now: new Date() }).drain();
    const [mail] = mailTo(relay, s.customerAddress);
    assert.ok(mail && mail.raw.length > RAW_ROW_MAX_BYTES);
    const parsed = await parseEmail(mail.raw);
    assert.equal(parsed.attachments.length, 1);
    assert.equal(parsed.attachments[0]!.filename, 'line-test.txt');
    assert.deepEqual(parsed.attachments[0]!.content, big);
  });

  test('whose stored bytes are gone fails at once, saying so, and sends nothing', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    const res = await postForm(app, s, { kind: 'reply', text: 'Attached again.' }, [
      { filename: 'again.txt', contentType: 'text/plain', content: big },
    ]);
    assert.equal(res.statusCode, 201, res.body);
    const empty = createFileStore(fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-empty-mail-')));
    const lost = createOutboxSender({ db: database.db, log: quiet, url: relay.url, rawMail: empty });
    try {
      const result = await lost.drain();
      assert.equal(result.failed >= 1, true);
    } finally {
      await lost.stop();
    }
    assert.equal(mailTo(relay, s.customerAddress).length, 0);
    const shown = await timelineMessage(app, s, res.json().message.id);
    assert.equal(shown.delivery?.status, 'failed');
    assert.match(String(shown.delivery?.lastError), /could not be read from the raw mail store \(ENOENT\)/);
    assert.doesNotMatch(String(shown.delivery?.lastError), /\/tmp\//, 'no path on the server is shown');
  });
});
