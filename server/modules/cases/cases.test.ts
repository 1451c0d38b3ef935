import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import WebSocket from 'ws';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';

const { app } = await startTestApp();

type Headers = Record<string, string>;
const get = (headers: Headers, url: string) => app.inject({ url, headers });
const patch = (headers: Headers, ref: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'PATCH', url: `/api/v1/cases/${ref}`, headers, payload });
const ids = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((c) => c.id);

test('the case list filters by status, owner, team, customer and channel, newest activity first', async () => {
  const t = await given.tenant(app);
  const team = await given.team(t);
  const one = await given.user(t, 'agent', { teamIds: [team.id] });
  const two = await given.user(t, 'agent');
  const session = await given.signedIn(t, one);
  const c1 = (await given.contact(t, { from: { identity: 'x@example.com' } })).case;
  const c2 = (await given.contact(t, { channel: 'sms', from: { identity: '+447911123404' } })).case;
  const c3 = (await given.contact(t, { channel: 'chat', from: { identity: 'visitor-7' } })).case;
  const c4 = (await given.contact(t, { from: { identity: 'w@example.com' } })).case;
  await patch(t.headers, c1.id, { ownerId: one.id, teamId: team.id, status: 'open' });
  await patch(t.headers, c2.id, { teamId: team.id });
  await patch(t.headers, c3.id, { ownerId: two.id, status: 'pending' });
  await patch(t.headers, c4.id, { ownerId: one.id, status: 'resolved' });

  const expect = async (query: string, want: { id: string }[], headers: Headers = t.headers) => {
    const res = await get(headers, `/api/v1/cases?${query}`);
    assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
    assert.deepEqual(new Set(ids(res)), new Set(want.map((c) => c.id)), query);
    const stamps = res.json().items.map((c: { updatedAt: string }) => c.updatedAt);
    assert.deepEqual(stamps, [...stamps].sort().reverse(), `${query}: newest activity first`);
  };
  await expect('', [c1, c2, c3, c4]);
  await expect('status=active', [c1, c2, c3]);
  await expect('status=resolved', [c4]);
  await expect('status=new', [c2]);
  await expect(`owner=${one.id}`, [c1, c4]);
  await expect(`owner=${one.id}&status=active`, [c1]);
  await expect('owner=me&status=active', [c1], session.read);
  await expect('owner=none&status=active', [c2]);
  await expect(`team=${team.id}`, [c1, c2]);
  await expect(`customer=${c1.customerId}`, [c1]);
  await expect('channel=sms', [c2]);
  await expect('channel=email&status=active', [c1]);
  await expect(`owner=${randomUUID()}`, []);

  for (const bad of [
    'status=done',
    'owner=someone',
    'team=42',
    'channel=fax',
    'limit=0',
    'limit=101',
    'color=red',
  ]) {
    const res = await get(t.headers, `/api/v1/cases?${bad}`);
    assert.equal(res.statusCode, 400, bad);
    assert.match(res.json().error.code, /^(validation_failed|unknown_field)$/, bad);
  }
  const meByToken = await get(t.headers, '/api/v1/cases?owner=me');
  assert.equal(meByToken.statusCode, 400, 'an API token is nobody’s "me"');
});

test('keyset pagination walks every case exactly once, across pages and ties on updated_at', async () => {
  const t = await given.tenant(app);
  for (let i = 0; i < 13; i++) await given.contact(t);
  // Three timestamps for thirteen cases: most page boundaries fall inside a tie.
  await app.database.db.execute(
    sql`update cases set updated_at = timestamptz '2026-03-01T09:00:00Z' + (number % 3) * interval '1 minute'
        where tenant_id = ${t.id}`,
  );
  const expected = (
    await rows<{ id: string }>(
      app.database.db,
      sql`select id from cases where tenant_id = ${t.id} order by updated_at desc, id desc`,
    )
  ).map((r) => r.id);

  for (const [query, want] of [
    ['', expected],
    ['status=active&', expected],
  ] as const) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(
        t.headers,
        `/api/v1/cases?${query}limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json();
      assert.ok(page.items.length <= 4);
      seen.push(...ids(res));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 4, 'thirteen cases in pages of four');
    assert.deepEqual(seen, want, 'no duplicates, no gaps, same order as the index');
  }
  const forged = await get(
    t.headers,
    `/api/v1/cases?cursor=${Buffer.from('{"u":"x"}').toString('base64url')}`,
  );
  assert.equal(forged.statusCode, 400);
  assert.equal(forged.json().error.code, 'invalid_cursor');
});

test('a case is found by id and by number; an unknown one is a 404', async () => {
  const t = await given.tenant(app);
  const { case: kase } = await given.contact(t, { subject: 'Router keeps rebooting' });
  const byId = await get(t.headers, `/api/v1/cases/${kase.id}`);
  const byNumber = await get(t.headers, `/api/v1/cases/${kase.number}`);
  assert.equal(byId.statusCode, 200);
  assert.deepEqual(byNumber.json(), byId.json());
  assert.equal(byId.json().subject, 'Router keeps rebooting');
  for (const ref of [randomUUID(), '999999', 'abc']) {
    const res = await get(t.headers, `/api/v1/cases/${ref}`);
    assert.equal(res.statusCode, 404, ref);
    assert.equal(res.json().error.code, 'case_not_found');
  }
});

test('changing owner, team, status, priority, reason and tags records one timeline event each', async () => {
  const t = await given.tenant(app);
  const team = await given.team(t);
  const agent = await given.user(t, 'agent', { teamIds: [team.id] });
  const session = await given.signedIn(t, agent);
  const { case: kase } = await given.contact(t);
  const res = await patch(session.write, String(kase.number), {
    ownerId: agent.id,
    teamId: team.id,
    status: 'pending',
    priority: 'high',
    reason: 'billing',
    tags: ['VIP', ' outage '],
  });
  assert.equal(res.statusCode, 200, res.body);
  const updated = res.json();
  assert.equal(updated.ownerId, agent.id);
  assert.equal(updated.teamId, team.id);
  assert.equal(updated.status, 'pending');
  assert.equal(updated.priority, 'high');
  assert.equal(updated.reason, 'billing');
  assert.deepEqual(updated.tags, ['outage', 'vip']);
  assert.ok(updated.updatedAt > kase.updatedAt);

  const timeline = (await get(t.headers, `/api/v1/cases/${kase.id}/timeline`)).json().items;
  const changes = timeline.filter(
    (e: { type: string }) => e.type.startsWith('case.') && e.type !== 'case.opened',
  );
  const byType = Object.fromEntries(changes.map((e: { type: string; data: unknown }) => [e.type, e.data]));
  assert.deepEqual(byType, {
    'case.owner_changed': { from: null, to: agent.id },
    'case.team_changed': { from: null, to: team.id },
    'case.status_changed': { from: 'new', to: 'pending' },
    'case.priority_changed': { from: 'normal', to: 'high' },
    'case.reason_changed': { from: null, to: 'billing' },
    'case.tags_changed': { from: [], to: ['outage', 'vip'] },
  });
  for (const e of changes) assert.deepEqual(e.actor, { type: 'user', id: agent.id });

  const same = await patch(session.write, kase.id, { priority: 'high', tags: ['vip', 'outage'] });
  assert.equal(same.statusCode, 200);
  assert.equal(same.json().updatedAt, updated.updatedAt, 'a patch that changes nothing records nothing');
  const after = (await get(t.headers, `/api/v1/cases/${kase.id}/timeline`)).json().items;
  assert.equal(after.length, timeline.length);
});

test('a status move the lifecycle forbids is a 409 and changes nothing', async () => {
  const t = await given.tenant(app);
  const { case: kase } = await given.contact(t);
  assert.equal((await patch(t.headers, kase.id, { status: 'closed' })).statusCode, 200);
  for (const status of ['pending', 'resolved', 'new']) {
    const res = await patch(t.headers, kase.id, { status, priority: 'urgent' });
    assert.equal(res.statusCode, 409, status);
    assert.equal(res.json().error.code, 'invalid_transition');
    assert.match(res.json().error.message, new RegExp(`closed.*${status}`));
  }
  const now = (await get(t.headers, `/api/v1/cases/${kase.id}`)).json();
  assert.equal(now.status, 'closed');
  assert.equal(now.priority, 'normal', 'the rest of a refused patch is not applied');
  const reopened = await patch(t.headers, kase.id, { status: 'open' });
  assert.equal(reopened.json().reopenCount, 1);
  assert.equal(reopened.json().closedAt, null);
});

test('an owner who is unknown, inactive or in another tenant is a 404 user_not_found', async () => {
  const t = await given.tenant(app);
  const { case: kase } = await given.contact(t);
  const leaver = await given.user(t);
  await app.database.db.execute(
    sql`update users set active = false where tenant_id = ${t.id} and id = ${leaver.id}`,
  );
  const stranger = await given.user(await given.tenant(app));
  for (const ownerId of [randomUUID(), leaver.id, stranger.id]) {
    const res = await patch(t.headers, kase.id, { ownerId });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'user_not_found');
  }
  const team = await patch(t.headers, kase.id, { teamId: randomUUID() });
  assert.equal(team.json().error.code, 'team_not_found');
  assert.equal((await get(t.headers, `/api/v1/cases/${kase.id}`)).json().ownerId, null);
});

test('resolving an unowned case as a signed-in agent makes them its owner', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t);
  const session = await given.signedIn(t, agent);
  const { case: kase } = await given.contact(t);
  const res = await patch(session.write, kase.id, { status: 'resolved' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().ownerId, agent.id);
  assert.ok(res.json().resolvedAt);
  const types = (await get(t.headers, `/api/v1/cases/${kase.id}/timeline`))
    .json()
    .items.map((e: { type: string }) => e.type);
  assert.ok(types.includes('case.owner_changed'));
});

test('the first reply makes an unowned case the replier’s, opens it and sets first response time', async () => {
  const t = await given.tenant(app);
  const first = await given.user(t);
  const second = await given.user(t);
  const { case: kase } = await given.contact(t);
  const post = (s: { write: Headers }, kind: string) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/cases/${kase.id}/messages`,
      headers: s.write,
      payload: { kind, text: 'On it' },
    });
  const noted = await post(await given.signedIn(t, second), 'note');
  assert.equal(noted.statusCode, 201);
  assert.equal(noted.json().case.ownerId, null, 'a note takes nothing');
  assert.equal(noted.json().case.firstResponseAt, null);
  const replied = await post(await given.signedIn(t, first), 'reply');
  assert.equal(replied.statusCode, 201, replied.body);
  const c = replied.json().case;
  assert.equal(c.ownerId, first.id);
  assert.equal(c.status, 'open');
  assert.ok(c.firstResponseAt);
  assert.equal(replied.json().message.kind, 'outbound');
  assert.equal(replied.json().message.channel, 'email', 'a reply goes out where the customer wrote');
  const later = await post(await given.signedIn(t, second), 'reply');
  assert.equal(later.json().case.ownerId, first.id, 'one owner: a later replier does not take it');
  assert.equal(later.json().case.firstResponseAt, c.firstResponseAt);
});

test('inbox counts follow every change and always equal a direct count', async () => {
  const t = await given.tenant(app);
  const team = await given.team(t);
  const me = await given.user(t, 'agent', { teamIds: [team.id] });
  const colleague = await given.user(t, 'agent');
  const session = await given.signedIn(t, me);
  const badges = async () => (await get(session.read, '/api/v1/inbox/counts')).json();
  const direct = async () => {
    const [row] = await rows<Record<string, number>>(
      app.database.db,
      sql`select count(*) filter (where active and owner_id = ${me.id})::int as mine,
                 count(*) filter (where active and team_id = ${team.id})::int as team,
                 count(*) filter (where active and owner_id is null)::int as unassigned,
                 count(*) filter (where active)::int as open
          from cases where tenant_id = ${t.id}`,
    );
    return row;
  };
  const step = async (what: string, want: [number, number, number, number]) => {
    const [mine, teamCount, unassigned, open] = want;
    const shown = await badges();
    assert.deepEqual(shown, { mine, team: teamCount, unassigned, open }, what);
    assert.deepEqual(shown, await direct(), `${what}: counters equal a direct count`);
  };
  await step('empty', [0, 0, 0, 0]);
  const a = (await given.contact(t, { from: { identity: 'a@example.com' } })).case;
  const b = (await given.contact(t, { from: { identity: 'b@example.com' } })).case;
  await step('two new contacts', [0, 0, 2, 2]);
  await given.contact(t, { from: { identity: 'a@example.com' } });
  await step('a repeat joins its case', [0, 0, 2, 2]);
  await patch(session.write, a.id, { ownerId: me.id });
  await step('a assigned to me', [1, 0, 1, 2]);
  await patch(t.headers, b.id, { teamId: team.id });
  await step('b to my team', [1, 1, 1, 2]);
  await patch(t.headers, b.id, { ownerId: colleague.id });
  await step('b to a colleague', [1, 1, 0, 2]);
  await patch(t.headers, a.id, { status: 'pending' });
  await step('a pending (still open)', [1, 1, 0, 2]);
  await patch(t.headers, a.id, { status: 'resolved' });
  await step('a resolved', [0, 1, 0, 1]);
  await given.contact(t, { from: { identity: 'a@example.com' }, caseNumber: a.number });
  await step('a reopened by the customer, still mine', [1, 1, 0, 2]);
  const c = (await given.contact(t, { from: { identity: 'c@example.com' } })).case;
  await step('c arrives', [1, 1, 1, 3]);
  await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${c.id}/messages`,
    headers: session.write,
    payload: { kind: 'reply', text: 'Hello' },
  });
  await step('my reply makes c mine', [2, 1, 0, 3]);
  await patch(t.headers, b.id, { teamId: null, status: 'closed' });
  await step('b closed and off the team', [2, 0, 0, 2]);
  await patch(t.headers, c.id, { ownerId: null });
  await step('c back to the queue', [1, 0, 1, 2]);
  await patch(session.write, a.id, { status: 'resolved' });
  await given.contact(t, { from: { identity: 'a@example.com' } });
  await step('a resolved, then its customer writes again: a new case in the queue', [0, 0, 2, 2]);

  // Many changes at once, spread over counter shards: the sum still equals a direct count.
  const more = await Promise.all(
    Array.from({ length: 8 }, (_, i) => given.contact(t, { from: { identity: `burst${i}@example.com` } })),
  );
  await Promise.all(
    more.map((r, i) =>
      patch(t.headers, r.case.id, i % 2 ? { ownerId: me.id, teamId: team.id } : { status: 'resolved' }),
    ),
  );
  assert.deepEqual(await badges(), await direct());
});

test('realtime: a signed-in client hears contact.received for its tenant only', async () => {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `${address.replace('http', 'ws')}/api/v1/realtime`;
  const t = await given.tenant(app);
  const other = await given.tenant(app);
  const listen = async (cookie: string) => {
    const frames: { type: string; caseId?: string }[] = [];
    const socket = new WebSocket(url, { headers: { cookie } });
    socket.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    await until(() => frames.some((f) => f.type === 'ready'));
    return { socket, frames };
  };
  const mine = await listen((await given.signedIn(t, await given.user(t))).cookie);
  const theirs = await listen((await given.signedIn(other, await given.user(other))).cookie);

  const posted = await given.contact(t);
  await until(() => mine.frames.some((f) => f.type === 'contact.received'));
  assert.ok(mine.frames.some((f) => f.type === 'contact.received' && f.caseId === posted.case.id));
  // Events are published in order: once the other tenant hears its own contact, it would
  // already have heard ours had it leaked.
  const own = await given.contact(other);
  await until(() => theirs.frames.some((f) => f.type === 'contact.received'));
  assert.deepEqual(
    new Set(theirs.frames.filter((f) => f.caseId).map((f) => f.caseId)),
    new Set([own.case.id]),
    'the other tenant hears only its own cases',
  );
  assert.ok(!mine.frames.some((f) => f.caseId === own.case.id));

  const anonymous = new WebSocket(url);
  const code = await new Promise<number>((resolve) => anonymous.on('close', (c) => resolve(c)));
  assert.equal(code, 4401, 'no session, no socket');
  mine.socket.close();
  theirs.socket.close();
});

async function until(done: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out waiting for a realtime frame');
    await new Promise((r) => setTimeout(r, 10));
  }
}
