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
  status: number;
  code: string;
  /** A details path the answer must name. */
  path?: string;
  /** Words the message must contain. */
  message?: RegExp;
  contentType?: string;
}

/** One bad request: what is sent, the answer expected, and optionally the field it must name. */
const bad = (
  name: string,
  body: unknown,
  [status, code]: [number, string],
  more: Pick<Bad, 'path' | 'message' | 'contentType'> = {},
): Bad => ({ name, body, status, code, ...more });

const mib = 1024 * 1024;
const INVALID_JSON: [number, string] = [400, 'invalid_json'];
const UNKNOWN: [number, string] = [400, 'unknown_field'];
const INVALID: [number, string] = [400, 'validation_failed'];
const IDENTITY: [number, string] = [422, 'identity_invalid'];
const CASE_NUMBER: [number, string] = [422, 'case_number_invalid'];
const MEDIA: [number, string] = [415, 'unsupported_media_type'];

/** Failures every JSON write route shares, given a valid body to spoil. */
function common(valid: Record<string, unknown>, [field, value]: [string, unknown]): Bad[] {
  return [
    bad('malformed JSON', '{"text": "unterminated', INVALID_JSON),
    bad('an empty JSON body', '', INVALID_JSON),
    bad('trailing garbage', `${JSON.stringify(valid)}x`, INVALID_JSON),
    bad('a __proto__ key', `{"__proto__": {"admin": true}, ${JSON.stringify(valid).slice(1)}`, INVALID_JSON),
    bad('a JSON array', '[]', INVALID, { path: 'body' }),
    bad('JSON null', 'null', INVALID, { path: 'body' }),
    bad('an unknown top-level field', { ...valid, priorityBoost: 3 }, UNKNOWN, {
      path: 'body.priorityBoost',
      message: /priorityBoost/,
    }),
    bad(`a wrong type for ${field}`, { ...valid, [field]: value }, INVALID, {
      path: `body.${field}`,
      message: new RegExp(field),
    }),
    bad('a body over 1 MiB', { ...valid, text: 'x'.repeat(mib) }, [413, 'payload_too_large']),
    bad('text/plain', JSON.stringify(valid), MEDIA, { contentType: 'text/plain' }),
    bad('a form', 'text=hello', MEDIA, { contentType: 'application/x-www-form-urlencoded' }),
  ];
}

const contact = { channel: 'email', from: { identity: 'kim@example.com' }, text: 'Still down' };
const withFrom = (channel: string, identity: string) => ({ ...contact, channel, from: { identity } });
const identityPath = { path: 'body.from.identity' };

const contactCases: Bad[] = [
  ...common(contact, ['text', 5]),
  bad(
    'an unknown field inside from',
    { ...contact, from: { identity: 'kim@example.com', nickname: 'K' } },
    UNKNOWN,
    {
      path: 'body.from.nickname',
    },
  ),
  bad('a wrong type for caseNumber', { ...contact, caseNumber: '1001' }, INVALID, {
    path: 'body.caseNumber',
  }),
  bad('a string for from', { ...contact, from: 'kim@example.com' }, INVALID, { path: 'body.from' }),
  bad('an unknown channel', { ...contact, channel: 'fax' }, INVALID, { path: 'body.channel' }),
  bad('an unparseable receivedAt', { ...contact, receivedAt: 'yesterday' }, INVALID, {
    path: 'body.receivedAt',
  }),
  bad('attributes as a string', { ...contact, attributes: 'vip' }, INVALID, { path: 'body.attributes' }),
  bad('empty text', { ...contact, text: '' }, INVALID, { path: 'body.text' }),
  bad('no from', { channel: 'email', text: 'hi' }, INVALID, { path: 'body.from', message: /from/ }),
  bad('no identity', { ...contact, from: { name: 'Kim' } }, INVALID, {
    ...identityPath,
    message: /identity/,
  }),
  bad('an empty identity', withFrom('email', ''), INVALID, identityPath),
  bad('a blank identity', withFrom('email', '   '), IDENTITY, identityPath),
  bad('a phone number on email', withFrom('email', '+447911123456'), IDENTITY, {
    ...identityPath,
    message: /email/,
  }),
  bad('a word on sms', withFrom('sms', 'hello'), IDENTITY, { ...identityPath, message: /E\.164/ }),
  bad('a national number on sms', withFrom('sms', '07911123456'), IDENTITY, { message: /E\.164/ }),
  bad('an impossible number on whatsapp', withFrom('whatsapp', '+4412'), IDENTITY),
  bad('an email on phone', withFrom('phone', 'kim@example.com'), IDENTITY),
  bad('spaces in a chat visitor id', withFrom('chat', 'visitor 42'), IDENTITY),
  bad('a handle with spaces on x', withFrom('x', '@kim smith'), IDENTITY),
  bad('the caseNumber of another customer', { ...contact, caseNumber: other.case.number }, CASE_NUMBER, {
    path: 'body.caseNumber',
  }),
  bad('a caseNumber that exists only in another tenant', { ...contact, caseNumber: 1003 }, CASE_NUMBER, {
    path: 'body.caseNumber',
  }),
  bad('caseNumber zero', { ...contact, caseNumber: 0 }, INVALID, { path: 'body.caseNumber' }),
];

const patchCases: Bad[] = [
  ...common({ priority: 'high' }, ['priority', 2]),
  bad('an empty patch', {}, INVALID),
  bad('an unknown status', { status: 'done' }, INVALID, { path: 'body.status' }),
  bad('tags as a string', { tags: 'vip' }, INVALID, { path: 'body.tags' }),
  bad('duplicate tags', { tags: ['vip', 'vip'] }, INVALID, { path: 'body.tags' }),
  bad('an owner that is no uuid', { ownerId: 'kim' }, INVALID, { path: 'body.ownerId' }),
  bad('an empty owner', { ownerId: '' }, INVALID, { path: 'body.ownerId' }),
  bad('a subject too long', { subject: 's'.repeat(301) }, INVALID, { path: 'body.subject' }),
];

const messageCases: Bad[] = [
  ...common({ kind: 'reply', text: 'We are on it' }, ['text', ['We are on it']]),
  bad('an unknown kind', { kind: 'email', text: 'x' }, INVALID, { path: 'body.kind' }),
  bad('no kind', { text: 'x' }, INVALID, { path: 'body.kind', message: /kind/ }),
  bad('empty text', { kind: 'note', text: '' }, INVALID, { path: 'body.text' }),
  bad('an unknown channel', { kind: 'reply', text: 'x', channel: 'pigeon' }, INVALID, {
    path: 'body.channel',
  }),
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
  for (const wrong of cases) {
    test(`${label}: ${wrong.name} → ${wrong.status} ${wrong.code}, nothing stored`, async () => {
      const before = await stored();
      const raw = typeof wrong.body === 'string';
      const res = await app.inject({
        method,
        url,
        headers: { ...t.headers, 'content-type': wrong.contentType ?? 'application/json' },
        payload: raw ? (wrong.body as string) : JSON.stringify(wrong.body),
      });
      const what = `${method} ${url} with ${wrong.name}`;
      assert.equal(res.statusCode, wrong.status, `${what}: ${res.body}`);
      const error = assertErrorShape(res.body, what);
      assert.equal(error.code, wrong.code, what);
      if (wrong.path) {
        assert.ok(
          error.details?.some((d) => d.path === wrong.path),
          `${what}: details name ${wrong.path}: ${JSON.stringify(error.details)}`,
        );
      }
      if (wrong.message) assert.match(error.message, wrong.message, what);
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
