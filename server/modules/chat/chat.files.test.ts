/**
 * What a visitor sends besides text: a file (allowed types whose bytes agree, within the size
 * limit, stored once per client id, downloadable by agents as a file), and the transcript by
 * email (queued in the outbox to the pre-chat address, threaded to the case, capped per address).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { CHAT_ATTACHMENT_MAX_BYTES } from '../../../shared/api/chat.ts';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { startSession, visitorSocket } from '../../../tests/support/visitor.ts';
import { rows } from '../../db/client.ts';

const { app } = await startTestApp();
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('rest of a png'),
]);

async function chat(email: string | null = 'vee@example.com') {
  const t = await given.tenant(app);
  const channel = await given.chatChannel(t);
  const session = await startSession(app, channel.id, { name: 'Vee', ...(email ? { email } : {}) });
  return { t, session };
}

const upload = (
  session: { id: string; token: string },
  body: Buffer,
  contentType: string,
  query = 'name=photo.png&clientId=f1',
  token = session.token,
) =>
  app.inject({
    method: 'POST',
    url: `/widget/v1/sessions/${session.id}/attachments?${query}`,
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    payload: body,
  });

test('a visitor’s file becomes their message with the file, on the case, downloadable by agents', async () => {
  const { t, session } = await chat();
  const visitor = await visitorSocket(app, session.token);
  const res = await upload(session, PNG, 'image/png', 'name=..%2F..%2Frouter%20lights.png&clientId=f1');
  assert.equal(res.statusCode, 201, res.body);
  const { message } = res.json();
  assert.equal(message.from, 'visitor');
  assert.deepEqual(message.attachments, [
    {
      id: message.attachments[0].id,
      filename: 'router lights.png',
      size: PNG.length,
      contentType: 'image/png',
    },
  ]);
  // The same upload again (a retry) is the same message with one file.
  const again = await upload(session, PNG, 'image/png', 'name=router%20lights.png&clientId=f1');
  assert.equal(again.json().message.id, message.id);
  const [file] = await rows<{ id: string; n: number }>(
    app.database.db,
    sql`select min(id::text) as id, count(*)::int as n from attachments where tenant_id = ${t.id} and message_id = ${message.id}`,
  );
  assert.equal(file!.n, 1);
  assert.equal(again.json().message.attachments[0].id, file!.id, 'the retry names the same file');
  const download = await app.inject({ url: `/api/v1/attachments/${file!.id}`, headers: t.headers });
  assert.equal(download.statusCode, 200);
  assert.match(String(download.headers['content-disposition']), /^attachment/);
  assert.deepEqual(download.rawPayload, PNG);
  // The agent's timeline lists it on the visitor's message, as the link it downloads from.
  const cases = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  const timeline = await app.inject({ url: `/api/v1/cases/${cases[0].id}/timeline`, headers: t.headers });
  const shown = timeline.json().items.find((e: { message?: { id: string } }) => e.message?.id === message.id);
  assert.deepEqual(shown.message.files, [
    { id: file!.id, filename: 'router lights.png', contentType: 'image/png', size: PNG.length },
  ]);
  // Other tabs of the chat see it too, with its file.
  const pushed = await visitor.next('message', (f) => f.message.attachments.length > 0);
  assert.equal(pushed.message.id, message.id);
  assert.equal(pushed.message.attachments[0]?.filename, 'router lights.png');
  visitor.ws.terminate();
});

test('files of other types, with lying bytes, empty or too large are refused and nothing is stored', async () => {
  const { t, session } = await chat();
  const cases: [Buffer, string, number, string][] = [
    [Buffer.from('<html><script>alert(1)</script>'), 'text/html', 415, 'unsupported_media_type'],
    [Buffer.from('<svg onload=alert(1)>'), 'image/svg+xml', 415, 'unsupported_media_type'],
    [Buffer.from('<html>not a png</html>'), 'image/png', 415, 'unsupported_media_type'],
    [Buffer.from('%PDF-1.4 hm\u0000'), 'text/plain', 415, 'unsupported_media_type'],
    [Buffer.alloc(0), 'image/png', 400, 'validation_failed'],
    [Buffer.concat([PNG, Buffer.alloc(CHAT_ATTACHMENT_MAX_BYTES)]), 'image/png', 413, 'payload_too_large'],
  ];
  for (const [body, type, status, code] of cases) {
    const res = await upload(session, body, type);
    assert.equal(res.statusCode, status, `${type}: ${res.body}`);
    assert.equal(res.json().error.code, code);
  }
  const [n] = await rows<{ n: number }>(
    app.database.db,
    sql`select (select count(*) from messages where tenant_id = ${t.id}) + (select count(*) from attachments where tenant_id = ${t.id}) as n`,
  );
  assert.equal(Number(n!.n), 0);
});

test('uploads and transcripts need the session’s own token: anything else is 404', async () => {
  const { session } = await chat();
  const other = (await chat()).session;
  for (const token of ['', 'wcs_forged', other.token]) {
    const res = await upload(session, PNG, 'image/png', undefined, token);
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().error.code, 'chat_session_not_found');
    const transcript = await app.inject({
      method: 'POST',
      url: `/widget/v1/sessions/${session.id}/transcript`,
      headers: { authorization: `Bearer ${token}` },
      payload: {},
    });
    assert.equal(transcript.json().error.code, 'chat_session_not_found');
  }
});

test('the transcript is queued as email to the pre-chat address, threaded to the chat’s case', async () => {
  const { t, session } = await chat();
  const channel = await given.emailChannel(t);
  const visitor = await visitorSocket(app, session.token);
  visitor.send({ type: 'message', clientId: 'a', text: 'My bill is wrong' });
  await visitor.next('ack');
  const caseId = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items[0].id;
  await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: t.headers,
    payload: { kind: 'reply', text: 'Corrected, sorry <b>about</b> that' },
  });
  await visitor.next('message', (f) => f.message.from === 'agent');
  const res = await app.inject({
    method: 'POST',
    url: `/widget/v1/sessions/${session.id}/transcript`,
    headers: { authorization: `Bearer ${session.token}` },
    payload: { timezone: 'Europe/London' },
  });
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual(res.json(), { to: 'vee@example.com', queued: true });
  const [mail] = await rows<{
    recipient: string;
    kind: string;
    raw: Buffer;
    envelope_from: string;
    status: string;
  }>(
    app.database.db,
    sql`select recipient, kind, raw, envelope_from, status from email_outbox where tenant_id = ${t.id}`,
  );
  assert.equal(mail!.recipient, 'vee@example.com');
  assert.equal(mail!.kind, 'notification');
  assert.equal(mail!.envelope_from, channel.address);
  const raw = Buffer.from(mail!.raw).toString();
  assert.match(raw, /^Auto-Submitted: auto-generated/m);
  assert.match(raw, /^Subject: .*\[#\d+-/m, 'tagged with the case, so an answer continues it');
  assert.match(raw, /Vee: My bill is wrong/);
  assert.match(raw, /Corrected, sorry <b>about<\/b> that/);
  visitor.ws.terminate();
});

test('a transcript needs an address, messages and an email channel; one address gets at most 5 a day', async () => {
  const none = await chat(null);
  const noEmail = await app.inject({
    method: 'POST',
    url: `/widget/v1/sessions/${none.session.id}/transcript`,
    headers: { authorization: `Bearer ${none.session.token}` },
    payload: {},
  });
  assert.equal(noEmail.statusCode, 422);
  assert.equal(noEmail.json().error.code, 'chat_email_required');

  const { t, session } = await chat();
  const ask = () =>
    app.inject({
      method: 'POST',
      url: `/widget/v1/sessions/${session.id}/transcript`,
      headers: { authorization: `Bearer ${session.token}` },
      remoteAddress: `198.51.100.${Math.floor(Math.random() * 250)}`,
      payload: {},
    });
  assert.equal((await ask()).json().error.code, 'chat_transcript_unavailable', 'nothing said yet');
  const visitor = await visitorSocket(app, session.token);
  visitor.send({ type: 'message', clientId: 'a', text: 'Hello' });
  await visitor.next('ack');
  assert.equal((await ask()).json().error.code, 'chat_transcript_unavailable', 'no email channel');
  await given.emailChannel(t);
  for (let i = 0; i < 5; i++) assert.equal((await ask()).statusCode, 202);
  const sixth = await ask();
  assert.equal(sixth.statusCode, 429);
  assert.ok(sixth.headers['retry-after']);
  visitor.ws.terminate();
});
