import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';

const { app } = await startTestApp();
const db = app.database.db;

type Headers = Record<string, string>;
const get = (headers: Headers, url: string) => app.inject({ url, headers });
const add = (headers: Headers, customerId: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/api/v1/customers/${customerId}/identities`, headers, payload });
const remove = (headers: Headers, customerId: string, identityId: string) =>
  app.inject({ method: 'DELETE', url: `/api/v1/customers/${customerId}/identities/${identityId}`, headers });

interface IdentityRow {
  id: string;
  kind: string;
  value: string;
}
const valuesOf = (customer: { identities: IdentityRow[] }) => customer.identities.map((i) => i.value);

/** Every identity of the tenant with its holder, and the identity events, as the database has them. */
async function stored(tenantId: string) {
  const [row] = await rows<{ identities: Record<string, string>; events: number }>(
    db,
    sql`select
      (select coalesce(jsonb_object_agg(kind || ':' || value, customer_id), '{}') from customer_identities where tenant_id = ${tenantId}) as identities,
      (select count(*)::int from events where tenant_id = ${tenantId} and type like 'customer.identity_%') as events`,
  );
  return row!;
}

/** Dana chatted on the website (a chat visitor id only) about a fault: her case is open. */
async function chatVisitor(t: given.GivenTenant) {
  const visitor = `visitor-${randomUUID().slice(0, 8)}`;
  const chat = await given.contact(t, {
    channel: 'chat',
    from: { identity: visitor, name: 'Dana Whitfield' },
    text: 'My broadband drops every evening',
  });
  return { id: chat.customer.id as string, visitor, case: chat.case as { id: string; number: number } };
}

test('an agent records the mobile number a chat visitor gave; their later SMS joins the open case as a repeat', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t, 'agent', { name: 'Robin Hale' });
  const session = await given.signedIn(t, agent);
  const dana = await chatVisitor(t);

  const res = await add(session.write, dana.id, { kind: 'phone', value: ' +44 7412 555123 ' });
  assert.equal(res.statusCode, 201, res.body);
  const customer = res.json();
  assert.deepEqual(valuesOf(customer), [dana.visitor, '+447412555123'], 'stored as E.164');
  assert.deepEqual(customer, (await get(session.read, `/api/v1/customers/${dana.id}`)).json());
  const phone = customer.identities[1];
  assert.equal(phone.kind, 'phone');
  assert.equal(phone.verified, false, 'the agent vouches for it, Rapport did not verify it');

  const sms = await given.contact(t, {
    channel: 'sms',
    from: { identity: '+447412555123' },
    text: 'Still down',
  });
  assert.equal(sms.customer.id, dana.id);
  assert.equal(sms.case.number, dana.case.number);
  assert.equal(sms.repeat, true);

  // Who added what: on the open case's timeline, and once for the customer's record.
  const timeline = (await get(session.read, `/api/v1/cases/${dana.case.id}/timeline`)).json();
  const added = timeline.items.filter((e: { type: string }) => e.type === 'customer.identity_added');
  assert.equal(added.length, 1);
  assert.deepEqual(added[0].actor, { type: 'user', id: agent.id });
  assert.deepEqual(added[0].data, {
    customerId: dana.id,
    customerName: 'Dana Whitfield',
    kind: 'phone',
    value: '+447412555123',
  });
  assert.equal((await stored(t.id)).events, 2);
});

test('an email address is kept lower-case; adding what the customer has already answers 200 and changes nothing', async () => {
  const t = await given.tenant(app);
  const dana = await chatVisitor(t);
  const first = await add(t.headers, dana.id, { kind: 'email', value: 'Dana.Whitfield@Example.NET' });
  assert.equal(first.statusCode, 201, first.body);
  assert.deepEqual(valuesOf(first.json()), [dana.visitor, 'dana.whitfield@example.net']);
  const before = await stored(t.id);

  const again = await add(t.headers, dana.id, { kind: 'email', value: 'dana.whitfield@example.net ' });
  assert.equal(again.statusCode, 200, again.body);
  assert.deepEqual(again.json(), first.json());
  assert.deepEqual(await stored(t.id), before, 'no second identity, no second event');
});

test('bad values, a merged customer and a stranger are refused, changing nothing', async () => {
  const t = await given.tenant(app);
  const dana = await chatVisitor(t);
  const other = await given.tenant(app);
  const foreign = (await given.contact(other, { from: { identity: 'lee@example.com' } })).customer.id;
  const merged = (await given.contact(t, { from: { identity: 'old@example.com' } })).customer.id;
  const survivor = (await given.contact(t, { from: { identity: 'new@example.com' } })).customer.id;
  const merge = await app.inject({
    method: 'POST',
    url: `/api/v1/customers/${survivor}/merge`,
    headers: t.headers,
    payload: { mergedId: merged },
  });
  assert.equal(merge.statusCode, 200, merge.body);
  const before = await stored(t.id);

  const refusals: [string, Record<string, unknown>, number, string, string?][] = [
    [dana.id, { kind: 'phone', value: '07412 555123' }, 400, 'identity_value_invalid', 'body.value'],
    [dana.id, { kind: 'phone', value: '+44 12' }, 400, 'identity_value_invalid', 'body.value'],
    [dana.id, { kind: 'email', value: 'dana at example' }, 400, 'identity_value_invalid', 'body.value'],
    [dana.id, { kind: 'email', value: '' }, 400, 'validation_failed', 'body.value'],
    [dana.id, { kind: 'chat', value: 'visitor-1' }, 400, 'validation_failed', 'body.kind'],
    [dana.id, { kind: 'email', value: 'a@example.com', verified: true }, 400, 'unknown_field'],
    [merged, { kind: 'email', value: 'old2@example.com' }, 409, 'customer_merged', 'mergedIntoId'],
    [foreign, { kind: 'email', value: 'dana@example.net' }, 404, 'customer_not_found'],
    [randomUUID(), { kind: 'email', value: 'dana@example.net' }, 404, 'customer_not_found'],
    ['not-a-customer', { kind: 'email', value: 'dana@example.net' }, 404, 'customer_not_found'],
  ];
  for (const [id, payload, status, code, path] of refusals) {
    const res = await add(t.headers, id, payload);
    assert.equal(res.statusCode, status, `${JSON.stringify(payload)}: ${res.body}`);
    const { error } = res.json();
    assert.equal(error.code, code, res.body);
    if (path)
      assert.ok(
        error.details?.some((d: { path: string }) => d.path.startsWith(path)),
        res.body,
      );
  }
  const specialist = await given.token(t, 'specialist');
  assert.equal((await add(specialist, dana.id, { kind: 'email', value: 'd@example.net' })).statusCode, 403);
  assert.deepEqual(await stored(t.id), before);
});

test('an address another customer holds is refused with who holds it, changing nothing', async () => {
  const t = await given.tenant(app);
  const dana = await chatVisitor(t);
  const holder = await given.contact(t, { channel: 'sms', from: { identity: '+447412555456' }, text: 'Hi' });
  const before = await stored(t.id);

  const res = await add(t.headers, dana.id, { kind: 'phone', value: '+44 7412 555456' });
  assert.equal(res.statusCode, 409, res.body);
  assert.equal(res.json().error.code, 'identity_taken');
  assert.deepEqual(res.json().error.details, [{ path: 'customerId', message: holder.customer.id }]);
  assert.deepEqual(await stored(t.id), before);
});

test('two agents add one number to two customers at once: exactly one gets it, the other is told who has it', async () => {
  const t = await given.tenant(app);
  for (let round = 0; round < 5; round++) {
    const [one, two] = [await chatVisitor(t), await chatVisitor(t)];
    const value = `+4474125552${String(round).padStart(2, '0')}`;
    const answers = await Promise.all([
      add(t.headers, one.id, { kind: 'phone', value }),
      add(t.headers, two.id, { kind: 'phone', value }),
    ]);
    assert.deepEqual(
      answers.map((r) => r.statusCode).sort(),
      [201, 409],
      answers.map((r) => r.body).join('\n'),
    );
    const winner = answers.findIndex((r) => r.statusCode === 201);
    const loser = answers[1 - winner]!.json();
    assert.equal(loser.error.code, 'identity_taken');
    assert.deepEqual(loser.error.details, [{ path: 'customerId', message: [one, two][winner]!.id }]);
    const holders = await rows<{ customer_id: string }>(
      db,
      sql`select customer_id from customer_identities where tenant_id = ${t.id} and value = ${value}`,
    );
    assert.deepEqual(
      holders.map((h) => h.customer_id),
      [[one, two][winner]!.id],
    );
  }
});

test('an agent removes a number added by mistake: the next text from it is a new customer', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t, 'agent', { name: 'Robin Hale' });
  const session = await given.signedIn(t, agent);
  const dana = await chatVisitor(t);
  const added = (await add(session.write, dana.id, { kind: 'phone', value: '+447412555789' })).json();
  const phone = added.identities.find((i: IdentityRow) => i.kind === 'phone');

  const res = await remove(session.write, dana.id, phone.id);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(valuesOf(res.json()), [dana.visitor]);
  assert.deepEqual(res.json(), (await get(session.read, `/api/v1/customers/${dana.id}`)).json());
  const timeline = (await get(session.read, `/api/v1/cases/${dana.case.id}/timeline`)).json();
  const removed = timeline.items.find((e: { type: string }) => e.type === 'customer.identity_removed');
  assert.deepEqual(removed.actor, { type: 'user', id: agent.id });
  assert.equal(removed.data.value, '+447412555789');

  const sms = await given.contact(t, { channel: 'sms', from: { identity: '+447412555789' }, text: 'Hello?' });
  assert.notEqual(sms.customer.id, dana.id);
  assert.equal(sms.repeat, false);
});

test('removing refuses the last identity, a chat visitor id, another customer’s identity and a merged record', async () => {
  const t = await given.tenant(app);
  const dana = await chatVisitor(t);
  const withEmail = (await add(t.headers, dana.id, { kind: 'email', value: 'dana@example.net' })).json();
  const [chatId, emailId] = withEmail.identities.map((i: IdentityRow) => i.id);
  const lee = (await given.contact(t, { from: { identity: 'lee@example.com' } })).customer;
  const other = await given.tenant(app);
  const foreign = (await given.contact(other, { from: { identity: 'kim@example.com' } })).customer;
  const survivor = (await given.contact(t, { from: { identity: 'new@example.com' } })).customer.id;
  await app.inject({
    method: 'POST',
    url: `/api/v1/customers/${survivor}/merge`,
    headers: t.headers,
    payload: { mergedId: lee.id },
  });
  const survivorIdentity = (await get(t.headers, `/api/v1/customers/${survivor}`)).json().identities[0];
  const before = await stored(t.id);
  const beforeOther = await stored(other.id);

  const refusals: [string, string, number, string][] = [
    [dana.id, chatId, 422, 'identity_not_removable'],
    [dana.id, survivorIdentity.id, 404, 'identity_not_found'],
    [dana.id, randomUUID(), 404, 'identity_not_found'],
    [dana.id, 'not-an-identity', 404, 'identity_not_found'],
    [lee.id, randomUUID(), 409, 'customer_merged'],
    [foreign.id, emailId, 404, 'customer_not_found'],
  ];
  for (const [customerId, identityId, status, code] of refusals) {
    const res = await remove(t.headers, customerId, identityId);
    assert.equal(res.statusCode, status, `${customerId}/${identityId}: ${res.body}`);
    assert.equal(res.json().error.code, code);
  }
  assert.deepEqual(await stored(t.id), before);

  const sole = (await given.contact(t, { from: { identity: 'sole@example.com' } })).customer.id;
  const soleIdentity = (await get(t.headers, `/api/v1/customers/${sole}`)).json().identities[0];
  const last = await remove(t.headers, sole, soleIdentity.id);
  assert.equal(last.statusCode, 409, last.body);
  assert.equal(last.json().error.code, 'last_identity');
  assert.deepEqual((await get(t.headers, `/api/v1/customers/${sole}`)).json().identities, [soleIdentity]);
  assert.deepEqual(await stored(other.id), beforeOther);
});
