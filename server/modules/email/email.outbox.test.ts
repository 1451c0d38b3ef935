/**
 * An agent's reply by email: composed and queued with the reply, it reaches the tenant's relay
 * (a local smtp-server) with the agent's name, the signed threading hints and the signature, and
 * threads back through our own parser; notes and replies on other channels never send, an
 * address we cannot write safely is a 422 with nothing stored, header injection cannot reach
 * the relay (IN-02), and tenants stay apart. How the sender retries: email.sender.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
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
  timelineMessage,
} from '../../../tests/support/outbound.ts';
import { TEST_SECRET } from '../../../tests/support/test-app.ts';
import { emailMessages, messages } from '../../db/schema/index.ts';
import { deriveKey } from '../../lib/secrets.ts';
import { parseEmail } from './email.parse.ts';
import { tagFromSubject, tokenFromAddress, tokenFromMessageId } from './email.threading.ts';

const secret = deriveKey(TEST_SECRET, 'email-threading');
const { app, database } = await startOutboundApp();

async function post(s: EmailCase, payload: Record<string, unknown>, headers = s.agent.write) {
  return app.inject({ method: 'POST', url: `/api/v1/cases/${s.caseId}/messages`, headers, payload });
}

async function reply(s: EmailCase, text = 'Please restart the router.') {
  const res = await post(s, { kind: 'reply', text });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().message as { id: string; delivery: Record<string, unknown> | null };
}

describe('email outbox: an agent’s reply reaches the customer', () => {
  test('the relay gets the reply with the agent’s name, the token Reply-To, threading headers, the tag and the signature, and it threads back', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    const message = await reply(s, 'Hello Ada,\n\nplease restart the router.');
    const clock = { now: new Date() };
    assert.deepEqual(message.delivery, { status: 'queued', attempts: 0 });

    const result = await sender(app, relay.url, clock).drain();
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
    assert.equal(parsed.inReplyTo, s.inboundMessageId);
    assert.deepEqual(parsed.references, ['root.thread@mail.example.org', s.inboundMessageId]);
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
    assert.equal(stored?.inReplyTo, s.inboundMessageId);
    assert.equal(stored?.subject, parsed.subject);
    const shown = await timelineMessage(app, s, message.id);
    assert.equal(shown.delivery?.status, 'sent');
    assert.equal(shown.delivery?.attempts, 1);
    assert.ok(typeof shown.delivery?.sentAt === 'string');
  });

  test('a case without a threaded inbound mail replies on the case subject, tagged', async () => {
    const relay = await startRelay();
    const s = await emailCase(app, { inbound: false });
    await reply(s);
    await sender(app, relay.url, { now: new Date() }).drain();
    const [mail] = mailTo(relay, s.customerAddress);
    assert.ok(mail);
    const parsed = await parseEmail(mail.raw);
    assert.match(parsed.subject, /^\[#\d+-[a-z2-7]{5}\] Router keeps dropping$/);
    assert.equal(parsed.inReplyTo, null);
  });
});

describe('email outbox: what never goes out', () => {
  test('a note never sends mail and has no delivery', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    const res = await post(s, { kind: 'note', text: 'Customer sounds annoyed; check the line.' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().message.delivery, null);
    await sender(app, relay.url, { now: new Date() }).drain();
    assert.equal(mailTo(relay, s.customerAddress).length, 0);
    assert.equal((await outboxRows(app, s.t.id)).length, 0);
  });

  test('an address we cannot write safely is a 422 with a code, and nothing is stored', async () => {
    const s = await emailCase(app, { customerAddress: 'ada[1]@example.org', inbound: false });
    const before = await database.db.select().from(messages).where(eq(messages.tenantId, s.t.id));
    const res = await post(s, { kind: 'reply', text: 'Hello' });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().error.code, 'email_invalid_address');
    assert.equal(res.json().error.details[0].path, 'to[0].address');
    const afterwards = await database.db.select().from(messages).where(eq(messages.tenantId, s.t.id));
    assert.equal(afterwards.length, before.length);
    assert.equal((await outboxRows(app, s.t.id)).length, 0);
  });

  test('a reply on another channel is not mailed', async () => {
    const s = await emailCase(app);
    const res = await post(s, { kind: 'reply', text: 'Called you back.', channel: 'phone' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().message.delivery, null);
    assert.equal((await outboxRows(app, s.t.id)).length, 0);
  });

  test('IN-02: CRLF and encoded-word tricks in the agent’s and the customer’s names add no header and no recipient', async () => {
    const relay = await startRelay();
    const tricks = [
      { agentName: 'Sam\r\nBcc: victim@evil.example', customerName: 'Ada\r\nCc: other@evil.example' },
      {
        agentName: '=?utf-8?q?Sam=0D=0ABcc=3A_victim=40evil=2Eexample?=',
        customerName: '=?utf-8?b?QWRhIDxvdGhlckBldmlsLmV4YW1wbGU+LCA=?= x',
      },
      { agentName: 'Sam", victim@evil.example, "', customerName: 'Ada\tLovelace\n\nX-Injected: yes' },
    ];
    for (const trick of tricks) {
      const s = await emailCase(app, trick);
      await reply(s);
      await sender(app, relay.url, { now: new Date() }).drain();
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

describe('email outbox: tenants stay apart', () => {
  test('another tenant cannot see a message’s delivery nor reply into the case', async () => {
    const s = await emailCase(app);
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
    assert.equal((await outboxRows(app, s.t.id)).length, 1);
    assert.equal((await outboxRows(app, other.id)).length, 0);
    const shown = await timelineMessage(app, s, message.id);
    assert.equal(shown.delivery?.status, 'queued');
  });
});
