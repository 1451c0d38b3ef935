/**
 * The role × route table: every registered route declares the permission pinned below, and
 * every role (by API token and signed in) gets exactly what shared/domain/permissions.ts allows.
 * A new route fails this file until it is added to `routes`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { WebSocket } from 'ws';
import { allows, type Permission } from '../shared/domain/permissions.ts';
import { type Role, roles } from '../shared/domain/roles.ts';
import * as given from './support/given.ts';
import { startTestApp } from './support/test-app.ts';

const { app } = await startTestApp();
const t = await given.tenant(app);
const team = await given.team(t);
const seeded = await given.contact(t, { from: { identity: 'robin@example.com' } });
const caseId = seeded.case.id as string;
const customerId = seeded.customer.id as string;
const channel = await given.emailChannel(t);
/** Quarantined mail for the reprocess calls: each allowed call takes one back to pending. */
const quarantined = await given.quarantinedEmails(t, channel, 12);
const email = await given.emailWithAttachment(t, channel);
let nextQuarantined = 0;
/** Failed outbound mail for the retry calls: each allowed call queues one again. */
const failed = await given.failedEmails(t, channel, 12);
let nextFailed = 0;
const chatChannel = await given.chatChannel(t);
/** Customer pairs for the merge calls and merges for the split calls: each call takes one. */
const pairs: [string, string][] = [];
const merges: string[] = [];
for (let i = 0; i < 10; i++) {
  const one = async (n: number) =>
    (await given.contact(t, { from: { identity: `pm${i}-${n}@example.com` } })).customer.id as string;
  pairs.push([await one(1), await one(2)]);
  const [a, b] = [await one(3), await one(4)];
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/customers/${a}/merge`,
    headers: t.headers,
    payload: { mergedId: b },
  });
  merges.push(res.json().merge.id);
}
let nextPair = 0;
let nextMerge = 0;
const otherCustomerId = pairs[0]![0];
/** Identities on the seeded customer for the remove calls: each call takes one. */
const removable: string[] = [];
for (let i = 0; i < 10; i++) {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/customers/${customerId}/identities`,
    headers: t.headers,
    payload: { kind: 'email', value: `robin-${i}@example.net` },
  });
  removable.push(res.json().identities.at(-1).id);
}
let nextRemovable = 0;

interface Call {
  url: string;
  payload?: Record<string, unknown>;
  /** Set when the handler checks a stricter permission than the route's for this body. */
  needs?: Permission;
}

interface RouteSpec {
  permission: Permission;
  /** Valid requests: an allowed caller gets a 2xx. */
  calls: () => Call[];
}

let seq = 0;
const routes: Record<string, RouteSpec> = {
  'GET /metrics': { permission: 'public', calls: () => [{ url: '/metrics' }] },
  'GET /api/v1/health': { permission: 'public', calls: () => [{ url: '/api/v1/health' }] },
  'GET /api/v1/openapi.json': { permission: 'public', calls: () => [{ url: '/api/v1/openapi.json' }] },
  'GET /api/v1/realtime': { permission: 'public', calls: () => [] }, // checked over WebSocket below
  'POST /api/v1/session': { permission: 'public', calls: () => [] }, // sign-in: see sessions.test.ts
  'GET /api/v1/session': { permission: 'session.self', calls: () => [{ url: '/api/v1/session' }] },
  'DELETE /api/v1/session': { permission: 'session.self', calls: () => [{ url: '/api/v1/session' }] },
  'POST /api/v1/session/password': {
    permission: 'session.self',
    calls: () => [
      {
        url: '/api/v1/session/password',
        payload: { currentPassword: given.PASSWORD, newPassword: 'a brand new passphrase' },
      },
    ],
  },
  'POST /api/v1/contacts': {
    permission: 'contacts.create',
    calls: () => [
      {
        url: '/api/v1/contacts',
        payload: { channel: 'email', from: { identity: `p${++seq}@example.com` }, text: 'Hi' },
      },
    ],
  },
  'GET /api/v1/cases': { permission: 'cases.read', calls: () => [{ url: '/api/v1/cases?status=active' }] },
  'GET /api/v1/inbox/counts': { permission: 'cases.read', calls: () => [{ url: '/api/v1/inbox/counts' }] },
  'GET /api/v1/cases/:id': { permission: 'cases.read', calls: () => [{ url: `/api/v1/cases/${caseId}` }] },
  'PATCH /api/v1/cases/:id': {
    permission: 'cases.update',
    calls: () => [{ url: `/api/v1/cases/${caseId}`, payload: { priority: seq++ % 2 ? 'high' : 'low' } }],
  },
  'GET /api/v1/cases/:id/timeline': {
    permission: 'cases.read',
    calls: () => [{ url: `/api/v1/cases/${caseId}/timeline` }],
  },
  'GET /api/v1/cases/:id/reply-options': {
    permission: 'cases.read',
    calls: () => [{ url: `/api/v1/cases/${caseId}/reply-options` }],
  },
  'POST /api/v1/cases/:id/messages': {
    permission: 'messages.note',
    calls: () => [
      { url: `/api/v1/cases/${caseId}/messages`, payload: { kind: 'note', text: 'Checked the line' } },
      {
        url: `/api/v1/cases/${caseId}/messages`,
        payload: { kind: 'reply', text: 'We are on it' },
        needs: 'messages.reply',
      },
    ],
  },
  'GET /api/v1/customers': {
    permission: 'customers.read',
    calls: () => [{ url: '/api/v1/customers?identity=robin@example.com' }],
  },
  'GET /api/v1/customers/:id': {
    permission: 'customers.read',
    calls: () => [{ url: `/api/v1/customers/${customerId}` }],
  },
  'POST /api/v1/customers/:id/identities': {
    permission: 'customers.update',
    calls: () => [
      {
        url: `/api/v1/customers/${customerId}/identities`,
        payload: { kind: 'email', value: `robin+${++seq}@example.net` },
      },
      // Already the customer's: 200, nothing changes.
      {
        url: `/api/v1/customers/${customerId}/identities`,
        payload: { kind: 'email', value: 'robin@example.com' },
      },
    ],
  },
  'DELETE /api/v1/customers/:id/identities/:identityId': {
    permission: 'customers.update',
    calls: () => [{ url: `/api/v1/customers/${customerId}/identities/${removable[nextRemovable++]}` }],
  },
  'GET /api/v1/customers/:id/matches': {
    permission: 'customers.read',
    calls: () => [{ url: `/api/v1/customers/${customerId}/matches` }],
  },
  'POST /api/v1/customers/:id/matches/:otherId/dismiss': {
    permission: 'customers.match',
    calls: () => [{ url: `/api/v1/customers/${customerId}/matches/${otherCustomerId}/dismiss` }],
  },
  'POST /api/v1/customers/:id/merge': {
    permission: 'customers.merge',
    calls: () => {
      const [survivor, merged] = pairs[nextPair++]!;
      return [{ url: `/api/v1/customers/${survivor}/merge`, payload: { mergedId: merged } }];
    },
  },
  'GET /api/v1/customers/:id/merges': {
    permission: 'customers.read',
    calls: () => [{ url: `/api/v1/customers/${customerId}/merges` }],
  },
  'POST /api/v1/customers/merges/:mergeId/split': {
    permission: 'customers.merge',
    calls: () => [{ url: `/api/v1/customers/merges/${merges[nextMerge++]}/split` }],
  },
  'GET /api/v1/users': { permission: 'directory.read', calls: () => [{ url: '/api/v1/users' }] },
  'GET /api/v1/teams': { permission: 'directory.read', calls: () => [{ url: '/api/v1/teams' }] },
  'GET /api/v1/channels': { permission: 'channels.read', calls: () => [{ url: '/api/v1/channels' }] },
  'GET /api/v1/channels/:id': {
    permission: 'channels.read',
    calls: () => [{ url: `/api/v1/channels/${channel.id}` }],
  },
  'POST /api/v1/channels': {
    permission: 'channels.manage',
    calls: () => [
      {
        url: '/api/v1/channels',
        payload: {
          type: 'email',
          name: `Billing ${seq}`,
          address: `billing-${seq++}-${randomUUID().slice(0, 8)}@perm.example`,
        },
      },
    ],
  },
  'PATCH /api/v1/channels/:id': {
    permission: 'channels.manage',
    calls: () => [{ url: `/api/v1/channels/${channel.id}`, payload: { name: `Support ${seq++}` } }],
  },
  // Platform webhooks: the platform's signature is the credential (channels.*.test.ts).
  'POST /webhooks/v1/channels/:channelId': { permission: 'public', calls: () => [] },
  'GET /webhooks/v1/channels/:channelId': { permission: 'public', calls: () => [] },
  'POST /api/v1/calls': {
    permission: 'messages.reply',
    calls: () => [
      {
        url: '/api/v1/calls',
        payload: {
          direction: 'inbound',
          number: `+447400${String(100_000 + seq++).padStart(6, '0')}`,
          durationSeconds: 95,
          outcome: 'completed',
        },
      },
    ],
  },
  'POST /api/v1/cases/:id/calls': {
    permission: 'messages.reply',
    calls: () => [
      {
        url: `/api/v1/cases/${caseId}/calls`,
        payload: { direction: 'outbound', number: '+447400123456', durationSeconds: 0, outcome: 'no_answer' },
      },
    ],
  },
  'GET /api/v1/messages/:id/html': {
    permission: 'cases.read',
    calls: () => [{ url: `/api/v1/messages/${email.messageId}/html` }],
  },
  'GET /api/v1/attachments/:id': {
    permission: 'cases.read',
    calls: () => [{ url: `/api/v1/attachments/${email.attachmentId}` }],
  },
  'POST /api/v1/cases/:id/typing': {
    permission: 'messages.reply',
    calls: () => [{ url: `/api/v1/cases/${caseId}/typing`, payload: { typing: true } }],
  },
  // The chat widget's public endpoints; the session-scoped ones take a visitor's token (chat tests).
  'GET /widget.js': { permission: 'public', calls: () => [{ url: '/widget.js' }] },
  'OPTIONS /widget/v1/*': { permission: 'public', calls: () => [] },
  'GET /widget/v1/config': {
    permission: 'public',
    calls: () => [{ url: `/widget/v1/config?channel=${chatChannel.id}` }],
  },
  'POST /widget/v1/sessions': { permission: 'public', calls: () => [] },
  'POST /widget/v1/offline-messages': { permission: 'public', calls: () => [] },
  'POST /widget/v1/sessions/:id/transcript': { permission: 'public', calls: () => [] },
  'POST /widget/v1/sessions/:id/attachments': { permission: 'public', calls: () => [] },
  'GET /widget/v1/sessions/:id/attachments/:attachmentId': { permission: 'public', calls: () => [] },
  'GET /widget/v1/socket': { permission: 'public', calls: () => [] },
  'GET /api/v1/email/quarantine': {
    permission: 'email.quarantine',
    calls: () => [{ url: '/api/v1/email/quarantine' }],
  },
  'POST /api/v1/email/quarantine/:id/reprocess': {
    permission: 'email.quarantine',
    calls: () => [{ url: `/api/v1/email/quarantine/${quarantined[nextQuarantined++]}/reprocess` }],
  },
  'GET /api/v1/email/outbox': {
    permission: 'email.outbox',
    calls: () => [{ url: '/api/v1/email/outbox?status=failed' }],
  },
  'POST /api/v1/email/outbox/:id/retry': {
    permission: 'email.outbox',
    calls: () => [{ url: `/api/v1/email/outbox/${failed[nextFailed++]}/retry` }],
  },
};

const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
const methodOf = (route: string) => route.split(' ')[0] as 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'OPTIONS';
/** Routes that end or replace the session they are called with need a fresh one each time. */
const consumesSession = new Set(['DELETE /api/v1/session', 'POST /api/v1/session/password']);

test('every registered route declares the permission this table pins', () => {
  for (const r of app.routeTable) assert.ok(r.permission, `${key(r)} declares no config.permission`);
  const declared = Object.fromEntries(app.routeTable.map((r) => [key(r), r.permission]));
  const pinned = Object.fromEntries(Object.entries(routes).map(([k, spec]) => [k, spec.permission]));
  assert.deepEqual(declared, pinned, 'a route was added, removed or changed permission: update this table');
});

test('without credentials every non-public route answers 401, before looking at the body', async () => {
  const bogus = [
    {},
    { authorization: 'Bearer rpt_not-a-real-token' },
    { authorization: 'Basic dXNlcjpwYXNz' },
    { cookie: 'rapport_session=forged' },
  ];
  for (const [route, spec] of Object.entries(routes)) {
    if (spec.permission === 'public') continue;
    const url = route.split(' ')[1]!.replace(':id', caseId);
    for (const headers of bogus) {
      const res = await app.inject({ method: methodOf(route), url, headers });
      assert.equal(res.statusCode, 401, `${route} with ${JSON.stringify(headers)}: ${res.body}`);
      assert.equal(res.json().error.code, 'unauthenticated');
    }
  }
});

test('public routes answer without credentials', async () => {
  for (const [route, spec] of Object.entries(routes)) {
    if (spec.permission !== 'public') continue;
    for (const call of spec.calls()) {
      const res = await app.inject({ method: methodOf(route), url: call.url });
      assert.equal(res.statusCode, 200, `${route}: ${res.body}`);
    }
  }
  const refused = await app.injectWS('/api/v1/realtime');
  const code = await new Promise<number>((resolve) => refused.on('close', (c: number) => resolve(c)));
  assert.equal(code, 4401, 'the realtime socket closes an unauthenticated client');
});

async function check(route: string, call: Call, role: Role, headers: Record<string, string>, via: string) {
  const res = await app.inject({ method: methodOf(route), url: call.url, headers, payload: call.payload });
  const what = `${route} (${call.payload?.kind ?? call.url}) as ${role} via ${via}`;
  if (allows(role, routes[route]!.permission) && allows(role, call.needs ?? 'public')) {
    assert.ok(
      res.statusCode >= 200 && res.statusCode < 300,
      `${what} is allowed: ${res.statusCode} ${res.body}`,
    );
  } else {
    assert.equal(res.statusCode, 403, `${what} is forbidden: ${res.body}`);
    assert.equal(res.json().error.code, 'forbidden');
  }
}

for (const role of roles) {
  test(`${role}: an API token gets exactly what the table allows`, async () => {
    const headers = await given.token(t, role);
    for (const [route, spec] of Object.entries(routes)) {
      if (spec.permission === 'public') continue;
      for (const call of spec.calls()) {
        if (spec.permission === 'session.self') {
          // A token is no session: it may not read, end or re-key one.
          const res = await app.inject({
            method: methodOf(route),
            url: call.url,
            headers,
            payload: call.payload,
          });
          assert.equal(res.statusCode, 403, `${route} with a token`);
          assert.equal(res.json().error.code, 'forbidden');
        } else await check(route, call, role, headers, 'token');
      }
    }
  });

  test(`${role}: a signed-in user gets exactly what the table allows`, async () => {
    const staff = await given.user(t, role, { teamIds: [team.id] });
    let session = await given.signedIn(t, staff);
    for (const [route, spec] of Object.entries(routes)) {
      if (spec.permission === 'public') continue;
      for (const call of spec.calls()) {
        const write = methodOf(route) !== 'GET';
        await check(route, call, role, write ? session.write : session.read, 'session');
        if (consumesSession.has(route)) {
          if (route === 'POST /api/v1/session/password') staff.password = 'a brand new passphrase';
          session = await given.signedIn(t, staff);
        }
      }
    }
  });
}

test('the realtime socket accepts a signed-in user of every role', async () => {
  for (const role of roles) {
    const session = await given.signedIn(t, await given.user(t, role));
    const frames: string[] = [];
    const ws: WebSocket = await app.injectWS(
      '/api/v1/realtime',
      { headers: { cookie: session.cookie } },
      {
        onInit: (socket: WebSocket) => socket.on('message', (data) => frames.push(String(data))),
      },
    );
    for (let i = 0; i < 50 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      frames.map((f) => JSON.parse(f)),
      [{ type: 'ready' }],
      `${role}`,
    );
    ws.terminate();
  }
});
