import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import * as given from '../../../tests/support/given.ts';
import { chatSession } from '../../../tests/support/given-chat.ts';
import { engine, startTestApp } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';

const { app } = await startTestApp();
const db = app.database.db;

type Headers = Record<string, string>;
const get = (headers: Headers, url: string) => app.inject({ url, headers });
const post = (headers: Headers, url: string, payload?: Record<string, unknown>) =>
  app.inject({ method: 'POST', url, headers, payload });
const merge = (headers: Headers, survivorId: string, mergedId: string) =>
  post(headers, `/api/v1/customers/${survivorId}/merge`, { mergedId });
const split = (headers: Headers, mergeId: string) =>
  post(headers, `/api/v1/customers/merges/${mergeId}/split`);

/** Where every row that names a customer points, as the database has it. */
async function ownership(tenantId: string) {
  const [row] = await rows<Record<string, Record<string, string>>>(
    db,
    sql`select
      (select coalesce(jsonb_object_agg(kind || ':' || value, customer_id), '{}') from customer_identities where tenant_id = ${tenantId}) as identities,
      (select coalesce(jsonb_object_agg(number, customer_id), '{}') from cases where tenant_id = ${tenantId}) as cases,
      (select coalesce(jsonb_object_agg(id, customer_id), '{}') from conversations where tenant_id = ${tenantId}) as conversations,
      (select coalesce(jsonb_object_agg(id, customer_id), '{}') from contacts where tenant_id = ${tenantId}) as contacts,
      (select coalesce(jsonb_object_agg(id, author_customer_id), '{}') from messages where tenant_id = ${tenantId} and author_customer_id is not null) as messages,
      (select coalesce(jsonb_object_agg(id, customer_id), '{}') from chat_sessions where tenant_id = ${tenantId}) as chats,
      (select coalesce(jsonb_object_agg(id, jsonb_build_object('name', name, 'merged', merged_into_id)), '{}') from customers where tenant_id = ${tenantId}) as customers`,
  );
  return row!;
}

/** Pat wrote by email (no name given) and, as "Pat Jones", by SMS and chat: two records of one person. */
async function patTwice(t: given.GivenTenant, n = 0) {
  const email = n ? `pat${n}@example.com` : 'pat@example.com';
  const byEmail = await given.contact(t, { from: { identity: email }, text: 'Router lights red' });
  await given.contact(t, { from: { identity: email }, text: 'Still red' });
  const bySms = await given.contact(t, {
    channel: 'sms',
    from: { identity: `+4479111234${56 + n}`, name: 'Pat Jones' },
    text: 'No signal since the storm',
  });
  const survivor = byEmail.customer.id as string;
  const merged = bySms.customer.id as string;
  const chatId = await chatSession(t, merged, { name: 'Pat Jones', email });
  return { survivor, merged, chatId, survivorCase: byEmail.case, mergedCase: bySms.case };
}

test('a supervisor merges two records of one person: identities, cases and history move, audited', async () => {
  const t = await given.tenant(app);
  const supervisor = await given.user(t, 'supervisor', { name: 'Sam Supervisor' });
  const session = await given.signedIn(t, supervisor);
  const pat = await patTwice(t);
  const before = await ownership(t.id);

  const res = await merge(session.write, pat.survivor, pat.merged);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.survivor.id, pat.survivor);
  assert.equal(body.survivor.name, 'Pat Jones', 'the survivor had no name and takes the merged one');
  assert.deepEqual(
    body.survivor.identities.map((i: { value: string }) => i.value),
    ['pat@example.com', '+447911123456'],
  );
  assert.equal(body.merged.mergedIntoId, pat.survivor);
  assert.deepEqual(body.merged.identities, []);
  assert.equal(body.merge.mergedBy, supervisor.id);
  assert.equal(body.merge.mergedName, 'Pat Jones');
  assert.deepEqual(body.merge.moved.cases, [{ id: pat.mergedCase.id, number: pat.mergedCase.number }]);
  assert.deepEqual(body.merge.moved.identities, [{ kind: 'phone', platform: '', value: '+447911123456' }]);
  assert.equal(body.merge.moved.contacts, 1);
  assert.equal(body.merge.moved.messages, 1);
  assert.equal(body.merge.moved.chatSessions, 1);

  // Every row that named the merged customer now names the survivor; nothing else changed.
  const after = await ownership(t.id);
  const moveTo = (map: Record<string, string>) =>
    Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v === pat.merged ? pat.survivor : v]));
  for (const key of ['identities', 'cases', 'conversations', 'contacts', 'messages', 'chats'] as const) {
    assert.deepEqual(after[key], moveTo(before[key]!), key);
  }

  // The audit record lists exactly what moved, with the merged record's own fields.
  const [record] = await rows<{ moved: Record<string, unknown>; merged_by: string }>(
    db,
    sql`select moved, merged_by from customer_merges where tenant_id = ${t.id}`,
  );
  const movedIds = (key: string) =>
    Object.entries(before[key]!)
      .filter(([, owner]) => owner === pat.merged)
      .map(([id]) => id)
      .sort();
  assert.deepEqual((record!.moved.contacts as string[]).toSorted(), movedIds('contacts'), 'contacts by id');
  assert.deepEqual((record!.moved.messages as string[]).toSorted(), movedIds('messages'));
  assert.deepEqual((record!.moved.conversations as string[]).toSorted(), movedIds('conversations'));
  assert.deepEqual(record!.moved.chatSessions, [pat.chatId]);
  assert.deepEqual(record!.moved.customer, {
    name: 'Pat Jones',
    organisationId: null,
    language: null,
    preferredChannel: null,
  });
  assert.deepEqual(record!.moved.filled, { name: 'Pat Jones' });

  // Both cases stay cases of their own, now on the survivor's history.
  const history = await get(t.headers, `/api/v1/cases?customer=${pat.survivor}`);
  assert.deepEqual(
    new Set(history.json().items.map((c: { id: string }) => c.id)),
    new Set([pat.survivorCase.id, pat.mergedCase.id]),
  );
  const moved = await get(t.headers, `/api/v1/cases/${pat.mergedCase.id}/timeline`);
  const event = moved.json().items.at(-1);
  assert.equal(event.type, 'customer.merged');
  assert.deepEqual(event.actor, { type: 'user', id: supervisor.id });
  assert.equal(event.data.mergedName, 'Pat Jones');
  assert.equal(event.data.survivorId, pat.survivor);
  const stayed = await get(t.headers, `/api/v1/cases/${pat.survivorCase.id}/timeline`);
  assert.ok(!stayed.json().items.some((e: { type: string }) => e.type === 'customer.merged'));

  // The merged record answers with the survivor; its old identity finds the survivor.
  const old = await get(t.headers, `/api/v1/customers/${pat.merged}`);
  assert.equal(old.statusCode, 200);
  assert.equal(old.json().mergedIntoId, pat.survivor);
  const found = await get(t.headers, `/api/v1/customers?identity=${encodeURIComponent('+447911123456')}`);
  assert.deepEqual(
    found.json().items.map((c: { id: string }) => c.id),
    [pat.survivor],
  );

  // A new contact from any merged identity lands on the survivor.
  const again = await given.contact(t, {
    channel: 'sms',
    from: { identity: '+447911123456' },
    text: 'Hello?',
  });
  assert.equal(again.customer.id, pat.survivor);
  assert.equal(again.case.customerId, pat.survivor);
  assert.equal(again.repeat, true, 'it joins one of the survivor’s open cases');

  const merges = await get(t.headers, `/api/v1/customers/${pat.merged}/merges`);
  assert.deepEqual(
    merges.json().items.map((m: { id: string }) => m.id),
    [body.merge.id],
  );
});

test('merging refuses the same customer, a stranger, another tenant’s and a merged customer, changing nothing', async () => {
  const t = await given.tenant(app);
  const other = await given.tenant(app);
  const pat = await patTwice(t);
  const third = (await given.contact(t, { from: { identity: 'lee@example.com' } })).customer.id as string;
  const foreign = (await given.contact(other, { from: { identity: 'pat@example.com' } })).customer
    .id as string;
  assert.equal((await merge(t.headers, pat.survivor, third)).statusCode, 200);
  const before = await ownership(t.id);
  const beforeOther = await ownership(other.id);

  const cases: [string, string, number, string][] = [
    [pat.survivor, pat.survivor, 422, 'same_customer'],
    [pat.survivor, randomUUID(), 404, 'customer_not_found'],
    [randomUUID(), pat.merged, 404, 'customer_not_found'],
    [pat.survivor, foreign, 404, 'customer_not_found'],
    [foreign, pat.merged, 404, 'customer_not_found'],
    [pat.survivor, third, 409, 'customer_merged'],
    [third, pat.merged, 409, 'customer_merged'],
    ['not-a-customer', pat.merged, 404, 'customer_not_found'],
  ];
  for (const [survivor, merged, status, code] of cases) {
    const res = await merge(t.headers, survivor, merged);
    assert.equal(res.statusCode, status, `${survivor} ← ${merged}: ${res.body}`);
    assert.equal(res.json().error.code, code);
  }
  const conflict = await merge(t.headers, third, pat.merged);
  assert.deepEqual(conflict.json().error.details, [{ path: 'mergedIntoId', message: pat.survivor }]);
  for (const payload of [{}, { mergedId: 'x' }, { mergedId: pat.merged, extra: 1 }, { mergedId: 42 }]) {
    const res = await post(t.headers, `/api/v1/customers/${pat.survivor}/merge`, payload);
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.match(res.json().error.code, /^(validation_failed|unknown_field)$/);
  }
  const agent = await given.token(t, 'agent');
  const forbidden = await merge(agent, pat.survivor, pat.merged);
  assert.equal(forbidden.statusCode, 403);

  assert.deepEqual(await ownership(t.id), before);
  assert.deepEqual(await ownership(other.id), beforeOther);
});

test('two merges of one pair at once: one wins, the other is told it is merged already', async () => {
  const t = await given.tenant(app);
  for (const opposite of [true, false]) {
    const pat = await patTwice(t, opposite ? 1 : 2);
    const answers = await Promise.all([
      merge(t.headers, pat.survivor, pat.merged),
      opposite ? merge(t.headers, pat.merged, pat.survivor) : merge(t.headers, pat.survivor, pat.merged),
    ]);
    const statuses = answers.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [200, 409], answers.map((r) => r.body).join('\n'));
    assert.equal(answers.find((r) => r.statusCode === 409)!.json().error.code, 'customer_merged');
    const [count] = await rows<{ n: number }>(
      db,
      sql`select count(*)::int as n from customer_merges
          where tenant_id = ${t.id} and ${pat.survivor}::uuid in (survivor_id, merged_id)`,
    );
    assert.equal(count!.n, 1, 'one merge recorded');
    const winner = answers.find((r) => r.statusCode === 200)!.json();
    const gone = await get(t.headers, `/api/v1/customers/${winner.merged.id}`);
    assert.equal(gone.json().mergedIntoId, winner.survivor.id);
    assert.equal(winner.survivor.identities.length, 2);
  }
});

test('a split puts back exactly what the merge moved; what came later stays with the survivor', async () => {
  const t = await given.tenant(app);
  const supervisor = await given.signedIn(t, await given.user(t, 'supervisor'));
  const pat = await patTwice(t);
  const before = await ownership(t.id);
  const merged = (await merge(t.headers, pat.survivor, pat.merged)).json();

  // After the merge: the moved case changes, the old number writes again (joining a survivor case),
  // and another customer is merged in.
  await app.inject({
    method: 'PATCH',
    url: `/api/v1/cases/${pat.mergedCase.id}`,
    headers: t.headers,
    payload: { priority: 'high', status: 'pending' },
  });
  const later = await given.contact(t, {
    channel: 'sms',
    from: { identity: '+447911123456' },
    text: 'Any news?',
  });
  const lee = await given.contact(t, { from: { identity: 'lee@example.com', name: 'Lee' } });
  assert.equal((await merge(t.headers, pat.survivor, lee.customer.id)).statusCode, 200);

  const res = await split(supervisor.write, merged.merge.id);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.ok(body.merge.splitAt);
  assert.equal(body.merged.mergedIntoId, null);
  assert.deepEqual(
    body.merged.identities.map((i: { value: string }) => i.value),
    ['+447911123456'],
  );
  assert.equal(body.survivor.name, null, 'the name the merge filled in is emptied again');
  assert.deepEqual(
    body.survivor.identities.map((i: { value: string }) => i.value),
    ['pat@example.com', 'lee@example.com'],
    'Lee’s address, merged in later, stays',
  );

  const after = await ownership(t.id);
  // Everything the first merge moved is back where it was…
  for (const key of ['cases', 'conversations', 'contacts', 'messages', 'chats'] as const) {
    for (const [id, owner] of Object.entries(before[key]!))
      assert.equal(after[key]![id], owner, `${key} ${id}`);
  }
  // …the case with the changes made since, and the contact that came after the merge stays.
  const back = await get(t.headers, `/api/v1/cases/${pat.mergedCase.id}`);
  assert.equal(back.json().customerId, pat.merged);
  assert.equal(back.json().priority, 'high');
  assert.equal(after.contacts![later.contact.id], pat.survivor);
  const timeline = await get(t.headers, `/api/v1/cases/${pat.mergedCase.id}/timeline`);
  const split1 = timeline.json().items.at(-1);
  assert.equal(split1.type, 'customer.split');
  assert.equal(split1.data.mergeId, merged.merge.id);

  // The phone finds Pat's own record again.
  const found = await get(t.headers, `/api/v1/customers?identity=${encodeURIComponent('+447911123456')}`);
  assert.equal(found.json().items[0].id, pat.merged);

  const twice = await split(t.headers, merged.merge.id);
  assert.equal(twice.statusCode, 409);
  assert.equal(twice.json().error.code, 'customer_merge_split');
  for (const ref of [randomUUID(), 'nope']) {
    const ghost = await split(t.headers, ref);
    assert.equal(ghost.statusCode, 404);
    assert.equal(ghost.json().error.code, 'customer_merge_not_found');
  }
  const agent = await split(await given.token(t, 'agent'), merged.merge.id);
  assert.equal(agent.statusCode, 403);
});

test('a merge whose survivor was merged again is split only after the later merge', async () => {
  const t = await given.tenant(app);
  const pat = await patTwice(t);
  const third = (await given.contact(t, { from: { identity: 'pj@work.example' } })).customer.id as string;
  const first = (await merge(t.headers, pat.survivor, pat.merged)).json().merge.id;
  const second = (await merge(t.headers, third, pat.survivor)).json().merge.id;
  const before = await ownership(t.id);

  const blocked = await split(t.headers, first);
  assert.equal(blocked.statusCode, 409);
  assert.equal(blocked.json().error.code, 'customer_merged');
  assert.deepEqual(await ownership(t.id), before, 'nothing changed');

  assert.equal((await split(t.headers, second)).statusCode, 200);
  const res = await split(t.headers, first);
  assert.equal(res.statusCode, 200, res.body);
  const [owners] = await rows<{ n: number }>(
    db,
    sql`select count(distinct customer_id)::int as n from customer_identities where tenant_id = ${t.id}`,
  );
  assert.equal(owners!.n, 3, 'three customers of their own again');
  const history = await get(t.headers, `/api/v1/customers/${pat.survivor}/merges`);
  assert.deepEqual(
    history.json().items.map((m: { id: string; splitAt: string | null }) => [m.id, !!m.splitAt]),
    [
      [second, true],
      [first, true],
    ],
  );
});

test('a contact that read the merged identity just before the merge committed still ends on the survivor', {
  skip: engine !== 'postgres' && 'needs concurrent sessions (PostgreSQL)',
}, async () => {
  const t = await given.tenant(app);
  const pat = await patTwice(t);
  // A session holding the merged customer's case lets the test pause the merge inside its transaction.
  const holder = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query('select 1 from cases where tenant_id = $1 and id = $2 for update', [
      t.id,
      pat.mergedCase.id,
    ]);
    const holderPid = (await holder.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    const blockedBy = async (pid: number) => {
      for (let i = 0; i < 500; i++) {
        const { rows: found } = await holder.query(
          'select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))',
          [pid],
        );
        if (found[0]) return found[0].pid as number;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`nothing waited for ${pid}`);
    };
    const merging = merge(t.headers, pat.survivor, pat.merged);
    const mergePid = await blockedBy(holderPid); // holds both customers, waits for the case
    const late = given.contact(t, { channel: 'sms', from: { identity: '+447911123456' }, text: 'Hello?' });
    await blockedBy(mergePid); // read the identity on the merged customer, waits for its lock
    await holder.query('commit');
    const [merged, contact] = await Promise.all([merging, late]);
    assert.equal(merged.statusCode, 200, merged.body);

    const after = await ownership(t.id);
    assert.equal(after.contacts![contact.contact.id], pat.survivor, 'the late contact moved to the survivor');
    assert.equal(after.cases![contact.case.number], pat.survivor);
    for (const key of ['identities', 'cases', 'conversations', 'contacts', 'messages', 'chats'] as const) {
      assert.ok(!Object.values(after[key]!).includes(pat.merged), `no ${key} left on the merged record`);
    }
    const history = await get(t.headers, `/api/v1/customers/${pat.survivor}/merges`);
    assert.ok(
      history.json().items[0].moved.cases.some((c: { id: string }) => c.id === contact.case.id),
      'the merge record lists the late case',
    );
    const timeline = await get(t.headers, `/api/v1/cases/${contact.case.id}/timeline`);
    assert.ok(timeline.json().items.some((e: { type: string }) => e.type === 'customer.merged'));
  } finally {
    await holder.end();
  }
});
