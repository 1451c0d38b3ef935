/**
 * Accepted means stored: every contact the server answered 201 is still there after the server
 * is killed with SIGKILL a moment later, with no chance to flush or shut down. Runs on PGlite
 * (a data directory, as `npm start` uses) or on PostgreSQL when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { openDatabase } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { cases, contacts, messages } from '../server/db/schema/index.ts';
import { createTenant, createToken } from '../server/modules/tenants/tenants.service.ts';
import { startServerProcess } from './support/server-process.ts';
import { engine } from './support/test-app.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-durability-'));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const ACKNOWLEDGED = 50;
/** More requests than we wait for: the kill lands while some are still being written. */
const SENT = 60;
const CONCURRENCY = 8;

/** Opens the database in this process; on PGlite the server must not be running. */
async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>) {
  const database = await openDatabase({ url: databaseUrl, dataDir, poolSize: 2 });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

test(`a contact answered with 201 survives kill -9 of the server a moment later (${engine})`, async () => {
  // Arrange before the server starts: PGlite admits one process at a time.
  const { tenantId, authorization } = await withDatabase(async (database) => {
    await migrate(database);
    const row = await createTenant(database.db, { slug: `dur-${randomUUID().slice(0, 8)}`, name: 'Durable' });
    const token = await createToken(database.db, row.id, { name: 'intake', role: 'admin' });
    return { tenantId: row.id, authorization: `Bearer ${token.secret}` };
  });

  const server = await startServerProcess({ databaseUrl, dataDir });
  const acked: { contactId: string; caseId: string; messageId: string }[] = [];
  let killed: Promise<void> | null = null;
  try {
    let next = 0;
    const send = async (i: number) => {
      // Every third contact repeats an earlier customer, so cases are updated as well as opened.
      const who = i % 3 === 2 ? i - 1 : i;
      const res = await fetch(`${server.url}/api/v1/contacts`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({
          channel: 'email',
          from: { identity: `durable${who}@example.com` },
          text: `Contact ${i}: the line drops every evening`,
        }),
      });
      const body = await res.json();
      if (res.status !== 201) throw new Error(`contact ${i}: ${res.status} ${JSON.stringify(body)}`);
      if (killed) return; // answered after we decided to kill: not counted either way
      acked.push({ contactId: body.contact.id, caseId: body.case.id, messageId: body.contact.messageId });
      if (acked.length === ACKNOWLEDGED) killed = server.kill9();
    };
    const workers = Array.from({ length: CONCURRENCY }, async () => {
      while (next < SENT && !killed) {
        const i = next++;
        try {
          await send(i);
        } catch (err) {
          if (!killed) throw err; // after the kill, refused/reset connections are expected
        }
      }
    });
    await Promise.all(workers);
    assert.ok(killed, `only ${acked.length} of ${SENT} contacts were acknowledged`);
    await killed;
    assert.equal(server.child.signalCode, 'SIGKILL');
  } finally {
    await server.kill9();
  }

  // Reopen the data the killed server left behind (on PGlite: taking over its stale lock).
  const stored = await withDatabase(async (database) => {
    const found = await database.db
      .select({ contactId: contacts.id, caseId: contacts.caseId, messageId: contacts.messageId })
      .from(contacts)
      .innerJoin(messages, and(eq(messages.tenantId, contacts.tenantId), eq(messages.id, contacts.messageId)))
      .innerJoin(cases, and(eq(cases.tenantId, contacts.tenantId), eq(cases.id, contacts.caseId)))
      .where(eq(contacts.tenantId, tenantId));
    return new Map(found.map((row) => [row.contactId, row]));
  });
  const missing = acked.filter((a) => !stored.has(a.contactId));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged contacts were lost`);
  for (const a of acked) assert.deepEqual(stored.get(a.contactId), a);

  // Restarting on the same data serves it again.
  const restarted = await startServerProcess({ databaseUrl, dataDir });
  try {
    const health = await fetch(`${restarted.url}/api/v1/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).engine, engine);
    const one = acked[ACKNOWLEDGED - 1]!;
    const res = await fetch(`${restarted.url}/api/v1/cases/${one.caseId}`, { headers: { authorization } });
    assert.equal(res.status, 200);
    const kase = await res.json();
    assert.equal(kase.id, one.caseId);
    const onThatCase = acked.filter((a) => a.caseId === one.caseId).length;
    assert.ok(
      kase.contactCount >= onThatCase,
      `case counts ${kase.contactCount} contacts, acked ${onThatCase}`,
    );
  } finally {
    assert.equal(await restarted.stop(), 0, restarted.output());
  }
});
