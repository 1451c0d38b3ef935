/**
 * The realtime bus between app nodes on one PostgreSQL database: the intake's notices go to the
 * node's own handlers directly, and through NOTIFY only while another node listens.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { eventually } from '../../tests/support/eventually.ts';
import * as given from '../../tests/support/given.ts';
import { engine, startTestApp, TEST_SECRET } from '../../tests/support/test-app.ts';
import { type App, buildApp } from '../app.ts';
import { openDatabase, rows, sql } from '../db/client.ts';
import type { Notice } from './bus.ts';

const skip = engine !== 'postgres' && 'nodes share a PostgreSQL server; PGlite admits one process';
const { app } = await startTestApp();

const otherNodes = async (node: App) => {
  const text = (await node.inject({ url: '/metrics' })).body;
  return Number(/^rapport_bus_other_nodes (\d+)$/m.exec(text)?.[1]);
};

/** Everything a node's bus hands its handlers for one tenant. */
function hear(node: App, tenantId: string): Notice[] {
  const heard: Notice[] = [];
  node.bus.subscribe((n) => {
    if (n.tenantId === tenantId) heard.push(n);
  });
  return heard;
}

const postContacts = (t: given.GivenTenant, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/contacts',
        headers: t.headers,
        payload: { channel: 'email', from: { identity: `c${i}@example.com` }, text: `Contact ${i}` },
      }),
    ),
  );

const eventIds = async (tenantId: string) =>
  (
    await rows<{ id: string }>(
      app.database.db,
      sql`select id from events where tenant_id = ${tenantId} order by id`,
    )
  ).map((e) => Number(e.id));

test('alone on its database, a node hands the intake’s notices to its own handlers and sends no NOTIFY', {
  skip,
}, async () => {
  const listener = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await listener.connect();
  const notified: string[] = [];
  listener.on('notification', (msg) => notified.push(msg.payload ?? ''));
  await listener.query('listen rapport_events');
  try {
    assert.equal(await otherNodes(app), 0, 'a plain LISTEN session is not a node');
    const t = await given.tenant(app);
    const heard = hear(app, t.id);
    const answers = await postContacts(t, 3);
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [201, 201, 201],
    );
    const expected = await eventIds(t.id);
    await eventually('the node heard every event', () => heard.length >= expected.length, 20_000);
    assert.deepEqual(
      heard.map((n) => n.eventId).sort((a, b) => a - b),
      expected,
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      notified.filter((p) => p.includes(t.id)),
      [],
      'nothing of the intake went through NOTIFY',
    );
  } finally {
    await listener.end();
  }
});

test('a second node hears the first node’s contacts, each notice once on each node; the first stops sending when it leaves', {
  skip,
}, async () => {
  const database = await openDatabase({ url: process.env.TEST_DATABASE_URL!, poolSize: 2 });
  const second = await buildApp({ database, secret: TEST_SECRET, webRoot: '/nonexistent', imap: false });
  await second.ready();
  try {
    assert.equal(await otherNodes(second), 1, 'the new node counted the first as it started');
    await eventually('the first node heard the second join', async () => (await otherNodes(app)) === 1);

    const t = await given.tenant(app);
    const here = hear(app, t.id);
    const there = hear(second, t.id);
    await postContacts(t, 6);
    const expected = await eventIds(t.id);
    assert.equal(expected.length, 6 * 3, 'a new customer, a case and a contact each');
    await eventually(
      'both nodes heard every event',
      () => here.length >= expected.length && there.length >= expected.length,
      20_000, // generous: a loaded CI machine delays notices, never loses them
    );
    await new Promise((r) => setTimeout(r, 200)); // anything heard twice would arrive by now
    const ids = (heard: Notice[]) => heard.map((n) => n.eventId).sort((a, b) => a - b);
    assert.deepEqual(ids(here), expected, 'the first node: its own notices once, not echoed back');
    assert.deepEqual(ids(there), expected, 'the second node: every notice once');
    assert.ok(
      there.some((n) => n.type === 'contact.received' && n.channel === 'email'),
      'notices arrive whole',
    );
  } finally {
    await second.close();
    await database.close();
  }
  // It counts the nodes every 5 s.
  await eventually(
    'the first node noticed the second left',
    async () => (await otherNodes(app)) === 0,
    15_000,
  );
});
