/**
 * Every list query the inbox issues walks an index in its ORDER BY order: EXPLAIN of the exact
 * SQL shows an Index Scan on cases and no Sort, so a page costs `limit` rows however many cases
 * the tenant has. Badge counts read inbox_counters only. Sequential and bitmap scans are switched
 * off so a small test table cannot hide a missing index behind a cheap full scan, and a narrow
 * filter (a customer's four cases) cannot pick a bitmap scan plus a sort of four rows: what is
 * left is an index scan, with a Sort node unless the index order serves the ORDER BY.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SQL, sql } from 'drizzle-orm';
import { rows } from '../server/db/client.ts';
import { cases, customers } from '../server/db/schema/index.ts';
import { badgesQuery } from '../server/modules/cases/cases.counters.ts';
import { buildListCasesQuery, type ListFilter } from '../server/modules/cases/cases.queries.ts';
import { channels } from '../shared/domain/channels.ts';
import * as given from './support/given.ts';
import { engine, startTestApp } from './support/test-app.ts';

const { app } = await startTestApp();
const { db } = app.database;

// A tenant with a few thousand cases spread over statuses, owners, teams and channels, and a
// neighbour tenant, so the planner has a realistic choice to make.
async function populate(t: given.GivenTenant, n: number) {
  const teamIds = [(await given.team(t)).id, (await given.team(t)).id];
  const ownerIds = [(await given.user(t)).id, (await given.user(t)).id, (await given.user(t)).id];
  const people = await db
    .insert(customers)
    .values(Array.from({ length: n / 4 }, (_, i) => ({ tenantId: t.id, name: `Customer ${i}` })))
    .returning({ id: customers.id });
  const statuses = ['new', 'open', 'pending', 'resolved', 'closed'];
  const base = Date.parse('2026-01-01T00:00:00Z');
  const values = Array.from({ length: n }, (_, i) => ({
    tenantId: t.id,
    number: 1001 + i,
    subject: `Case ${i}`,
    status: statuses[i % 5]!,
    customerId: people[i % people.length]!.id,
    channel: channels[i % channels.length]!,
    ownerId: i % 3 === 0 ? null : ownerIds[i % ownerIds.length]!,
    teamId: i % 2 === 0 ? teamIds[i % 4 === 0 ? 0 : 1]! : null,
    // Pairs share an updated_at, as bulk changes do.
    updatedAt: new Date(base + Math.floor(i / 2) * 60_000),
  }));
  for (let i = 0; i < values.length; i += 500) await db.insert(cases).values(values.slice(i, i + 500));
  await db.execute(sql`select setval(case_number_sequence(${t.id}), ${1000 + n})`);
  return { teamIds, ownerIds, customerId: people[0]!.id };
}

const t = await given.tenant(app);
const world = await populate(t, 4000);
await populate(await given.tenant(app), 1000);
await db.execute(sql`analyze cases`);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** EXPLAIN (FORMAT JSON) of a query, with sequential and bitmap scans off for this transaction only. */
async function explain(query: SQL): Promise<PlanNode> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local enable_seqscan = off`);
    await tx.execute(sql`set local enable_bitmapscan = off`);
    const [row] = await rows<{ 'QUERY PLAN': unknown }>(tx, sql`explain (format json) ${query}`);
    const raw = row!['QUERY PLAN'];
    const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
    return parsed[0]!.Plan;
  });
}

/** A cursor as the API hands it out: the last row of a first page. */
async function cursorAfterFirstPage(filter: ListFilter): Promise<string> {
  const res = await app.inject({
    url: `/api/v1/cases?${new URLSearchParams(Object.entries(filter).map(([k, v]) => [k, String(v ?? 'none')]))}&limit=2`,
    headers: t.headers,
  });
  const cursor = res.json().nextCursor as string | null;
  assert.ok(cursor, `a second page exists for ${JSON.stringify(filter)}: ${res.body}`);
  return cursor;
}

const views: { name: string; filter: ListFilter; index: string }[] = [
  { name: 'all cases', filter: {}, index: 'cases_recent' },
  { name: 'all open', filter: { status: 'active' }, index: 'cases_active' },
  { name: 'one status', filter: { status: 'pending' }, index: 'cases_status' },
  { name: 'mine', filter: { owner: world.ownerIds[1], status: 'active' }, index: 'cases_owner' },
  { name: 'unassigned', filter: { owner: null, status: 'active' }, index: 'cases_unassigned' },
  { name: 'my team', filter: { team: world.teamIds[0], status: 'active' }, index: 'cases_team' },
  { name: 'one channel', filter: { channel: 'sms', status: 'active' }, index: 'cases_channel' },
  { name: 'a customer’s cases', filter: { customer: world.customerId }, index: 'cases_customer' },
];

for (const view of views) {
  for (const paged of [false, true]) {
    test(`${view.name}${paged ? ', next page' : ''}: walks ${view.index} in order, no sort (${engine})`, async () => {
      const filter: ListFilter = { ...view.filter, limit: 50 };
      if (paged) filter.cursor = await cursorAfterFirstPage(view.filter);
      const query = buildListCasesQuery(db, t.id, filter);
      const plan = await explain(query.getSQL());
      const all = nodes(plan);
      const summary = all
        .map((n) => `${n['Node Type']}${n['Index Name'] ? `(${n['Index Name']})` : ''}`)
        .join(' > ');
      assert.ok(!all.some((n) => /Sort/.test(n['Node Type'])), `no Sort node: ${summary}`);
      const scan = all.find((n) => n['Relation Name'] === 'cases');
      assert.ok(scan, summary);
      assert.match(scan['Node Type'], /^Index (Only )?Scan$/, summary);
      assert.equal(scan['Index Name'], view.index, summary);
      // The SQL explained is the SQL the API runs: both answer the same page.
      const direct = await query;
      assert.ok(direct.length > 0 && direct.length <= 51, `${view.name} returns a page`);
    });
  }
}

test(`inbox badge counts read inbox_counters only, never cases (${engine})`, async () => {
  const plan = await explain(badgesQuery(t.id, world.ownerIds[0]!, world.teamIds));
  const relations = new Set(nodes(plan).flatMap((n) => (n['Relation Name'] ? [n['Relation Name']] : [])));
  assert.deepEqual([...relations], ['inbox_counters']);
  const res = await app.inject({ url: '/api/v1/inbox/counts', headers: t.headers });
  assert.equal(res.statusCode, 200);
});
