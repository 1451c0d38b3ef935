/**
 * Files on an agent's reply: POST /api/v1/cases/:id/messages as multipart/form-data. The files
 * are stored with the reply, listed on its timeline entry, downloadable, and reach the relay as
 * MIME attachments with names that cannot add a header (SECURITY.md IN-02). Each limit has its
 * own code and stores nothing; a refusal over real HTTP arrives as an answer, not a reset.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import {
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS,
  MAX_ATTACHMENTS_TOTAL_BYTES,
} from '../../../shared/domain/attachments.ts';
import * as given from '../../../tests/support/given.ts';
import {
  type EmailCase,
  emailCase,
  formBody,
  header,
  mailTo,
  outboxRows,
  postForm,
  sender,
  startOutboundApp,
  startRelay,
  timelineMessage,
} from '../../../tests/support/outbound.ts';
import { rows } from '../../db/client.ts';
import { parseEmail } from '../email/email.parse.ts';

const { app } = await startOutboundApp();

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
const reply = { kind: 'reply', text: 'The line test report is attached.' };

/** What the tenant has stored: a refused upload must leave all of it unchanged. */
async function stored(s: EmailCase) {
  const [counts] = await rows(
    app.database.db,
    sql`select (select count(*)::int from messages where tenant_id = ${s.t.id}) as messages,
               (select count(*)::int from attachments where tenant_id = ${s.t.id}) as attachments,
               (select count(*)::int from email_outbox where tenant_id = ${s.t.id}) as outbox,
               (select count(*)::int from events where tenant_id = ${s.t.id}) as events`,
  );
  return counts;
}

describe('a reply with files', () => {
  test('is stored with its files, shows them on the timeline, and the relay gets them as attachments', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    const photo = Buffer.alloc(300 * 1024, 0xab);
    const res = await postForm(app, s, reply, [
      { filename: 'line-test.pdf', contentType: 'application/pdf', content: PDF },
      { filename: 'Prüfbericht – Küche.jpg', contentType: 'image/jpeg', content: photo },
    ]);
    assert.equal(res.statusCode, 201, res.body);
    const message = res.json().message as { id: string; delivery: { status: string } | null };
    assert.equal(message.delivery?.status, 'queued');

    const shown = await timelineMessage(app, s, message.id);
    assert.deepEqual(
      shown.email?.attachments.map((a) => [a.filename, a.contentType, a.size]),
      [
        ['line-test.pdf', 'application/pdf', PDF.length],
        ['Prüfbericht – Küche.jpg', 'image/jpeg', photo.length],
      ],
    );
    const download = await app.inject({
      url: `/api/v1/attachments/${shown.email!.attachments[0]!.id}`,
      headers: s.agent.read,
    });
    assert.equal(download.statusCode, 200);
    assert.deepEqual(download.rawPayload, PDF);

    await sender(app, relay.url, { now: new Date() }).drain();
    const [mail, ...more] = mailTo(relay, s.customerAddress);
    assert.ok(mail);
    assert.equal(more.length, 0);
    const parsed = await parseEmail(mail.raw);
    assert.match(parsed.text, /line test report is attached/);
    assert.deepEqual(
      parsed.attachments.map((a) => [a.filename, a.contentType, a.content.length]),
      [
        ['line-test.pdf', 'application/pdf', PDF.length],
        ['Prüfbericht – Küche.jpg', 'image/jpeg', photo.length],
      ],
    );
    assert.deepEqual(parsed.attachments[0]!.content, PDF);
    assert.deepEqual(parsed.attachments[1]!.content, photo);
    assert.equal((await timelineMessage(app, s, message.id)).delivery?.status, 'sent');
  });

  test('IN-02: a hostile file name adds no header and no recipient, and names no path', async () => {
    const relay = await startRelay();
    const s = await emailCase(app);
    const names = [
      'report.pdf"\r\nBcc: victim@evil.example\r\nX-Injected: yes',
      '=?utf-8?b?ZXZpbC5wZGYiDQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGU=?=',
      '../../etc/passwd',
      'invoice\u202Efdp.exe',
      `${'long-name-'.repeat(40)}.txt`,
    ];
    const res = await postForm(
      app,
      s,
      reply,
      names.map((filename) => ({ filename, contentType: 'text/plain', content: Buffer.from('hello') })),
    );
    assert.equal(res.statusCode, 201, res.body);
    await sender(app, relay.url, { now: new Date() }).drain();
    const got = mailTo(relay, s.customerAddress);
    assert.equal(got.length, 1);
    assert.equal(relay.received.filter((m) => m.to.some((a) => a.includes('evil.example'))).length, 0);
    const raw = got[0]!.raw;
    assert.deepEqual(header(raw, 'Bcc'), []);
    assert.deepEqual(header(raw, 'X-Injected'), []);
    assert.doesNotMatch(raw.toString('latin1'), /^(?:Bcc|X-Injected):/im, 'not in any part either');
    const parsed = await parseEmail(raw);
    const filenames = parsed.attachments.map((a) => a.filename);
    assert.equal(filenames.length, names.length);
    for (const name of filenames) {
      assert.doesNotMatch(name, /[\r\n/\\\u202E]/, `${JSON.stringify(name)} is a plain name`);
    }
    assert.equal(filenames[2], 'passwd');
    assert.equal(filenames[3], 'invoicefdp.exe', 'no right-to-left override to disguise the type');
  });

  test('a JSON reply without files works as before', async () => {
    const s = await emailCase(app);
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/cases/${s.caseId}/messages`,
      headers: s.agent.write,
      payload: reply,
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual((await timelineMessage(app, s, res.json().message.id)).email?.attachments, []);
  });

  test('a form without files is a plain reply', async () => {
    const s = await emailCase(app);
    const res = await postForm(app, s, { kind: 'note', text: 'Checked the line.' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().message.kind, 'note');
  });
});

describe('a reply with files that is refused stores nothing', () => {
  const mib = 1024 * 1024;
  const file = (bytes: number, filename = 'f.bin') => ({ filename, content: Buffer.alloc(bytes, 1) });
  const refusals: [
    string,
    () => Promise<EmailCase>,
    Record<string, string>,
    ReturnType<typeof file>[],
    number,
    string,
    string?,
  ][] = [];
  const on = (s?: Partial<{ channel: string }>) => ({ ...reply, ...s });
  const plain = () => emailCase(app);
  refusals.push(
    [
      'a file over the per-file limit',
      plain,
      on(),
      [file(MAX_ATTACHMENT_BYTES + 1, 'big.iso')],
      413,
      'attachment_too_large',
      'body.files[0]',
    ],
    [
      'files over the total limit',
      plain,
      on(),
      [file(MAX_ATTACHMENT_BYTES - mib), file(MAX_ATTACHMENTS_TOTAL_BYTES - MAX_ATTACHMENT_BYTES + 2 * mib)],
      413,
      'attachments_too_large',
      'body.files',
    ],
    [
      'one file too many',
      plain,
      on(),
      Array.from({ length: MAX_ATTACHMENTS + 1 }, (_, i) => file(10, `f${i}.txt`)),
      400,
      'too_many_attachments',
      'body.files',
    ],
    [
      'a file under another name',
      plain,
      on(),
      [{ ...file(10), name: 'text' } as never],
      400,
      'unknown_field',
      'body.text',
    ],
    ['an unknown field', plain, { ...reply, urgent: 'yes' }, [file(10)], 400, 'unknown_field', 'body.urgent'],
    ['no kind', plain, { text: 'x' }, [file(10)], 400, 'validation_failed', 'body.kind'],
    [
      'files on a note',
      plain,
      { kind: 'note', text: 'see file' },
      [file(10)],
      422,
      'attachments_not_sent',
      'body.files',
    ],
    [
      'files on a reply by phone',
      plain,
      on({ channel: 'phone' }),
      [file(10)],
      422,
      'attachments_not_sent',
      'body.files',
    ],
  );
  for (const [name, world, fields, files, status, code, path] of refusals) {
    test(`${name} → ${status} ${code}`, async () => {
      const s = await world();
      const before = await stored(s);
      const res = await postForm(app, s, fields, files);
      assert.equal(res.statusCode, status, res.body);
      const error = res.json().error;
      assert.equal(error.code, code);
      assert.ok(error.message.length > 0);
      if (path)
        assert.ok(
          error.details?.some((d: { path: string }) => d.path === path),
          res.body,
        );
      assert.deepEqual(await stored(s), before, 'nothing stored');
    });
  }

  test('a body that is not a readable form → 400 invalid_multipart', async () => {
    const s = await emailCase(app);
    const before = await stored(s);
    const { payload, contentType } = formBody(reply, [file(10)]);
    for (const body of [payload.subarray(0, payload.length - 30), Buffer.from('not a form at all')]) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/cases/${s.caseId}/messages`,
        headers: { ...s.agent.write, 'content-type': contentType },
        payload: body,
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'invalid_multipart');
    }
    assert.deepEqual(await stored(s), before);
  });

  test('a specialist may not send files to the customer (403) and a stranger gets 401 before any upload', async () => {
    const s = await emailCase(app);
    const specialist = await given.signedIn(s.t, await given.user(s.t, 'specialist'));
    const before = await stored(s);
    const res = await postForm(app, s, reply, [file(10)], specialist.write);
    assert.equal(res.statusCode, 403, res.body);
    const anonymous = await postForm(app, s, reply, [file(10)], {});
    assert.equal(anonymous.statusCode, 401, anonymous.body);
    assert.deepEqual(await stored(s), before);
    assert.equal((await outboxRows(app, s.t.id)).length, 0);
  });
});

describe('over real HTTP', () => {
  test('a file over the limit is answered 413 while the browser is still sending, not with a reset', async () => {
    const s = await emailCase(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const form = new FormData();
    form.set('kind', 'reply');
    form.set('text', 'Here is the disk image.');
    form.append('files', new Blob([Buffer.alloc(MAX_ATTACHMENT_BYTES + 2 * 1024 * 1024, 7)]), 'disk.img');
    form.append('files', new Blob([PDF], { type: 'application/pdf' }), 'after.pdf');
    const before = await stored(s);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/cases/${s.caseId}/messages`, {
      method: 'POST',
      headers: s.agent.write,
      body: form,
    });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'attachment_too_large');
    assert.deepEqual(await stored(s), before);
  });
});
