/**
 * An agent's files in a live chat: a reply on the chat with a file reaches the visitor's socket
 * with the file, and the visitor downloads exactly its bytes with the session token, always as a
 * file. Only the session's own chat files answer (another session's, case's or tenant's: 404).
 * A file the widget may not show is refused as a visitor's would be and nothing is stored; a
 * reply by SMS still carries no files.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { GivenTenant } from '../../../tests/support/given.ts';
import * as given from '../../../tests/support/given.ts';
import { type FormFile, formBody } from '../../../tests/support/outbound.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { startSession, visitorSocket } from '../../../tests/support/visitor.ts';
import { rows } from '../../db/client.ts';

const { app } = await startTestApp();
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('the line test, as a picture'),
]);
const photo: FormFile = { filename: 'line test.png', contentType: 'image/png', content: PNG };

/** A visitor who wrote once, on their case, with the socket still open. */
async function chatCase(t: GivenTenant, text = 'My router blinks red') {
  const channel = await given.chatChannel(t);
  const session = await startSession(app, channel.id, { name: 'Vee', email: 'vee@example.com' });
  const visitor = await visitorSocket(app, session.token);
  visitor.send({ type: 'message', clientId: 'm1', text });
  await visitor.next('ack');
  const [row] = await rows<{ case_id: string }>(
    app.database.db,
    sql`select case_id from chat_sessions where tenant_id = ${t.id} and id = ${session.id}`,
  );
  return { session, visitor, caseId: row!.case_id };
}

function reply(t: GivenTenant, caseId: string, fields: Record<string, string>, files: FormFile[]) {
  const { payload, contentType } = formBody({ kind: 'reply', ...fields }, files);
  return app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: { ...t.headers, 'content-type': contentType },
    payload,
  });
}

const download = (sessionId: string, attachmentId: string, token: string) =>
  app.inject({
    url: `/widget/v1/sessions/${sessionId}/attachments/${attachmentId}`,
    headers: { authorization: `Bearer ${token}` },
  });

async function storedCounts(tenantId: string) {
  const [counts] = await rows(
    app.database.db,
    sql`select (select count(*)::int from messages where tenant_id = ${tenantId}) as messages,
               (select count(*)::int from attachments where tenant_id = ${tenantId}) as attachments,
               (select count(*)::int from events where tenant_id = ${tenantId}) as events`,
  );
  return counts;
}

test('an agent’s file in the chat reaches the visitor, who downloads exactly its bytes as a file', async () => {
  const t = await given.tenant(app);
  const { session, visitor, caseId } = await chatCase(t);
  const res = await reply(t, caseId, { channel: 'chat', text: 'Here is your line test' }, [photo]);
  assert.equal(res.statusCode, 201, res.body);
  const [file] = res.json().message.files;
  assert.deepEqual(file, {
    id: file.id,
    filename: 'line test.png',
    contentType: 'image/png',
    size: PNG.length,
  });

  const pushed = await visitor.next('message', (f) => f.message.from === 'agent');
  assert.equal(pushed.message.text, 'Here is your line test');
  assert.deepEqual(pushed.message.attachments, [
    { id: file.id, filename: 'line test.png', size: PNG.length, contentType: 'image/png' },
  ]);

  const got = await download(session.id, file.id, session.token);
  assert.equal(got.statusCode, 200, got.body);
  assert.deepEqual(got.rawPayload, PNG);
  assert.equal(got.headers['content-type'], 'image/png');
  assert.match(String(got.headers['content-disposition']), /^attachment; filename="line test.png"/);
  assert.equal(got.headers['x-content-type-options'], 'nosniff');
  assert.match(String(got.headers['content-security-policy']), /^sandbox/);
  assert.equal(got.headers['access-control-allow-origin'], '*', 'the widget runs on the shop’s origin');

  // A reconnecting tab lists the file too, and the agent's timeline shows it on the reply.
  const again = await visitorSocket(app, session.token);
  const ready = again.frames.find((f) => f.type === 'ready');
  assert.deepEqual(
    ready?.messages.at(-1)?.attachments.map((a) => a.id),
    [file.id],
  );
  const timeline = await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers });
  const shown = timeline
    .json()
    .items.find((e: { message?: { id: string } }) => e.message?.id === pushed.message.id);
  assert.deepEqual(shown.message.files, [file]);
  visitor.ws.terminate();
  again.ws.terminate();
});

test('the visitor downloads their own file as well', async () => {
  const t = await given.tenant(app);
  const { session, visitor } = await chatCase(t);
  const sent = await app.inject({
    method: 'POST',
    url: `/widget/v1/sessions/${session.id}/attachments?name=router.png&clientId=f1`,
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'image/png' },
    payload: PNG,
  });
  assert.equal(sent.statusCode, 201, sent.body);
  const [own] = sent.json().message.attachments;
  const got = await download(session.id, own.id, session.token);
  assert.equal(got.statusCode, 200, got.body);
  assert.deepEqual(got.rawPayload, PNG);
  visitor.ws.terminate();
});

test('a wrong token, another session, another case or another tenant finds no file (404)', async () => {
  const t = await given.tenant(app);
  const mine = await chatCase(t);
  const other = await chatCase(t, 'My bill is wrong');
  const res = await reply(t, mine.caseId, { channel: 'chat', text: 'Your file' }, [photo]);
  const fileId = res.json().message.files[0].id as string;
  const theirs = await reply(t, other.caseId, { channel: 'chat', text: 'Theirs' }, [photo]);
  const theirFileId = theirs.json().message.files[0].id as string;
  const u = await given.tenant(app);
  const stranger = await chatCase(u);

  const attempts: [string, string, string, string][] = [
    [mine.session.id, fileId, 'wcs_forged', 'chat_session_not_found'],
    [mine.session.id, fileId, '', 'chat_session_not_found'],
    [mine.session.id, fileId, other.session.token, 'chat_session_not_found'],
    [other.session.id, fileId, other.session.token, 'attachment_not_found'],
    [mine.session.id, theirFileId, mine.session.token, 'attachment_not_found'],
    [stranger.session.id, fileId, stranger.session.token, 'attachment_not_found'],
    [mine.session.id, stranger.caseId, mine.session.token, 'attachment_not_found'],
  ];
  for (const [sessionId, attachmentId, token, code] of attempts) {
    const got = await download(sessionId, attachmentId, token);
    assert.equal(got.statusCode, 404, `${sessionId} ${attachmentId}: ${got.body}`);
    assert.equal(got.json().error.code, code);
  }
  // A file on an email of the same customer's case is no chat file: the widget never offers it.
  const emailed = await rows<{ id: string }>(
    app.database.db,
    sql`insert into messages (tenant_id, case_id, channel, kind, text)
        values (${t.id}, ${mine.caseId}, 'email', 'outbound', 'By email') returning id`,
  );
  const [mailed] = await rows<{ id: string }>(
    app.database.db,
    sql`insert into attachments (tenant_id, message_id, filename, content_type, size, sha256, storage_key)
        select tenant_id, ${emailed[0]!.id}, 'mailed.png', content_type, size, sha256, storage_key
        from attachments where tenant_id = ${t.id} and id = ${fileId} returning id`,
  );
  const got = await download(mine.session.id, mailed!.id, mine.session.token);
  assert.equal(got.json().error.code, 'attachment_not_found');
  for (const c of [mine, other, stranger]) c.visitor.ws.terminate();
});

test('a file the widget may not show is refused as the visitor’s would be, and nothing is stored', async () => {
  const t = await given.tenant(app);
  const { caseId, visitor } = await chatCase(t);
  const before = await storedCounts(t.id);
  const refused: [FormFile, number, string][] = [
    [
      { filename: 'page.html', contentType: 'text/html', content: Buffer.from('<script>1</script>') },
      415,
      'unsupported_media_type',
    ],
    [
      { filename: 'fake.png', contentType: 'image/png', content: Buffer.from('<html>no png</html>') },
      415,
      'unsupported_media_type',
    ],
    [
      { filename: 'tool.zip', contentType: 'application/zip', content: Buffer.from('PK\u0003\u0004') },
      415,
      'unsupported_media_type',
    ],
  ];
  for (const [file, status, code] of refused) {
    // Named or by default (where the visitor last wrote), a reply in the chat is checked alike.
    const named: Record<string, string>[] = [{ channel: 'chat', text: 'See file' }, { text: 'See file' }];
    for (const fields of named) {
      const res = await reply(t, caseId, fields, [photo, file]);
      assert.equal(res.statusCode, status, `${file.filename}: ${res.body}`);
      assert.equal(res.json().error.code, code);
    }
  }
  assert.deepEqual(await storedCounts(t.id), before, 'nothing stored');
  visitor.ws.terminate();
});

test('files on a reply by SMS are still refused, and nothing is stored', async () => {
  const t = await given.tenant(app);
  const sms = await given.contact(t, { from: { identity: '+447911123456' }, channel: 'sms' });
  const before = await storedCounts(t.id);
  const res = await reply(t, sms.case.id, { channel: 'sms', text: 'See file' }, [photo]);
  assert.equal(res.statusCode, 422, res.body);
  assert.equal(res.json().error.code, 'attachments_not_sent');
  assert.deepEqual(await storedCounts(t.id), before);
});
