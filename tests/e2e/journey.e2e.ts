/**
 * The agent's journey in Chromium against the real server process: sign in, watch a customer's
 * second contact arrive live in the inbox marked as a repeat, open the case, see the earlier
 * contact and the customer's history, reply, note, assign, resolve. axe-core checks each page;
 * screenshots land in tests/artifacts/. Runs on PGlite, or on PostgreSQL with TEST_DATABASE_URL.
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
import {
  createTeam,
  createTenant,
  createToken,
  createUser,
} from '../../server/modules/tenants/tenants.service.ts';
import { assertNoAxeViolations, ensureWebBuilt, launchBrowser, screenshot } from '../support/browser.ts';
import { integration, type ServerProcess, startServerProcess } from '../support/server-process.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
const shot = (page: Page, name: string) => screenshot(page, `journey-${engine}-${name}`);
const PASSWORD = 'harbour-fibre-2026';

describe(`agent journey in Chromium (${engine})`, () => {
  const slug = `e2e-${randomUUID().slice(0, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-'));
  const secret = randomUUID() + randomUUID();
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let token: string;
  let agentEmail: string;
  /** Case numbers as the server hands them out (they start per tenant above 1000). */
  const n = { old: 0, dana: 0, sms: 0, whatsapp: 0, ivy: 0 };

  /** Calls the API as an integration would, with the tenant's bearer token. */
  const api = (method: string, url: string, body?: unknown) =>
    integration(server, () => token)(method, url, body);
  const contact = (from: string, name: string, channel: string, text: string) =>
    api('POST', '/api/v1/contacts', { channel, from: { identity: from, name }, text });
  const row = (num: number) => page.locator(`tr[data-case-number="${num}"]`);

  before(async () => {
    ensureWebBuilt();
    // Arrange through the operator service while no server holds the database (PGlite allows one process).
    const database = await openDatabase({ url: databaseUrl, dataDir: databaseUrl ? null : dataDir });
    try {
      await migrate(database);
      const tenant = await createTenant(database.db, { slug, name: 'Harbour Fibre' });
      const team = await createTeam(database.db, tenant.id, 'Broadband support');
      agentEmail = `robin.hale+${slug}@harbourfibre.example`;
      await createUser(database.db, tenant.id, {
        email: agentEmail,
        displayName: 'Robin Hale',
        role: 'agent',
        password: PASSWORD,
        teamIds: [team.id],
      });
      await createUser(database.db, tenant.id, {
        email: `sam.okafor+${slug}@harbourfibre.example`,
        displayName: 'Sam Okafor',
        role: 'agent',
        password: PASSWORD,
        teamIds: [team.id],
      });
      token = (await createToken(database.db, tenant.id, { name: 'e2e intake', role: 'admin' })).secret;
    } finally {
      await database.close();
    }
    server = await startServerProcess({ dataDir, databaseUrl, env: { RAPPORT_SECRET: secret } });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  });

  after(async () => {
    // The page as it was when the journey ended (or stopped): the first thing to look at on a failure.
    if (page) await shot(page, 'last').catch(() => {});
    await browser?.close();
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('has the customer history the journey starts from', async () => {
    // Dana had a problem last month (now resolved), then wrote about a new one.
    const old = await contact(
      'dana.whitfield@example.net',
      'Dana Whitfield',
      'portal',
      'Router lights blinking red',
    );
    n.old = old.case.number;
    await api('PATCH', `/api/v1/cases/${n.old}`, { status: 'resolved' });
    const first = await contact(
      'dana.whitfield@example.net',
      'Dana Whitfield',
      'email',
      'Broadband drops every evening\n\nSince Monday the connection drops around 8pm and comes back after an hour.',
    );
    n.dana = first.case.number;
    assert.notEqual(n.dana, n.old, 'a resolved case is not reused for a new problem');
    assert.equal(first.repeat, false);
    n.sms = (
      await contact('+447911123456', 'Owen Price', 'sms', 'Engineer did not turn up this morning')
    ).case.number;
    n.whatsapp = (
      await contact('+447400123456', 'Mei Tanaka', 'whatsapp', 'Can I move my contract to my new address?')
    ).case.number;
  });

  it('signs in, and says plainly when the password is wrong', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in to your workspace' }).waitFor();
    assert.equal(await page.title(), 'Sign in · Rapport');
    await assertNoAxeViolations(page, 'the sign-in page');
    const organisation = page.getByLabel('Organisation');
    assert.equal(await organisation.inputValue(), 'demo', 'organisation is prefilled');
    await organisation.fill(slug);
    await page.getByLabel('Email').fill(agentEmail);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Could not sign in' }).waitFor();

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Mine' }).waitFor();
    assert.equal(await page.getByTestId('current-user-name').textContent(), 'Robin Hale');
    assert.equal(await page.locator('.current-user .mantine-Avatar-root').textContent(), 'RH');
    await page.getByTestId('empty-list').waitFor();
  });

  it('shows a repeat contact arrive live in the inbox, without a reload', async () => {
    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Unassigned' }).waitFor();
    await row(n.dana).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 3);
    assert.equal(await row(n.dana).locator('[data-repeat]').count(), 0, 'no repeat marker yet');
    await row(n.dana).getByText('Dana Whitfield').waitFor();
    assert.equal(await page.getByTestId('count-unassigned').textContent(), '3');
    await page.locator('.live-status[data-status="live"]').waitFor();
    await assertNoAxeViolations(page, 'the inbox');
    await shot(page, '1-inbox');
    await page.evaluate(() => {
      (window as unknown as { stillHere: boolean }).stillHere = true;
    });

    const repeat = await contact(
      'dana.whitfield@example.net',
      'Dana Whitfield',
      'portal',
      'Writing again: it dropped again last night, third evening in a row.',
    );
    assert.equal(repeat.case.number, n.dana);
    assert.equal(repeat.repeat, true);
    await row(n.dana).getByText('1 repeat').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('tbody tr').first().getAttribute('data-case-number'), String(n.dana));

    // A first contact from someone new appears as a new row, and the badge counts follow.
    n.ivy = (
      await contact('ivy.mensah@example.org', 'Ivy Mensah', 'email', 'Invoice shows two line rentals')
    ).case.number;
    await row(n.ivy).waitFor({ timeout: 10_000 });
    await page.getByTestId('count-unassigned').getByText('4').waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere), true);
    await shot(page, '2-inbox-live');
  });

  it('opens the case and sees the earlier contact, its channels and the customer history', async () => {
    // By keyboard, as one arrives at the inbox: the skip link first, then Tab along the rows'
    // single links, Enter to open.
    await page.goto(`${server.url}/inbox/unassigned`);
    await row(n.dana).waitFor();
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to main content' });
    assert.equal(
      await skip.evaluate((el) => el === document.activeElement),
      true,
      'first Tab reaches the skip link',
    );
    await shot(page, '2b-skip-link');
    await page.keyboard.press('Enter');
    const subject = 'Broadband drops every evening';
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === subject) break;
    }
    assert.equal(await page.evaluate(() => document.activeElement?.closest('main') !== null), true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Broadband drops every evening' }).waitFor();
    assert.equal(await page.title(), `#${n.dana} Broadband drops every evening · Rapport`);
    const timeline = page.getByTestId('timeline');
    const contacts = timeline.locator('[data-type="contact.received"]');
    await contacts.nth(1).waitFor();
    assert.equal(await contacts.count(), 2);
    assert.match((await contacts.nth(0).textContent()) ?? '', /Since Monday the connection drops/);
    assert.match((await contacts.nth(0).textContent()) ?? '', /Email/);
    assert.doesNotMatch((await contacts.nth(0).textContent()) ?? '', /Repeat contact/);
    assert.match((await contacts.nth(1).textContent()) ?? '', /Portal/);
    assert.match((await contacts.nth(1).textContent()) ?? '', /Repeat contact/);
    assert.match((await contacts.nth(1).textContent()) ?? '', /third evening in a row/);

    const customer = page.getByTestId('customer-panel');
    assert.equal(await customer.getByTestId('customer-name').textContent(), 'Dana Whitfield');
    await customer.getByText('dana.whitfield@example.net').waitFor();
    await customer.getByRole('link', { name: `#${n.old} Router lights blinking red` }).waitFor();
    await customer.getByRole('link', { name: `#${n.dana} Broadband drops every evening` }).waitFor();
    await assertNoAxeViolations(page, 'the case page');
  });

  it('replies, writes an internal note, assigns and resolves, each visible on the page', async () => {
    await page
      .getByRole('textbox', { name: 'Your reply' })
      .fill('Sorry about the evenings, Dana. I have booked a line test for tonight.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    const reply = page.locator('[data-type="message.replied"]');
    await reply.getByText('booked a line test').waitFor();
    assert.match((await reply.textContent()) ?? '', /Robin Hale/);
    // The first reply makes an unowned case the replier's: one accountable owner.
    await page.getByTestId('case-owner').getByText('Robin Hale').waitFor();

    // Switch to a note with the keyboard: the kind switch is a radio group.
    await page.getByRole('radio', { name: 'Reply' }).focus();
    await page.keyboard.press('ArrowRight');
    await page
      .getByRole('textbox', { name: 'Your note' })
      .fill('Line test booked with the network team for 19:00.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.locator('.message-note').getByText('Line test booked').waitFor();

    await page.getByLabel('Owner').selectOption({ label: 'Sam Okafor' });
    await page.getByText('Robin Hale assigned the case to Sam Okafor').waitFor();
    await page.getByTestId('case-owner').getByText('Sam Okafor').waitFor();

    await page.getByLabel('Team').selectOption({ label: 'Broadband support' });
    await page.getByText('Robin Hale moved the case to Broadband support').waitFor();
    await page.getByTestId('count-team').getByText('1').waitFor();
    await page.getByLabel('Contact reason').fill('Intermittent outage');
    await page.getByLabel('Contact reason').press('Enter');
    await page.getByText('Robin Hale set the contact reason to “Intermittent outage”').waitFor();

    // A change made elsewhere (an integration raising the priority) shows up live.
    await api('PATCH', `/api/v1/cases/${n.dana}`, { priority: 'high' });
    await page
      .getByText('An integration changed the priority from Normal to High')
      .waitFor({ timeout: 10_000 });

    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.getByText('Robin Hale changed the status from Open to Resolved').waitFor();
    await page.locator('.case-header [data-status="resolved"]').waitFor();
    await page.getByRole('button', { name: 'Reopen' }).waitFor();
    await assertNoAxeViolations(page, 'the resolved case page');
    await shot(page, '3-case');

    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '4-case-narrow');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the narrow case page scrolls sideways by ${overflow}px`);
    await page.setViewportSize({ width: 1366, height: 860 });
  });

  it('no longer lists the resolved case among the open ones', async () => {
    await page.getByRole('link', { name: /^All open/ }).click();
    await page.getByRole('heading', { level: 1, name: 'All open' }).waitFor();
    await row(n.ivy).waitFor();
    assert.equal(await row(n.dana).count(), 0);
    assert.equal(await page.getByTestId('count-open').textContent(), '3');
    assert.equal(await page.getByTestId('count-team').textContent(), '0');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '5-inbox-narrow');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the narrow inbox scrolls sideways by ${overflow}px`);
    // On a phone the views sit behind the menu button.
    await page.getByRole('button', { name: 'Open navigation' }).click();
    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Unassigned' }).waitFor();
    await page.setViewportSize({ width: 1366, height: 860 });
  });

  it('pages through a long inbox with "Load more"', async () => {
    await page.getByRole('link', { name: /^All open/ }).click();
    await page.getByRole('heading', { level: 1, name: 'All open' }).waitFor();
    for (let i = 1; i <= 50; i++) {
      await contact(`customer${i}@bulk.example`, `Customer ${i}`, 'email', `Question number ${i}`);
    }
    await page.getByTestId('count-open').getByText('53').waitFor({ timeout: 15_000 });
    await page.locator('tbody tr').nth(49).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 50, 'one page of fifty');
    await page.getByRole('button', { name: 'Load more' }).click();
    await row(n.sms).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 53);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
  });

  it('reconnects after the server restarts and keeps showing new contacts live', async () => {
    const port = Number(new URL(server.url).port);
    await server.stop();
    await page.locator('.live-status[data-status="offline"]').waitFor();
    server = await startServerProcess({ dataDir, databaseUrl, port, env: { RAPPORT_SECRET: secret } });
    await page.locator('.live-status[data-status="live"]').waitFor({ timeout: 30_000 });
    const late = await contact(
      'leo.marsh@example.com',
      'Leo Marsh',
      'chat',
      'Is there an outage in Riverside?',
    );
    await row(late.case.number).waitFor({ timeout: 10_000 });
  });

  it('signs out, after which the workspace asks to sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to your workspace' }).waitFor();
    await page.goto(`${server.url}/cases/${n.dana}`);
    await page.getByRole('heading', { name: 'Sign in to your workspace' }).waitFor();
    assert.match(page.url(), /\/sign-in\?redirect=/);
  });
});
