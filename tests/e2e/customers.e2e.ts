/**
 * One customer across channels, in Chromium against the real server process: on Pat's email
 * case a supervisor sees the possible duplicates with why (a chat visitor who gave Pat's address,
 * another "Pat Jones" by SMS), says the SMS one is not the same person, merges the chat visitor
 * after a dialog saying what moves, sees the moved case's timeline say so, then splits the merge
 * again; Pat's X follower count and badge show as information. An agent sees the suggestions
 * but cannot merge. axe-core checks each state; screenshots land in tests/artifacts/.
 * PGlite, or PostgreSQL with TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { channels, chatSessions, customerIdentities, customers } from '../../server/db/schema/index.ts';
import { createTenant, createToken, createUser } from '../../server/modules/tenants/tenants.service.ts';
import {
  assertNoAxeViolations,
  ensureWebBuilt,
  launchBrowser,
  screenshot,
  signIn,
} from '../support/browser.ts';
import { integration, type ServerProcess, startServerProcess } from '../support/server-process.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
const shot = (page: Page, name: string) => screenshot(page, `customers-${engine}-${name}`);
const PASSWORD = 'harbour-fibre-2026';

describe(`one customer across channels in Chromium (${engine})`, () => {
  const slug = `e2e-${randomUUID().slice(0, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-customers-'));
  const secret = randomUUID() + randomUUID();
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let token: string;
  const staff = { supervisor: '', agent: '' };
  const ids = { pat: '', smsPat: '', visitor: '' };
  const n = { email: 0, chat: 0 };

  const api = (method: string, url: string, body?: unknown) =>
    integration(server, () => token)(method, url, body);

  before(async () => {
    ensureWebBuilt();
    // Pat's records as the channels left them, arranged while no server holds the database.
    const database = await openDatabase({ url: databaseUrl, dataDir: databaseUrl ? null : dataDir });
    try {
      await migrate(database);
      const { db } = database;
      const tenant = await createTenant(db, { slug, name: 'Harbour Fibre' });
      for (const [role, name] of [
        ['supervisor', 'Sam Okafor'],
        ['agent', 'Robin Hale'],
      ] as const) {
        staff[role] = `${name.split(' ')[0]!.toLowerCase()}+${slug}@harbourfibre.example`;
        await createUser(db, tenant.id, { email: staff[role], displayName: name, role, password: PASSWORD });
      }
      token = (await createToken(db, tenant.id, { name: 'e2e intake', role: 'admin' })).secret;
      type NewIdentity = Omit<typeof customerIdentities.$inferInsert, 'tenantId' | 'customerId'>;
      const person = async (name: string, identities: NewIdentity[]) => {
        const [row] = await db.insert(customers).values({ tenantId: tenant.id, name }).returning();
        await db
          .insert(customerIdentities)
          .values(identities.map((i) => ({ ...i, tenantId: tenant.id, customerId: row!.id })));
        return row!.id;
      };
      ids.pat = await person('Pat Jones', [
        { kind: 'email', value: 'pat.jones@example.net' },
        {
          kind: 'social',
          platform: 'x',
          value: 'patjones',
          profile: { displayName: 'Pat Jones', followers: 48_200, verified: true },
        },
      ]);
      ids.smsPat = await person('Pat Jones', [{ kind: 'phone', value: '+447911123499' }]);
      ids.visitor = await person('P. Jones', [{ kind: 'chat', value: 'visitor-4f2a' }]);
      const [chat] = await db
        .insert(channels)
        .values({ tenantId: tenant.id, type: 'chat', name: 'Website chat' })
        .returning();
      await db.insert(chatSessions).values({
        tenantId: tenant.id,
        channelId: chat!.id,
        customerId: ids.visitor,
        tokenHash: randomUUID(),
        visitorName: 'P. Jones',
        visitorEmail: 'pat.jones@example.net',
      });
    } finally {
      await database.close();
    }
    server = await startServerProcess({ dataDir, databaseUrl, env: { RAPPORT_SECRET: secret } });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });

    const contact = (channel: string, identity: string, text: string) =>
      api('POST', '/api/v1/contacts', { channel, from: { identity }, text });
    n.email = (await contact('email', 'pat.jones@example.net', 'Broadband down since the storm')).case.number;
    n.chat = (await contact('chat', 'visitor-4f2a', 'Is there an outage in Harbour Road?')).case.number;
    await contact('sms', '+447911123499', 'Please call me back about my bill');
  });

  after(async () => {
    if (page) await shot(page, 'last').catch(() => {});
    await browser?.close();
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const signInAs = (email: string) => signIn(page, server.url, { tenant: slug, email, password: PASSWORD });
  /** A dialog fades in: axe measures colours once nothing moves. */
  const settled = () =>
    page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'));
  const panel = () => page.getByTestId('customer-panel');
  const duplicate = (id: string) => page.getByTestId(`duplicate-${id}`);

  it('shows a supervisor the possible duplicates with why, and the X profile as information', async () => {
    await signInAs(staff.supervisor);
    await page.goto(`${server.url}/cases/${n.email}`);
    await duplicate(ids.visitor).waitFor();
    assert.match(
      (await duplicate(ids.visitor).textContent()) ?? '',
      /Likely the same.*Gave pat\.jones@example\.net, this customer’s email address, in a chat/,
    );
    assert.match((await duplicate(ids.smsPat).textContent()) ?? '', /Maybe the same.*Same name: Pat Jones/);
    assert.equal(
      await panel().getByTestId('identity-profile').textContent(),
      'Pat Jones · 48,200 followers · verified badge on X (information only)',
    );
    await assertNoAxeViolations(page, 'the case page with possible duplicates');
    await shot(page, '1-duplicates');
  });

  it('“Not the same person” removes a suggestion for good', async () => {
    await page.getByRole('button', { name: 'Not the same person: Pat Jones' }).click();
    await duplicate(ids.smsPat).waitFor({ state: 'detached' });
    await page.reload();
    await duplicate(ids.visitor).waitFor();
    assert.equal(await duplicate(ids.smsPat).count(), 0);
  });

  it('merges the chat visitor after a dialog that says what moves', async () => {
    await duplicate(ids.visitor).getByRole('button', { name: 'Merge into this customer' }).click();
    const dialog = page.getByRole('dialog', { name: 'Merge P. Jones into Pat Jones?' });
    await dialog.waitFor();
    assert.match((await dialog.getByTestId('merge-moves').textContent()) ?? '', /visitor-4f2a.*1 case/);
    await settled();
    await assertNoAxeViolations(page, 'the merge dialog');
    await shot(page, '2-merge-dialog');
    await dialog.getByRole('button', { name: 'Merge', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });

    const history = page.getByTestId('merge-history');
    await history.getByText('P. Jones merged in by Sam Okafor').waitFor();
    await panel().locator('.identities').getByText('visitor-4f2a').waitFor();
    await panel().locator('.customer-cases').getByText(`#${n.chat}`).waitFor();
    await panel().getByText('Nobody else looks like this customer.').waitFor();
    await settled();
    await assertNoAxeViolations(page, 'the customer panel after a merge');
    await shot(page, '3-merged');

    await panel()
      .getByRole('link', { name: new RegExp(`#${n.chat}`) })
      .click();
    await page
      .getByText('Sam Okafor merged “P. Jones” into “Pat Jones”; this case moved with them')
      .waitFor();
    await shot(page, '4-moved-case-timeline');
  });

  it('an agent sees suggestions but cannot merge or split', async () => {
    const other = await api('POST', '/api/v1/contacts', {
      channel: 'portal',
      from: { identity: 'ext:crm-77', name: 'Pat Jones' },
      text: 'Portal form: moving house',
    });
    await signInAs(staff.agent);
    await page.goto(`${server.url}/cases/${n.email}`);
    await duplicate(other.customer.id).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Merge into this customer' }).count(), 0);
    await panel().getByText('A supervisor can merge customers.').waitFor();
    await page.getByTestId('merge-history').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Split/ }).count(), 0);
    await assertNoAxeViolations(page, 'the customer panel for an agent');
  });

  it('a supervisor splits the merge again and everything it moved goes back', async () => {
    await signInAs(staff.supervisor);
    await page.goto(`${server.url}/cases/${n.email}`);
    await page.getByRole('button', { name: 'Split P. Jones off again' }).click();
    const dialog = page.getByRole('dialog', { name: 'Split P. Jones off again?' });
    await dialog.waitFor();
    await settled();
    await assertNoAxeViolations(page, 'the split dialog');
    await dialog.getByRole('button', { name: 'Split', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('merge-history').getByText('Split again by Sam Okafor').waitFor();
    await panel().locator('.identities').getByText('visitor-4f2a').waitFor({ state: 'detached' });
    await duplicate(ids.visitor).waitFor();
    await settled();
    await assertNoAxeViolations(page, 'the customer panel after a split');
    await shot(page, '5-split');

    const found = await api('GET', '/api/v1/customers?identity=chat:visitor-4f2a');
    assert.equal(found.items[0].id, ids.visitor);
    const chatCase = await api('GET', `/api/v1/cases/${n.chat}`);
    assert.equal(chatCase.customerId, ids.visitor);
  });
});
