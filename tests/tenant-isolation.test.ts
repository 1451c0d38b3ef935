/**
 * Another tenant's ids answer 404 on every route. The walk takes its route list from the app's
 * registry, so a new route with path params fails this file until it is covered here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rows } from '../server/db/client.ts';
import { inboundSms, signedForm } from './support/fake-twilio.ts';
import * as given from './support/given.ts';
import { customerNumber, twilioChannel } from './support/given-channels.ts';
import { startTestApp } from './support/test-app.ts';
import { startSession } from './support/visitor.ts';

const { app } = await startTestApp();

// Tenant A: the data a second tenant must never see or touch. Its walked case is #1003, a
// number tenant B (one case, #1001) does not have; #1001 exists in both.
const a = await given.tenant(app, 'Alpha Broadband');
const aTeam = await given.team(a, 'Alpha engineers');
const aJo = await given.contact(a, { from: { identity: 'jo@alpha.example' } });
const aSms = await given.contact(a, { from: { identity: '+447911123456' }, channel: 'sms' });
const aMerge = (
  await app.inject({
    method: 'POST',
    url: `/api/v1/customers/${aJo.customer.id}/merge`,
    headers: a.headers,
    payload: { mergedId: aSms.customer.id },
  })
).json().merge.id as string;
const aAgent = await given.user(a, 'agent', { teamIds: [aTeam.id], name: 'Rowan Alpha' });
const aFirst = await given.contact(a, {
  from: { identity: 'dana@alpha.example', name: 'Dana Alpha' },
  subject: 'Fibre down in the village',
});
await given.contact(a, { from: { identity: 'dana@alpha.example' }, text: 'Still down' });
const aCase = aFirst.case as { id: string; number: number };
const aCustomer = aFirst.customer as { id: string };
const aIdentity = (await app.inject({ url: `/api/v1/customers/${aCustomer.id}`, headers: a.headers })).json()
  .identities[0] as { id: string };
const aChannel = await given.emailChannel(a, 'help@alpha.example');
const [aQuarantined] = await given.quarantinedEmails(a, aChannel);
const [aFailed] = await given.failedEmails(a, aChannel);
const aEmail = await given.emailWithAttachment(a, aChannel);
const aChat = await startSession(app, (await given.chatChannel(a)).id, { email: 'dana@alpha.example' });
await app.inject({
  method: 'PATCH',
  url: `/api/v1/cases/${aCase.id}`,
  headers: a.headers,
  payload: { ownerId: aAgent.id, teamId: aTeam.id, priority: 'high' },
});

// Tenant B: a second organisation with an admin (token and signed-in) and its own world.
const b = await given.tenant(app, 'Beta Fibre');
const bTeam = await given.team(b, 'Beta support');
const bAdmin = await given.user(b, 'admin', { teamIds: [bTeam.id] });
const bSession = await given.signedIn(b, bAdmin);
const bOwn = await given.contact(b, { from: { identity: 'lee@beta.example' } });

/** A's ids that must never appear in anything B reads. */
const aIds = [
  aCase.id,
  aCustomer.id,
  aAgent.id,
  aTeam.id,
  a.id,
  aChannel.id,
  aQuarantined!,
  aFailed!,
  aMerge,
];

interface Call {
  url: string;
  payload?: Record<string, unknown>;
}

interface Ids {
  caseId: string;
  caseNumber: number;
  customerId: string;
  channelId: string;
  inboundEmailId: string;
  messageId: string;
  attachmentId: string;
  outboxId: string;
  chatSessionId: string;
  mergeId: string;
  identityId: string;
}
const aRefs: Ids = {
  caseId: aCase.id,
  caseNumber: aCase.number,
  customerId: aCustomer.id,
  channelId: aChannel.id,
  inboundEmailId: aQuarantined!,
  messageId: aEmail.messageId,
  attachmentId: aEmail.attachmentId,
  outboxId: aFailed!,
  chatSessionId: aChat.id,
  mergeId: aMerge,
  identityId: aIdentity.id,
};
/** Ids that exist nowhere: A's ids must answer exactly as these do. */
const ghost: Ids = {
  caseId: randomUUID(),
  caseNumber: 987_654,
  customerId: randomUUID(),
  channelId: randomUUID(),
  inboundEmailId: randomUUID(),
  messageId: randomUUID(),
  attachmentId: randomUUID(),
  outboxId: randomUUID(),
  chatSessionId: randomUUID(),
  mergeId: randomUUID(),
  identityId: randomUUID(),
};

/** How B calls each param route, with a body that would be valid on B's own data. */
const walk: Record<string, (ids: Ids) => Call[]> = {
  'GET /api/v1/cases/:id': (ids) => [
    { url: `/api/v1/cases/${ids.caseId}` },
    { url: `/api/v1/cases/${ids.caseNumber}` },
  ],
  'PATCH /api/v1/cases/:id': (ids) =>
    [ids.caseId, String(ids.caseNumber)].map((ref) => ({
      url: `/api/v1/cases/${ref}`,
      payload: { status: 'resolved', priority: 'low', ownerId: bAdmin.id, teamId: bTeam.id, tags: ['x'] },
    })),
  'GET /api/v1/cases/:id/timeline': (ids) => [
    { url: `/api/v1/cases/${ids.caseId}/timeline` },
    { url: `/api/v1/cases/${ids.caseNumber}/timeline` },
  ],
  'GET /api/v1/cases/:id/reply-options': (ids) => [
    { url: `/api/v1/cases/${ids.caseId}/reply-options` },
    { url: `/api/v1/cases/${ids.caseNumber}/reply-options` },
  ],
  'POST /api/v1/cases/:id/messages': (ids) => [
    { url: `/api/v1/cases/${ids.caseId}/messages`, payload: { kind: 'reply', text: 'Hello from Beta' } },
    { url: `/api/v1/cases/${ids.caseNumber}/messages`, payload: { kind: 'note', text: 'Beta note' } },
  ],
  'GET /api/v1/customers/:id': (ids) => [{ url: `/api/v1/customers/${ids.customerId}` }],
  'POST /api/v1/customers/:id/identities': (ids) => [
    {
      url: `/api/v1/customers/${ids.customerId}/identities`,
      payload: { kind: 'phone', value: '+447412000002' },
    },
  ],
  'DELETE /api/v1/customers/:id/identities/:identityId': (ids) => [
    { url: `/api/v1/customers/${ids.customerId}/identities/${ids.identityId}` },
    { url: `/api/v1/customers/${bOwn.customer.id}/identities/${ids.identityId}` },
  ],
  'GET /api/v1/customers/:id/matches': (ids) => [{ url: `/api/v1/customers/${ids.customerId}/matches` }],
  'POST /api/v1/customers/:id/matches/:otherId/dismiss': (ids) => [
    { url: `/api/v1/customers/${ids.customerId}/matches/${bOwn.customer.id}/dismiss` },
    { url: `/api/v1/customers/${bOwn.customer.id}/matches/${ids.customerId}/dismiss` },
  ],
  'POST /api/v1/customers/:id/merge': (ids) => [
    { url: `/api/v1/customers/${ids.customerId}/merge`, payload: { mergedId: bOwn.customer.id } },
    { url: `/api/v1/customers/${bOwn.customer.id}/merge`, payload: { mergedId: ids.customerId } },
  ],
  'GET /api/v1/customers/:id/merges': (ids) => [{ url: `/api/v1/customers/${ids.customerId}/merges` }],
  'POST /api/v1/customers/merges/:mergeId/split': (ids) => [
    { url: `/api/v1/customers/merges/${ids.mergeId}/split` },
  ],
  'GET /api/v1/channels/:id': (ids) => [{ url: `/api/v1/channels/${ids.channelId}` }],
  'POST /api/v1/cases/:id/calls': (ids) =>
    (['inbound', 'outbound'] as const).map((direction) => ({
      url: `/api/v1/cases/${ids.caseId}/calls`,
      payload: { direction, number: '+447400654321', durationSeconds: 60, outcome: 'completed' },
    })),
  'PATCH /api/v1/channels/:id': (ids) => [
    { url: `/api/v1/channels/${ids.channelId}`, payload: { name: 'Taken over', active: false } },
    {
      url: `/api/v1/channels/${ids.channelId}`,
      payload: { settings: { imap: { host: '127.0.0.1', port: 1, username: 'beta', password: 'pw' } } },
    },
  ],
  'GET /api/v1/messages/:id/html': (ids) => [{ url: `/api/v1/messages/${ids.messageId}/html` }],
  'GET /api/v1/attachments/:id': (ids) => [{ url: `/api/v1/attachments/${ids.attachmentId}` }],
  'POST /api/v1/email/quarantine/:id/reprocess': (ids) => [
    { url: `/api/v1/email/quarantine/${ids.inboundEmailId}/reprocess` },
  ],
  'POST /api/v1/email/outbox/:id/retry': (ids) => [{ url: `/api/v1/email/outbox/${ids.outboxId}/retry` }],
  'POST /api/v1/cases/:id/typing': (ids) =>
    [ids.caseId, String(ids.caseNumber)].map((ref) => ({
      url: `/api/v1/cases/${ref}/typing`,
      payload: { typing: true },
    })),
  // A chat session answers only to its own token: another tenant's credentials find nothing.
  'POST /widget/v1/sessions/:id/transcript': (ids) => [
    { url: `/widget/v1/sessions/${ids.chatSessionId}/transcript`, payload: {} },
  ],
  'POST /widget/v1/sessions/:id/attachments': (ids) => [
    { url: `/widget/v1/sessions/${ids.chatSessionId}/attachments?name=a.txt&clientId=c1` },
  ],
  'GET /widget/v1/sessions/:id/attachments/:attachmentId': (ids) => [
    { url: `/widget/v1/sessions/${ids.chatSessionId}/attachments/${ids.attachmentId}` },
  ],
};

/** A response with the given ids written as placeholders, to compare A's answer with a ghost's. */
function neutral(body: string, ids: Ids): string {
  return body
    .replaceAll(ids.caseId, '<case>')
    .replaceAll(ids.customerId, '<customer>')
    .replaceAll(ids.channelId, '<channel>')
    .replaceAll(ids.inboundEmailId, '<inbound>')
    .replaceAll(ids.messageId, '<message>')
    .replaceAll(ids.attachmentId, '<attachment>')
    .replaceAll(ids.outboxId, '<outbox>')
    .replaceAll(ids.chatSessionId, '<chat>')
    .replaceAll(ids.mergeId, '<merge>')
    .replaceAll(ids.identityId, '<identity>')
    .replaceAll(String(ids.caseNumber), '<number>');
}

/** What tenant A sees of its own data; compared before and after B's attempts. */
async function snapshotOfA() {
  const get = async (url: string) => {
    const res = await app.inject({ url, headers: a.headers });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.json();
  };
  return {
    case: await get(`/api/v1/cases/${aCase.id}`),
    timeline: await get(`/api/v1/cases/${aCase.id}/timeline`),
    customer: await get(`/api/v1/customers/${aCustomer.id}`),
    merged: await get(`/api/v1/customers/${aSms.customer.id}`),
    merges: await get(`/api/v1/customers/${aJo.customer.id}/merges`),
    matches: await get(`/api/v1/customers/${aCustomer.id}/matches`),
    channel: await get(`/api/v1/channels/${aChannel.id}`),
    quarantine: await get('/api/v1/email/quarantine'),
    failedMail: await get('/api/v1/email/outbox?status=failed'),
    list: await get('/api/v1/cases?status=active'),
    counts: await get('/api/v1/inbox/counts'),
    contacts: await rows(
      app.database.db,
      sql`select count(*)::int as n from contacts where tenant_id = ${a.id}`,
    ),
  };
}

test('every route with path params answers 404 to a second tenant using the first tenant’s ids', async () => {
  const paramRoutes = app.routeTable
    // Platform webhooks carry no tenant credentials: the channel's signature decides (tested below).
    .filter((r) => r.url.includes(':') && !r.url.startsWith('/webhooks/'))
    .map((r) => `${r.method} ${r.url}`)
    .sort();
  assert.deepEqual(
    Object.keys(walk).sort(),
    paramRoutes,
    'every route with path params needs an entry in this walk (and no entry may outlive its route)',
  );

  const before = await snapshotOfA();
  for (const [route, calls] of Object.entries(walk)) {
    const method = route.split(' ')[0] as 'GET' | 'PATCH' | 'POST' | 'DELETE';
    const ghostCalls = calls(ghost);
    for (const [i, call] of calls(aRefs).entries()) {
      for (const headers of [b.headers, bSession.write]) {
        const res = await app.inject({ method, url: call.url, headers, payload: call.payload });
        assert.equal(res.statusCode, 404, `${method} ${call.url} as tenant B: ${res.body}`);
        assert.match(res.json().error.code, /^[a-z_]+_not_found$/, `${method} ${call.url}`);
        assert.notEqual(res.json().error.code, 'route_not_found', `${method} ${call.url} reached its route`);
        // Indistinguishable from an id that exists nowhere: the answer says nothing about A.
        const other = ghostCalls[i]!;
        const none = await app.inject({ method, url: other.url, headers, payload: other.payload });
        assert.equal(neutral(res.body, aRefs), neutral(none.body, ghost), `${method} ${call.url}`);
        for (const id of [aAgent.id, aTeam.id, a.id]) assert.ok(!res.body.includes(id));
      }
    }
  }
  // Identities are unique per tenant: A's customer's number is free to B, no 409 names A's record.
  const address = { kind: 'phone', value: '+44 7911 123456' };
  const url = `/api/v1/customers/${bOwn.customer.id}/identities`;
  const own = await app.inject({ method: 'POST', url, headers: b.headers, payload: address });
  assert.equal(own.statusCode, 201, own.body);
  for (const id of aIds) assert.ok(!own.body.includes(id));
  assert.deepEqual(await snapshotOfA(), before, 'tenant A’s data is unchanged');
});

test('every list as a second tenant leaves out the first tenant’s rows', async () => {
  // Queries that name A's data explicitly; a list route without an entry here is read bare.
  const queries: Record<string, string[]> = {
    '/api/v1/customers': ['identity=dana@alpha.example', 'identity=DANA@ALPHA.EXAMPLE'],
    '/api/v1/cases': [
      '',
      `customer=${aCustomer.id}`,
      `owner=${aAgent.id}`,
      `team=${aTeam.id}`,
      `team=${aTeam.id}&status=active`,
      'status=active',
      'owner=none&status=active',
    ],
  };
  const lists = app.routeTable.filter(
    (r) => r.method === 'GET' && !r.url.includes(':') && !r.websocket && r.permission !== 'public',
  );
  assert.ok(lists.length >= 5, 'the registry lists the read routes');
  for (const route of lists) {
    for (const query of queries[route.url] ?? ['']) {
      const url = query ? `${route.url}?${query}` : route.url;
      // API tokens have no session; the session route is read signed-in only.
      const callers = route.permission === 'session.self' ? [bSession.read] : [b.headers, bSession.read];
      for (const headers of callers) {
        const res = await app.inject({ url, headers });
        assert.ok(res.statusCode < 300, `${url}: ${res.statusCode} ${res.body}`);
        for (const id of aIds) assert.ok(!res.body.includes(id), `${url} as tenant B shows A's ${id}`);
      }
    }
  }

  const cases = await app.inject({ url: '/api/v1/cases', headers: b.headers });
  assert.deepEqual(
    cases.json().items.map((c: { id: string }) => c.id),
    [bOwn.case.id],
    'B sees exactly its own case',
  );
  const byCustomer = await app.inject({ url: `/api/v1/cases?customer=${aCustomer.id}`, headers: b.headers });
  assert.deepEqual(byCustomer.json().items, []);
  const users = await app.inject({ url: '/api/v1/users', headers: b.headers });
  assert.deepEqual(
    users.json().items.map((u: { id: string }) => u.id),
    [bAdmin.id],
  );
  const counts = await app.inject({ url: '/api/v1/inbox/counts', headers: bSession.read });
  assert.deepEqual(counts.json(), { mine: 0, team: 0, unassigned: 1, open: 1 });
});

test('a second tenant cannot point its own case at the first tenant’s people or teams', async () => {
  const before = await snapshotOfA();
  const patch = (payload: Record<string, unknown>) =>
    app.inject({ method: 'PATCH', url: `/api/v1/cases/${bOwn.case.id}`, headers: b.headers, payload });
  const owner = await patch({ ownerId: aAgent.id });
  assert.equal(owner.statusCode, 404);
  assert.equal(owner.json().error.code, 'user_not_found');
  const team = await patch({ teamId: aTeam.id });
  assert.equal(team.statusCode, 404);
  assert.equal(team.json().error.code, 'team_not_found');
  const own = await app.inject({ url: `/api/v1/cases/${bOwn.case.id}`, headers: b.headers });
  assert.equal(own.json().ownerId, null);
  assert.equal(own.json().teamId, null);
  assert.deepEqual(await snapshotOfA(), before);
});

test('a contact from a second tenant naming the first tenant’s case number is refused and stores nothing', async () => {
  const count = async (tenantId: string) =>
    (
      await rows<{ customers: number; cases: number; contacts: number; messages: number }>(
        app.database.db,
        sql`select (select count(*)::int from customers where tenant_id = ${tenantId}) as customers,
                   (select count(*)::int from cases where tenant_id = ${tenantId}) as cases,
                   (select count(*)::int from contacts where tenant_id = ${tenantId}) as contacts,
                   (select count(*)::int from messages where tenant_id = ${tenantId}) as messages`,
      )
    )[0];
  const beforeA = await snapshotOfA();
  const beforeB = await count(b.id);
  // A's case numbers in B name either nothing (#1003) or B's own case of another customer (#1001).
  assert.equal(aCase.number, 1003);
  for (const caseNumber of [aCase.number, 1001]) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/contacts',
      headers: b.headers,
      payload: { channel: 'email', from: { identity: 'dana@alpha.example' }, text: 'Hi', caseNumber },
    });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().error.code, 'case_number_invalid');
  }
  assert.deepEqual(await count(b.id), beforeB);
  assert.deepEqual(await snapshotOfA(), beforeA);
});

test('a webhook signed with another tenant’s channel secret is refused at the first tenant’s channel; each tenant’s messages stay its own', async () => {
  const aSmsChannel = await twilioChannel(a, { authToken: 'alpha-auth-token' });
  const bSmsChannel = await twilioChannel(b, { authToken: 'beta-auth-token' });
  const before = await snapshotOfA();
  const from = customerNumber();
  // B's own, valid delivery, replayed at A's channel (its own URL and a URL rewritten to A's).
  const bFields = inboundSms({ from, to: bSmsChannel.address!, body: 'Beta customer' });
  for (const url of [bSmsChannel.url, aSmsChannel.url]) {
    const form = signedForm(url, { ...bFields, To: aSmsChannel.address! }, 'beta-auth-token');
    const res = await app.inject({
      method: 'POST',
      url: aSmsChannel.path,
      payload: form.payload,
      headers: form.headers,
    });
    assert.equal(res.statusCode, 403, res.body);
  }
  assert.deepEqual(await snapshotOfA(), before, 'tenant A’s data is unchanged');
  // A's own delivery lands in A only, even from a number B knows.
  const ok = signedForm(
    aSmsChannel.url,
    inboundSms({ from, to: aSmsChannel.address!, body: 'Alpha customer' }),
    'alpha-auth-token',
  );
  const bOk = signedForm(bSmsChannel.url, bFields, 'beta-auth-token');
  assert.equal(
    (await app.inject({ method: 'POST', url: bSmsChannel.path, payload: bOk.payload, headers: bOk.headers }))
      .statusCode,
    200,
  );
  assert.equal(
    (await app.inject({ method: 'POST', url: aSmsChannel.path, payload: ok.payload, headers: ok.headers }))
      .statusCode,
    200,
  );
  const inB = await app.inject({
    url: `/api/v1/customers?identity=${encodeURIComponent(from)}`,
    headers: b.headers,
  });
  const inA = await app.inject({
    url: `/api/v1/customers?identity=${encodeURIComponent(from)}`,
    headers: a.headers,
  });
  assert.equal(inA.json().items.length, 1);
  assert.equal(inB.json().items.length, 1);
  assert.notEqual(inA.json().items[0].id, inB.json().items[0].id, 'one customer per tenant');
});
