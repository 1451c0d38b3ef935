/**
 * The demo organisation as a first-time visitor meets it: seeded once on an empty database
 * (in-memory PGlite, or a scratch PostgreSQL database when TEST_DATABASE_URL is set), the demo
 * sign-in works, and the inbox badges agree with the cases actually there.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { scratchPostgres } from '../../../tests/support/scratch-database.ts';
import { TEST_SECRET } from '../../../tests/support/test-app.ts';
import { buildApp } from '../../app.ts';
import { AppError } from '../../errors.ts';
import { openDatabase, rows, sql } from '../client.ts';
import { migrate } from '../migrate.ts';
import { demoCustomers, prng } from './demo.people.ts';
import { planDemo } from './demo.plan.ts';
import { DEMO_SIGN_IN, seedDemo, seedDemoIfEmpty } from './demo.ts';

const scratch = process.env.TEST_DATABASE_URL ? await scratchPostgres(process.env.TEST_DATABASE_URL) : null;
const database = await openDatabase({ url: scratch?.url ?? null });
await migrate(database);
const app = await buildApp({ database, secret: TEST_SECRET, webRoot: '/nonexistent' });
await app.ready();
after(async () => {
  await app.close();
  await database.close();
  await scratch?.drop();
});
const { db } = database;
const count = async (query: ReturnType<typeof sql>) => Number((await rows<{ n: number }>(db, query))[0]!.n);

test('an empty database gets the demo organisation once, quickly', async (t) => {
  const started = performance.now();
  assert.equal(await seedDemoIfEmpty(db), true);
  const ms = performance.now() - started;
  t.diagnostic(`seeded in ${Math.round(ms)} ms on ${database.engine}`);
  assert.ok(ms < 20_000, `seeding took ${Math.round(ms)} ms`);
  assert.equal(await seedDemoIfEmpty(db), false);
  assert.equal(await count(sql`select count(*) as n from tenants`), 1);
  await assert.rejects(seedDemo(db), (err: unknown) => err instanceof AppError && err.code === 'conflict');
  assert.equal(await count(sql`select count(*) as n from tenants`), 1, 'the refused seed left nothing');
});

test('the demo sign-in is an agent of Northwind Broadband with a profile and a team', async () => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { tenant: DEMO_SIGN_IN.tenant, email: DEMO_SIGN_IN.email, password: DEMO_SIGN_IN.password },
  });
  assert.equal(res.statusCode, 201, res.body);
  const session = res.json();
  assert.equal(session.tenant.slug, 'demo');
  assert.equal(session.tenant.name, 'Northwind Broadband');
  assert.equal(session.user.role, 'agent');
  assert.ok(session.user.bio.length > 20);
  assert.ok(session.user.signature.length > 5);
  assert.equal(session.user.teamIds.length, 1);

  const staff = await rows<{ role: string; n: number }>(
    db,
    sql`select role, count(*)::int as n from users group by role order by role`,
  );
  assert.deepEqual(Object.fromEntries(staff.map((r) => [r.role, r.n])), {
    admin: 1,
    agent: 5,
    specialist: 3,
    supervisor: 1,
  });
  const engineers = await count(sql`select count(*) as n from team_members m join teams t on t.id = m.team_id
    join users u on u.id = m.user_id where t.name = 'Engineering' and u.role = 'specialist'`);
  assert.ok(engineers >= 2, 'an engineering team of specialists');
  assert.equal(await count(sql`select count(*) as n from users where bio = '' or signature = ''`), 0);
});

test('about fifty customers and a hundred cases over the past month, across channels, with repeats', async () => {
  assert.ok((await count(sql`select count(*) as n from customers`)) >= 45);
  assert.ok((await count(sql`select count(*) as n from cases`)) >= 95);
  assert.ok((await count(sql`select count(distinct channel) as n from contacts`)) >= 5);
  assert.ok((await count(sql`select count(*) as n from cases where repeat_contact_count > 0`)) >= 10);
  // The same customer on several channels, all on one case.
  assert.ok(
    (await count(sql`select count(*) as n from cases c where (select count(distinct channel) from contacts
    where contacts.case_id = c.id) > 1`)) >= 10,
  );
  assert.ok((await count(sql`select count(*) as n from customer_identities where kind = 'phone'`)) >= 45);
  assert.ok((await count(sql`select count(*) as n from customer_identities where kind = 'social'`)) >= 5);
  assert.equal(await count(sql`select count(distinct status) as n from cases`), 5, 'every status appears');
  assert.ok((await count(sql`select count(*) as n from messages where kind = 'note'`)) >= 10);
  assert.ok((await count(sql`select count(*) as n from messages where kind = 'outbound'`)) >= 50);
  assert.ok((await count(sql`select count(distinct reason) as n from cases`)) >= 8);
  assert.ok((await count(sql`select count(distinct priority) as n from cases`)) >= 3);

  const [span] = await rows<{ days: number; future: number }>(
    db,
    sql`select extract(epoch from max(created_at) - min(created_at)) / 86400 as days,
          count(*) filter (where created_at > now() or updated_at > now()) as future from cases`,
  );
  assert.ok(Number(span!.days) > 20 && Number(span!.days) <= 30, `cases span ${span!.days} days`);
  assert.equal(Number(span!.future), 0);
  // Times follow the story: nothing answered before it arrived, nothing resolved before it opened.
  assert.equal(
    await count(sql`select count(*) as n from cases where first_response_at < created_at
      or resolved_at < created_at or last_contact_at < created_at`),
    0,
  );
});

test("the demo agent's inbox badges equal the active cases actually there", async () => {
  const signIn = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { tenant: DEMO_SIGN_IN.tenant, email: DEMO_SIGN_IN.email, password: DEMO_SIGN_IN.password },
  });
  const cookie = signIn.cookies.find((c) => c.name === 'rapport_session')!;
  const { user } = signIn.json();
  const res = await app.inject({
    url: '/api/v1/inbox/counts',
    headers: { cookie: `${cookie.name}=${cookie.value}` },
  });
  assert.equal(res.statusCode, 200);
  const badges = res.json();
  const expected = {
    mine: await count(sql`select count(*) as n from cases where active and owner_id = ${user.id}`),
    team: await count(
      sql`select count(*) as n from cases where active and team_id in (select team_id from team_members where user_id = ${user.id})`,
    ),
    unassigned: await count(sql`select count(*) as n from cases where active and owner_id is null`),
    open: await count(sql`select count(*) as n from cases where active`),
  };
  assert.deepEqual(badges, expected);
  assert.ok(expected.open >= 10 && expected.mine >= 1 && expected.unassigned >= 1, JSON.stringify(expected));
});

test('the plan is deterministic: the same seed gives the same month', () => {
  const anchor = new Date('2026-06-01T12:00:00Z');
  const once = () => {
    const rand = prng(7);
    return planDemo(rand, demoCustomers(rand, 50), anchor, 100);
  };
  assert.deepEqual(once(), once());
});
