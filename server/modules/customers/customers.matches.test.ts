import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import * as given from '../../../tests/support/given.ts';
import { chatSession } from '../../../tests/support/given-chat.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';

const { app } = await startTestApp();

type Headers = Record<string, string>;
interface Match {
  customer: { id: string };
  strength: string;
  reasons: { code: string; value: string; here: string; there: string }[];
  caseCount: number;
}
async function matches(headers: Headers, customerId: string): Promise<Match[]> {
  const res = await app.inject({ url: `/api/v1/customers/${customerId}/matches`, headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items;
}
const dismiss = (headers: Headers, id: string, otherId: string) =>
  app.inject({ method: 'POST', url: `/api/v1/customers/${id}/matches/${otherId}/dismiss`, headers });
const customer = async (t: given.GivenTenant, body: Record<string, unknown>) =>
  (await given.contact(t, body)).customer.id as string;

test('an email given in chat that is another customer’s address is a strong match, seen from both sides', async () => {
  const t = await given.tenant(app);
  const byEmail = await customer(t, { from: { identity: 'pat@example.com' } });
  await given.contact(t, { from: { identity: 'pat@example.com' }, text: 'Second case?' });
  const visitor = await customer(t, { channel: 'chat', from: { identity: 'visitor-81', name: 'P.' } });
  await chatSession(t, visitor, { name: 'P.', email: ' Pat@Example.com ' });
  // Another chat visitor who typed the same address: both gave it, neither proved it.
  const second = await customer(t, { channel: 'chat', from: { identity: 'visitor-82' } });
  await chatSession(t, second, { email: 'pat@example.com' });
  // Noise: someone else's address, and another tenant with the same people.
  await customer(t, { from: { identity: 'lee@example.com' } });
  const other = await given.tenant(app);
  const elsewhere = await customer(other, { channel: 'chat', from: { identity: 'visitor-81' } });
  await chatSession(other, elsewhere, { email: 'pat@example.com' });

  const fromEmail = await matches(t.headers, byEmail);
  assert.deepEqual(
    fromEmail.map((m) => [m.customer.id, m.strength, m.reasons, m.caseCount]),
    [
      [
        visitor,
        'strong',
        [{ code: 'same_email', value: 'pat@example.com', here: 'identity', there: 'chat' }],
        1,
      ],
      [
        second,
        'strong',
        [{ code: 'same_email', value: 'pat@example.com', here: 'identity', there: 'chat' }],
        1,
      ],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
  const fromChat = await matches(t.headers, visitor);
  assert.deepEqual(
    fromChat.map((m) => [m.customer.id, m.reasons.map((r) => `${r.here}/${r.there}`)]),
    [
      [byEmail, ['chat/identity']],
      [second, ['chat/chat']],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
  assert.deepEqual(await matches(other.headers, elsewhere), [], 'no match crosses tenants');
});

test('the same full name is a weak match, ignoring case, accents and punctuation; one word is not enough', async () => {
  const t = await given.tenant(app);
  const zoe = await customer(t, { from: { identity: 'zoe@example.com', name: 'Zoë  O’Brien' } });
  const again = await customer(t, {
    channel: 'sms',
    from: { identity: '+447911123401', name: 'zoe o brien' },
  });
  const differs = await customer(t, { from: { identity: 'zob@example.com', name: 'Zoe Obrien' } });
  const pat1 = await customer(t, { from: { identity: 'pat1@example.com', name: 'Pat' } });
  const pat2 = await customer(t, { from: { identity: 'pat2@example.com', name: 'Pat' } });
  const strong = await customer(t, { channel: 'chat', from: { identity: 'v-9', name: 'Zoe O Brien' } });
  await chatSession(t, strong, { email: 'zoe@example.com' });

  const found = await matches(t.headers, zoe);
  assert.deepEqual(
    found.map((m) => [m.customer.id, m.strength, m.reasons.map((r) => r.code)]),
    [
      [strong, 'strong', ['same_email', 'same_name']],
      [again, 'weak', ['same_name']],
    ],
    'strong first; "Zoe Obrien" is another spelling, not the same name',
  );
  assert.deepEqual(found[1]!.reasons, [
    { code: 'same_name', value: 'zoe o brien', here: 'name', there: 'name' },
  ]);
  assert.ok(!found.some((m) => m.customer.id === differs));
  assert.deepEqual(await matches(t.headers, pat1), [], `"Pat" alone matches nobody (${pat2})`);
});

test('"not the same person" hides the pair from both sides for good; merged customers are never suggested', async () => {
  const t = await given.tenant(app);
  const agent = await given.signedIn(t, await given.user(t, 'agent'));
  const a = await customer(t, { from: { identity: 'robin.hale@example.com', name: 'Robin Hale' } });
  const b = await customer(t, { channel: 'sms', from: { identity: '+447911123402', name: 'Robin Hale' } });
  const c = await customer(t, { channel: 'chat', from: { identity: 'v-10', name: 'Robin Hale' } });
  assert.deepEqual((await matches(t.headers, a)).map((m) => m.customer.id).sort(), [b, c].sort());

  const res = await dismiss(agent.write, b, a);
  assert.equal(res.statusCode, 204, res.body);
  assert.equal((await dismiss(agent.write, a, b)).statusCode, 204, 'dismissing again is fine');
  assert.deepEqual(
    (await matches(t.headers, a)).map((m) => m.customer.id),
    [c],
  );
  assert.deepEqual(
    (await matches(t.headers, b)).map((m) => m.customer.id),
    [c],
  );
  const [who] = await rows<{ dismissed_by: string }>(
    app.database.db,
    sql`select dismissed_by from customer_match_dismissals where tenant_id = ${t.id}`,
  );
  assert.ok(who!.dismissed_by, 'who said so is kept');

  const merged = await app.inject({
    method: 'POST',
    url: `/api/v1/customers/${a}/merge`,
    headers: t.headers,
    payload: { mergedId: c },
  });
  assert.equal(merged.statusCode, 200, merged.body);
  assert.deepEqual(await matches(t.headers, a), [], 'c is part of a now; b was dismissed');
  assert.deepEqual(await matches(t.headers, c), [], 'a merged record has no matches');
  assert.deepEqual(
    (await matches(t.headers, b)).map((m) => m.customer.id),
    [],
  );
});

test('dismissing needs two customers of this tenant', async () => {
  const t = await given.tenant(app);
  const other = await given.tenant(app);
  const a = await customer(t, { from: { identity: 'kim@example.com' } });
  const foreign = await customer(other, { from: { identity: 'kim@example.com' } });
  for (const [id, otherId, status, code] of [
    [a, a, 422, 'same_customer'],
    [a, foreign, 404, 'customer_not_found'],
    [foreign, a, 404, 'customer_not_found'],
    [a, randomUUID(), 404, 'customer_not_found'],
    [a, 'nobody', 404, 'customer_not_found'],
  ] as const) {
    const res = await dismiss(t.headers, id, otherId);
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.json().error.code, code);
  }
  const missing = await app.inject({ url: `/api/v1/customers/${foreign}/matches`, headers: t.headers });
  assert.equal(missing.statusCode, 404);
  const [count] = await rows<{ n: number }>(
    app.database.db,
    sql`select count(*)::int as n from customer_match_dismissals where tenant_id in (${t.id}, ${other.id})`,
  );
  assert.equal(count!.n, 0);
});
