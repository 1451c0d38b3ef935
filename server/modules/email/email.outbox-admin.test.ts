/**
 * Outbound mail that failed, as admins and supervisors see it: GET /api/v1/email/outbox lists it
 * with recipient, subject, case and the relay's reason, a page at a time, for their own tenant
 * only; POST /api/v1/email/outbox/:id/retry sends a failed mail again (409 for any other).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { OutboundEmail } from '../../../shared/api/email.ts';
import * as given from '../../../tests/support/given.ts';
import {
  type EmailCase,
  emailCase,
  mailTo,
  sender,
  startOutboundApp,
  startRelay,
  timelineMessage,
} from '../../../tests/support/outbound.ts';
import { channels } from '../../db/schema/index.ts';

const { app } = await startOutboundApp();

async function reply(s: EmailCase, text = 'Please restart the router.') {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${s.caseId}/messages`,
    headers: s.agent.write,
    payload: { kind: 'reply', text },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().message as { id: string };
}

async function list(t: given.GivenTenant, query = '', headers: Record<string, string> = t.headers) {
  const res = await app.inject({ url: `/api/v1/email/outbox${query}`, headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { items: OutboundEmail[]; nextCursor: string | null };
}

/** A case whose reply the relay refused for good (550). */
async function failedReply() {
  const relay = await startRelay();
  const s = await emailCase(app);
  relay.refuse.add(s.customerAddress);
  const message = await reply(s);
  const clock = { now: new Date() };
  const outbox = sender(app, relay.url, clock);
  assert.equal((await outbox.drain()).failed >= 1, true);
  return { s, message, relay, outbox, clock };
}

describe('the list of failed outbound mail', () => {
  test('names the recipient, subject, case, attempts and the relay’s reason', async () => {
    const { s, message } = await failedReply();
    const { items, nextCursor } = await list(s.t, '?status=failed');
    assert.equal(nextCursor, null);
    assert.equal(items.length, 1);
    const [item] = items;
    assert.equal(item!.kind, 'reply');
    assert.equal(item!.status, 'failed');
    assert.equal(item!.recipient, s.customerAddress);
    assert.match(item!.subject ?? '', /^Re: \[#\d+-[a-z2-7]{5}\] Router keeps dropping$/);
    assert.equal(item!.caseId, s.caseId);
    assert.equal(item!.caseNumber, s.caseNumber);
    assert.equal(item!.messageId, message.id);
    assert.equal(item!.attempts, 1);
    assert.match(item!.lastError ?? '', /550.*mailbox unavailable/);
    assert.ok(Date.parse(item!.failedAt!) >= Date.parse(item!.queuedAt));
    assert.equal(item!.sentAt, null);
    // Failed is the default; queued and sent are lists of their own.
    assert.deepEqual((await list(s.t)).items, items);
    assert.deepEqual((await list(s.t, '?status=queued')).items, []);
  });

  test('lists a failed acknowledgement with its case too', async () => {
    const relay = await startRelay();
    const t = await given.tenant(app);
    const channel = await given.emailChannel(t);
    await app.database.db
      .update(channels)
      .set({ settings: { acknowledgement: { enabled: true, locale: 'en' } } })
      .where(and(eq(channels.tenantId, t.id), eq(channels.id, channel.id)));
    relay.refuse.add('dana@customer.example');
    await given.inboundEmail(
      t,
      channel,
      Buffer.from(
        `From: dana@customer.example\r\nTo: ${channel.address}\r\nSubject: No dial tone\r\nMessage-ID: <dt-${t.slug}@customer.example>\r\n\r\nNothing.\r\n`,
      ),
    );
    await sender(app, relay.url, { now: new Date() }).drain();
    const [item] = (await list(t)).items;
    assert.equal(item?.kind, 'acknowledgement');
    assert.equal(item?.recipient, 'dana@customer.example');
    assert.match(item?.subject ?? '', /We have received your message: No dial tone/);
    assert.equal(item?.caseNumber, 1001);
  });

  test('pages newest first with a cursor, and refuses a cursor it did not hand out', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    relay.refuse.add(s.customerAddress);
    for (const text of ['one', 'two', 'three']) await reply(s, text);
    await sender(app, relay.url, { now: new Date() }).drain();
    const first = await list(s.t, '?limit=2');
    assert.equal(first.items.length, 2);
    assert.ok(first.nextCursor);
    const second = await list(s.t, `?limit=2&cursor=${first.nextCursor}`);
    assert.equal(second.items.length, 1);
    assert.equal(second.nextCursor, null);
    const ids = [...first.items, ...second.items].map((i) => i.id);
    assert.equal(new Set(ids).size, 3);
    const times = [...first.items, ...second.items].map((i) => Date.parse(i.queuedAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );

    for (const query of ['?cursor=bogus', '?status=lost', '?limit=0', '?limit=101', '?colour=red']) {
      const res = await app.inject({ url: `/api/v1/email/outbox${query}`, headers: s.t.headers });
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
      assert.match(res.json().error.code, /^(invalid_cursor|validation_failed|unknown_field)$/);
    }
  });

  test('shows a tenant its own mail only, and is for admins and supervisors', async () => {
    const { s } = await failedReply();
    const other = await given.tenant(app);
    assert.deepEqual((await list(other)).items, []);
    const supervisor = await given.signedIn(s.t, await given.user(s.t, 'supervisor'));
    assert.equal((await list(s.t, '', supervisor.read)).items.length, 1);
    const agent = await app.inject({ url: '/api/v1/email/outbox', headers: s.agent.read });
    assert.equal(agent.statusCode, 403);
  });
});

describe('retrying a failed mail', () => {
  test('queues it again with a fresh series of attempts; it goes out once the relay takes it', async () => {
    const { s, message, relay, outbox, clock } = await failedReply();
    const [item] = (await list(s.t)).items;
    relay.refuse.clear();
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/email/outbox/${item!.id}/retry`,
      headers: s.t.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { id: item!.id, status: 'queued' });
    assert.deepEqual((await list(s.t)).items, [], 'no longer failed');
    const queued = (await list(s.t, '?status=queued')).items;
    assert.equal(queued[0]?.attempts, 0);
    assert.equal(queued[0]?.lastError, null);
    assert.deepEqual((await timelineMessage(app, s, message.id)).delivery, { status: 'queued', attempts: 0 });

    clock.now = new Date(Date.now() + 1000);
    await outbox.drain();
    assert.equal(mailTo(relay, s.customerAddress).length, 1);
    assert.equal((await timelineMessage(app, s, message.id)).delivery?.status, 'sent');

    const again = await app.inject({
      method: 'POST',
      url: `/api/v1/email/outbox/${item!.id}/retry`,
      headers: s.t.headers,
    });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'outbound_email_not_failed');
    assert.match(again.json().error.message, /sent/);
  });

  test('answers 404 for mail that is not this tenant’s, and changes nothing', async () => {
    const { s } = await failedReply();
    const [item] = (await list(s.t)).items;
    const other = await given.tenant(app);
    for (const id of [item!.id, '00000000-0000-4000-8000-000000000000']) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/email/outbox/${id}/retry`,
        headers: other.headers,
      });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'outbound_email_not_found');
    }
    assert.equal((await list(s.t)).items[0]?.status, 'failed');
  });
});
