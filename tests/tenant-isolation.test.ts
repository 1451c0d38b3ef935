/**
 * Another tenant's ids answer 404 on every route. The walk takes its route list from the app's
 * registry, so a new route with path params fails this file until it is covered here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rows } from '../server/db/client.ts';
import * as given from './support/given.ts';
import { startTestApp } from './support/test-app.ts';

const { app } = await startTestApp();

// Tenant A: the data a second tenant must never see or touch. Its walked case is #1003, a
// number tenant B (one case, #1001) does not have; #1001 exists in both.
const a = await given.tenant(app, 'Alpha Broadband');
const aTeam = await given.team(a, 'Alpha engineers');
await given.contact(a, { from: { identity: 'jo@alpha.example' } });
await given.contact(a, { from: { identity: '+447911123456' }, channel: 'sms' });
const aAgent = await given.user(a, 'agent', { teamIds: [aTeam.id], name: 'Rowan Alpha' });
const aFirst = await given.contact(a, {
  from: { identity: 'dana@alpha.example', name: 'Dana Alpha' },
  subject: 'Fibre down in the village',
});
await given.contact(a, { from: { identity: 'dana@alpha.example' }, text: 'Still down' });
const aCase = aFirst.case as { id: string; number: number };
const aCustomer = aFirst.customer as { id: string };
const aChannel = await given.emailChannel(a, 'help@alpha.example');
const [aQuarantined] = await given.quarantinedEmails(a, aChannel);
const aEmail = await given.emailWithAttachment(a, aChannel);
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
const aIds = [aCase.id, aCustomer.id, aAgent.id, aTeam.id, a.id, aChannel.id, aQuarantined!];

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
}
const aRefs: Ids = {
  caseId: aCase.id,
  caseNumber: aCase.number,
  customerId: aCustomer.id,
  channelId: aChannel.id,
  inboundEmailId: aQuarantined!,
  messageId: aEmail.messageId,
  attachmentId: aEmail.attachmentId,
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
  'POST /api/v1/cases/:id/messages': (ids) => [
    { url: `/api/v1/cases/${ids.caseId}/messages`, payload: { kind: 'reply', text: 'Hello from Beta' } },
    { url: `/api/v1/cases/${ids.caseNumber}/messages`, payload: { kind: 'note', text: 'Beta note' } },
  ],
  'GET /api/v1/customers/:id': (ids) => [{ url: `/api/v1/customers/${ids.customerId}` }],
  'GET /api/v1/channels/:id': (ids) => [{ url: `/api/v1/channels/${ids.channelId}` }],
  'PATCH /api/v1/channels/:id': (ids) => [
    { url: `/api/v1/channels/${ids.channelId}`, payload: { name: 'Taken over', active: false } },
  ],
  'GET /api/v1/messages/:id/html': (ids) => [{ url: `/api/v1/messages/${ids.messageId}/html` }],
  'GET /api/v1/attachments/:id': (ids) => [{ url: `/api/v1/attachments/${ids.attachmentId}` }],
  'POST /api/v1/email/quarantine/:id/reprocess': (ids) => [
    { url: `/api/v1/email/quarantine/${ids.inboundEmailId}/reprocess` },
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
    channel: await get(`/api/v1/channels/${aChannel.id}`),
    quarantine: await get('/api/v1/email/quarantine'),
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
    .filter((r) => r.url.includes(':'))
    .map((r) => `${r.method} ${r.url}`)
    .sort();
  assert.deepEqual(
    Object.keys(walk).sort(),
    paramRoutes,
    'every route with path params needs an entry in this walk (and no entry may outlive its route)',
  );

  const before = await snapshotOfA();
  for (const [route, calls] of Object.entries(walk)) {
    const method = route.split(' ')[0] as 'GET' | 'PATCH' | 'POST';
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
