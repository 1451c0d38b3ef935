/**
 * Bad input on the write routes: each gets a 4xx with a specific code and message, the error
 * body has one shape and no internals, and nothing is stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rows } from '../server/db/client.ts';
import * as given from './support/given.ts';
import { startTestApp } from './support/test-app.ts';

const { app } = await startTestApp();

const t = await given.tenant(app);
const kim = await given.contact(t, { from: { identity: 'kim@example.com' } });
const other = await given.contact(t, { from: { identity: 'ash@example.com' } });
// Another tenant with more cases, so #1003 exists there and not here.
const elsewhere = await given.tenant(app, 'Elsewhere Telecom');
for (const identity of ['a@elsewhere.example', 'b@elsewhere.example', 'kim@example.com']) {
  await given.contact(elsewhere, { from: { identity } });
}

interface Bad {
  name: string;
  /** A JSON value, or a raw string sent as-is. */
  body: unknown;
  contentType?: string;
  status: number;
  code: string;
  /** A details path the answer must name. */
  path?: string;
  /** Words the message must contain. */
  message?: RegExp;
}

const mib = 1024 * 1024;
const json = 'application/json';

/** Failures every JSON write route shares, given a valid body to spoil. */
function common(valid: Record<string, unknown>, wrongType: [string, unknown]): Bad[] {
  const [field, value] = wrongType;
  return [
    {
      name: 'malformed JSON',
      body: '{"text": "unterminated',
      contentType: json,
      status: 400,
      code: 'invalid_json',
    },
    { name: 'an empty JSON body', body: '', contentType: json, status: 400, code: 'invalid_json' },
    {
      name: 'trailing garbage',
      body: `${JSON.stringify(valid)}x`,
      contentType: json,
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'a JSON array',
      body: '[]',
      contentType: json,
      status: 400,
      code: 'validation_failed',
      path: 'body',
    },
    {
      name: 'JSON null',
      body: 'null',
      contentType: json,
      status: 400,
      code: 'validation_failed',
      path: 'body',
    },
    {
      name: 'an unknown top-level field',
      body: { ...valid, priorityBoost: 3 },
      status: 400,
      code: 'unknown_field',
      path: 'body.priorityBoost',
      message: /priorityBoost/,
    },
    {
      name: `a wrong type for ${field}`,
      body: { ...valid, [field]: value },
      status: 400,
      code: 'validation_failed',
      path: `body.${field}`,
      message: new RegExp(field),
    },
    {
      name: 'a __proto__ key',
      body: `{"__proto__": {"admin": true}, ${JSON.stringify(valid).slice(1)}`,
      contentType: json,
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'a body over 1 MiB',
      body: { ...valid, text: 'x'.repeat(mib) },
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'text/plain',
      body: JSON.stringify(valid),
      contentType: 'text/plain',
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'a form',
      body: 'text=hello',
      contentType: 'application/x-www-form-urlencoded',
      status: 415,
      code: 'unsupported_media_type',
    },
  ];
}

const contact = { channel: 'email', from: { identity: 'kim@example.com' }, text: 'Still down' };
const withFrom = (channel: string, identity: string) => ({ ...contact, channel, from: { identity } });

const contactCases: Bad[] = [
  ...common(contact, ['text', 5]),
  {
    name: 'an unknown field inside from',
    body: { ...contact, from: { identity: 'kim@example.com', nickname: 'K' } },
    status: 400,
    code: 'unknown_field',
    path: 'body.from.nickname',
  },
  {
    name: 'a wrong type for caseNumber',
    body: { ...contact, caseNumber: '1001' },
    status: 400,
    code: 'validation_failed',
    path: 'body.caseNumber',
  },
  {
    name: 'a string for from',
    body: { ...contact, from: 'kim@example.com' },
    status: 400,
    code: 'validation_failed',
    path: 'body.from',
  },
  {
    name: 'an unknown channel',
    body: { ...contact, channel: 'fax' },
    status: 400,
    code: 'validation_failed',
    path: 'body.channel',
  },
  {
    name: 'an unparseable receivedAt',
    body: { ...contact, receivedAt: 'yesterday' },
    status: 400,
    code: 'validation_failed',
    path: 'body.receivedAt',
  },
  {
    name: 'attributes as a string',
    body: { ...contact, attributes: 'vip' },
    status: 400,
    code: 'validation_failed',
    path: 'body.attributes',
  },
  {
    name: 'empty text',
    body: { ...contact, text: '' },
    status: 400,
    code: 'validation_failed',
    path: 'body.text',
  },
  {
    name: 'no from',
    body: { channel: 'email', text: 'hi' },
    status: 400,
    code: 'validation_failed',
    path: 'body.from',
    message: /from/,
  },
  {
    name: 'no identity',
    body: { ...contact, from: { name: 'Kim' } },
    status: 400,
    code: 'validation_failed',
    path: 'body.from.identity',
    message: /identity/,
  },
  {
    name: 'an empty identity',
    body: withFrom('email', ''),
    status: 400,
    code: 'validation_failed',
    path: 'body.from.identity',
  },
  {
    name: 'a blank identity',
    body: withFrom('email', '   '),
    status: 422,
    code: 'identity_invalid',
    path: 'body.from.identity',
  },
  {
    name: 'a phone number on email',
    body: withFrom('email', '+447911123456'),
    status: 422,
    code: 'identity_invalid',
    path: 'body.from.identity',
    message: /email/,
  },
  {
    name: 'a word on sms',
    body: withFrom('sms', 'hello'),
    status: 422,
    code: 'identity_invalid',
    path: 'body.from.identity',
    message: /E\.164/,
  },
  {
    name: 'a national number on sms',
    body: withFrom('sms', '07911123456'),
    status: 422,
    code: 'identity_invalid',
    message: /E\.164/,
  },
  {
    name: 'an impossible number on whatsapp',
    body: withFrom('whatsapp', '+4412'),
    status: 422,
    code: 'identity_invalid',
  },
  {
    name: 'an email on phone',
    body: withFrom('phone', 'kim@example.com'),
    status: 422,
    code: 'identity_invalid',
  },
  {
    name: 'spaces in a chat visitor id',
    body: withFrom('chat', 'visitor 42'),
    status: 422,
    code: 'identity_invalid',
  },
  {
    name: 'a handle with spaces on x',
    body: withFrom('x', '@kim smith'),
    status: 422,
    code: 'identity_invalid',
  },
  {
    name: 'the caseNumber of another customer',
    body: { ...contact, caseNumber: other.case.number },
    status: 422,
    code: 'case_number_invalid',
    path: 'body.caseNumber',
  },
  {
    name: 'a caseNumber that exists only in another tenant',
    body: { ...contact, caseNumber: 1003 },
    status: 422,
    code: 'case_number_invalid',
    path: 'body.caseNumber',
  },
  {
    name: 'caseNumber zero',
    body: { ...contact, caseNumber: 0 },
    status: 400,
    code: 'validation_failed',
    path: 'body.caseNumber',
  },
];

const patchCases: Bad[] = [
  ...common({ priority: 'high' }, ['priority', 2]),
  { name: 'an empty patch', body: {}, status: 400, code: 'validation_failed' },
  {
    name: 'an unknown status',
    body: { status: 'done' },
    status: 400,
    code: 'validation_failed',
    path: 'body.status',
  },
  {
    name: 'tags as a string',
    body: { tags: 'vip' },
    status: 400,
    code: 'validation_failed',
    path: 'body.tags',
  },
  {
    name: 'duplicate tags',
    body: { tags: ['vip', 'vip'] },
    status: 400,
    code: 'validation_failed',
    path: 'body.tags',
  },
  {
    name: 'an owner that is no uuid',
    body: { ownerId: 'kim' },
    status: 400,
    code: 'validation_failed',
    path: 'body.ownerId',
  },
  {
    name: 'an empty owner',
    body: { ownerId: '' },
    status: 400,
    code: 'validation_failed',
    path: 'body.ownerId',
  },
  {
    name: 'a subject too long',
    body: { subject: 's'.repeat(301) },
    status: 400,
    code: 'validation_failed',
    path: 'body.subject',
  },
];

const messageCases: Bad[] = [
  ...common({ kind: 'reply', text: 'We are on it' }, ['text', ['We are on it']]),
  {
    name: 'an unknown kind',
    body: { kind: 'email', text: 'x' },
    status: 400,
    code: 'validation_failed',
    path: 'body.kind',
  },
  {
    name: 'no kind',
    body: { text: 'x' },
    status: 400,
    code: 'validation_failed',
    path: 'body.kind',
    message: /kind/,
  },
  {
    name: 'empty text',
    body: { kind: 'note', text: '' },
    status: 400,
    code: 'validation_failed',
    path: 'body.text',
  },
  {
    name: 'an unknown channel',
    body: { kind: 'reply', text: 'x', channel: 'pigeon' },
    status: 400,
    code: 'validation_failed',
    path: 'body.channel',
  },
];

/** Everything the tenant has stored, plus the case as its API shows it. */
async function stored() {
  const [counts] = await rows(
    app.database.db,
    sql`select (select count(*)::int from customers where tenant_id = ${t.id}) as customers,
               (select count(*)::int from customer_identities where tenant_id = ${t.id}) as identities,
               (select count(*)::int from cases where tenant_id = ${t.id}) as cases,
               (select count(*)::int from contacts where tenant_id = ${t.id}) as contacts,
               (select count(*)::int from messages where tenant_id = ${t.id}) as messages,
               (select count(*)::int from events where tenant_id = ${t.id}) as events,
               (select count(*)::int from events where tenant_id = ${elsewhere.id}) as elsewhere`,
  );
  const kase = await app.inject({ url: `/api/v1/cases/${kim.case.id}`, headers: t.headers });
  return { counts, case: kase.json() };
}

function assertErrorShape(body: string, what: string) {
  const parsed = JSON.parse(body);
  assert.deepEqual(Object.keys(parsed), ['error'], what);
  const keys = Object.keys(parsed.error);
  assert.ok(
    keys.every((k) => ['code', 'message', 'details'].includes(k)),
    `${what}: unexpected keys ${keys}`,
  );
  assert.equal(typeof parsed.error.message, 'string');
  assert.ok(parsed.error.message.length > 0, `${what}: a message`);
  assert.doesNotMatch(body, /\bat [\w.<>]+ \(|node_modules|\.ts:\d+|stack/i, `${what}: no internals`);
  if (parsed.error.details) {
    for (const d of parsed.error.details) assert.deepEqual(Object.keys(d).sort(), ['message', 'path']);
  }
  return parsed.error as { code: string; message: string; details?: { path: string; message: string }[] };
}

function suite(label: string, method: 'POST' | 'PATCH', url: string, cases: Bad[]) {
  for (const bad of cases) {
    test(`${label}: ${bad.name} → ${bad.status} ${bad.code}, nothing stored`, async () => {
      const before = await stored();
      const raw = typeof bad.body === 'string';
      const res = await app.inject({
        method,
        url,
        headers: { ...t.headers, 'content-type': bad.contentType ?? json },
        payload: raw ? (bad.body as string) : JSON.stringify(bad.body),
      });
      const what = `${method} ${url} with ${bad.name}`;
      assert.equal(res.statusCode, bad.status, `${what}: ${res.body}`);
      const error = assertErrorShape(res.body, what);
      assert.equal(error.code, bad.code, what);
      if (bad.path) {
        assert.ok(
          error.details?.some((d) => d.path === bad.path),
          `${what}: details name ${bad.path}: ${JSON.stringify(error.details)}`,
        );
      }
      if (bad.message) assert.match(error.message, bad.message, what);
      assert.deepEqual(await stored(), before, `${what}: nothing stored`);
    });
  }
}

suite('contact', 'POST', '/api/v1/contacts', contactCases);
suite('case update', 'PATCH', `/api/v1/cases/${kim.case.id}`, patchCases);
suite('message', 'POST', `/api/v1/cases/${kim.case.id}/messages`, messageCases);

test('the valid bodies the bad ones were spoiled from are accepted', async () => {
  const patch = await app.inject({
    method: 'PATCH',
    url: `/api/v1/cases/${kim.case.id}`,
    headers: t.headers,
    payload: { priority: 'high' },
  });
  assert.equal(patch.statusCode, 200, patch.body);
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/contacts',
    headers: t.headers,
    payload: contact,
  });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().case.id, kim.case.id);
  const message = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${kim.case.id}/messages`,
    headers: t.headers,
    payload: { kind: 'reply', text: 'We are on it' },
  });
  assert.equal(message.statusCode, 201, message.body);
});

test('an unknown route and an unknown case answer in the same error shape', async () => {
  const route = await app.inject({ method: 'POST', url: '/api/v1/nothing-here', headers: t.headers });
  assert.equal(route.statusCode, 404);
  assert.equal(assertErrorShape(route.body, 'unknown route').code, 'route_not_found');
  const kase = await app.inject({ url: '/api/v1/cases/999999', headers: t.headers });
  assert.equal(kase.statusCode, 404);
  assert.equal(assertErrorShape(kase.body, 'unknown case').code, 'case_not_found');
  const ref = await app.inject({ url: '/api/v1/cases/not-a-ref', headers: t.headers });
  assert.equal(ref.statusCode, 404);
  assert.equal(assertErrorShape(ref.body, 'malformed case ref').code, 'case_not_found');
});
