/**
 * The web chat widget in Chromium: a shop's page (another origin) embeds the one script tag; a
 * visitor starts a chat and writes; an agent signed in on a second page sees the case arrive
 * live, sees the visitor typing and answers; the visitor sees the answer and who is helping.
 * Markup typed into the chat stays text on both sides; files go both ways and download in the
 * widget. With no agent signed in the widget offers the offline form. axe-core checks the widget in each state; screenshots in tests/artifacts/.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { channels } from '../../server/db/schema/index.ts';
import { createTenant, createUser } from '../../server/modules/tenants/tenants.service.ts';
import {
  assertNoAxeViolations,
  ensureWebBuilt,
  launchBrowser,
  screenshot,
  signIn,
} from '../support/browser.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { type ShopPage, startShopPage, chatWidget as widget } from '../support/shop-page.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
const shot = (page: Page, name: string) => screenshot(page, `widget-${engine}-${name}`);
const PASSWORD = 'harbour-fibre-2026';
const XSS = '<img src=x onerror="window.__xss=1">Is this <b>bold</b>?';

describe(`web chat widget in Chromium (${engine})`, () => {
  const slug = `chat-${randomUUID().slice(0, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-widget-e2e-'));
  const agentEmail = `robin.hale+${slug}@harbourfibre.example`;
  const secret = randomUUID() + randomUUID();
  let channelId = '';
  let server: ServerProcess;
  let shop: ShopPage;
  let shopUrl = '';
  let browser: Browser;
  let visitorContext: BrowserContext;
  let visitor: Page;
  let agent: Page;
  /** Uncaught errors in the shop's page: the widget must not throw. */
  const pageErrors: string[] = [];

  before(async () => {
    ensureWebBuilt();
    const database = await openDatabase({ url: databaseUrl, dataDir: databaseUrl ? null : dataDir });
    try {
      await migrate(database);
      const tenant = await createTenant(database.db, { slug, name: 'Harbour Fibre' });
      await createUser(database.db, tenant.id, {
        email: agentEmail,
        displayName: 'Robin Hale',
        role: 'agent',
        password: PASSWORD,
      });
      // The channels API takes email channels only so far: the chat channel is written directly.
      const [row] = await database.db
        .insert(channels)
        .values({
          tenantId: tenant.id,
          type: 'chat',
          name: 'Harbour Fibre',
          settings: { greeting: 'Hello! Ask us anything about your broadband.', colour: '#0b7285' },
        })
        .returning();
      channelId = row!.id;
      // An email channel: transcripts are mailed through it.
      await database.db
        .insert(channels)
        .values({ tenantId: tenant.id, type: 'email', name: 'Support', address: `support@${slug}.example` });
    } finally {
      await database.close();
    }
    server = await startServerProcess({ dataDir, databaseUrl, env: { RAPPORT_SECRET: secret } });
    // The shop's own site, on another origin: the widget reaches Rapport across origins.
    shop = await startShopPage(server.url, channelId);
    shopUrl = shop.url;
    browser = await launchBrowser();
    agent = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    visitorContext = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    visitor = await visitorContext.newPage();
    visitor.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    if (visitor) await shot(visitor, 'last-visitor').catch(() => {});
    if (agent) await shot(agent, 'last-agent').catch(() => {});
    await browser?.close();
    await shop?.close();
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('an agent signs in, so the chat is online', async () => {
    await signIn(agent, server.url, { tenant: slug, email: agentEmail, password: PASSWORD });
    await agent.locator('.live-status[data-status="live"]').waitFor();
    await agent.getByRole('link', { name: /^Unassigned/ }).click();
  });

  it('the visitor opens the chat from the shop’s page and starts it', async () => {
    await visitor.goto(shopUrl);
    const launcher = widget(visitor).getByRole('button', { name: 'Chat with us' });
    await launcher.waitFor();
    await launcher.press('Enter');
    const dialog = widget(visitor).getByRole('dialog', { name: 'Harbour Fibre' });
    await dialog.waitFor();
    await dialog.getByText('Ask us anything about your broadband').waitFor();
    await dialog.getByText('We are online').waitFor();
    // Focus moved into the chat: the name field takes the keyboard.
    await visitor.keyboard.type('Dana Whitfield');
    await dialog.getByLabel('Your email').fill('dana.whitfield@example.net');
    await assertNoAxeViolations(visitor, 'the widget’s pre-chat form');
    await shot(visitor, '1-prechat');
    await dialog.getByRole('button', { name: 'Start the chat' }).click();
    await dialog.getByRole('textbox', { name: 'Message' }).waitFor();
    await dialog.getByRole('textbox', { name: 'Message' }).fill('My broadband drops every evening');
    await dialog.getByRole('textbox', { name: 'Message' }).press('Enter');
    await dialog.getByRole('log').getByText('My broadband drops every evening').waitFor();
    await dialog
      .getByRole('log')
      .getByText(/^You · /)
      .waitFor();
  });

  it('the agent sees the chat arrive live, with the visitor typing, and answers', async () => {
    const row = agent.locator('tbody tr', { hasText: 'My broadband drops every evening' });
    await row.waitFor();
    await row.getByRole('link').first().click();
    await agent.getByTestId('timeline').getByText('My broadband drops every evening').waitFor();

    const dialog = widget(visitor).getByRole('dialog');
    await dialog.getByRole('textbox', { name: 'Message' }).pressSequentially('Also', { delay: 30 });
    await agent.getByTestId('visitor-typing').getByText('The visitor is typing…').waitFor();
    await dialog.getByRole('textbox', { name: 'Message' }).fill(XSS);
    await dialog.getByRole('textbox', { name: 'Message' }).press('Enter');
    await agent.getByTestId('timeline').getByText(XSS).waitFor();
    await assertNoAxeViolations(agent, 'the chat case for the agent');

    await agent
      .getByRole('textbox', { name: 'Your reply' })
      .fill('Hello Dana, I am Robin. Let me look at your line.');
    await widget(visitor).getByText('Robin Hale is typing…').waitFor();
    await agent.getByRole('button', { name: 'Send reply' }).click();
    await agent.locator('[data-type="message.replied"]').getByText('Let me look at your line').waitFor();
    await shot(agent, '2-agent-case');
  });

  it('the visitor sees the answer and who is helping; markup stayed text everywhere', async () => {
    const dialog = widget(visitor).getByRole('dialog');
    await dialog.getByRole('log').getByText('Let me look at your line.').waitFor();
    await dialog.getByText('Robin Hale is helping you').waitFor();
    await dialog
      .getByRole('log')
      .getByText(/^Robin Hale · /)
      .waitFor();
    await dialog.getByRole('log').getByText(XSS).waitFor();
    for (const page of [visitor, agent]) {
      assert.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
      assert.equal(await page.locator('img[src="x"]').count(), 0);
    }
    await assertNoAxeViolations(visitor, 'the widget’s chat');
    assert.deepEqual(pageErrors, []);
    await shot(visitor, '3-visitor-chat');
  });

  it('the visitor sends a photo and has the chat emailed to them', async () => {
    const dialog = widget(visitor).getByRole('dialog');
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(64),
    ]);
    await dialog
      .locator('input[type="file"]')
      .setInputFiles({ name: 'router.png', mimeType: 'image/png', buffer: png });
    await dialog.getByRole('log').getByText('Sent a file: router.png').waitFor();
    await agent.getByTestId('timeline').getByText('Sent a file: router.png').waitFor();
    const link = agent.getByTestId('timeline').getByRole('link', { name: 'router.png' });
    const file = await agent.request.get(new URL((await link.getAttribute('href')) ?? '', agent.url()).href);
    assert.deepEqual(await file.body(), png, 'the agent downloads the photo the visitor sent');
    await dialog.getByRole('button', { name: 'Email me this chat' }).click();
    await dialog.getByText('We sent the transcript to dana.whitfield@example.net.').waitFor();
  });

  it('the agent sends a file in the chat; the visitor sees it and downloads exactly its bytes', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from('line test results'),
    ]);
    const composer = agent.locator('.composer');
    await composer
      .locator('input[type="file"]')
      .setInputFiles({ name: 'line-test.png', mimeType: 'image/png', buffer: png });
    await composer.getByRole('list', { name: 'Files to send' }).getByText('line-test.png').waitFor();
    await agent.getByRole('textbox', { name: 'Your reply' }).fill('Here is your line test.');
    await agent.getByRole('button', { name: 'Send reply' }).click();
    const sent = agent.locator('[data-type="message.replied"]', { hasText: 'Here is your line test.' });
    await sent.getByRole('link', { name: 'line-test.png' }).waitFor();

    const log = widget(visitor).getByRole('dialog').getByRole('log');
    await log.getByText('Here is your line test.').waitFor();
    const button = log.getByRole('button', { name: `Download line-test.png (${png.length} B)` });
    await button.waitFor();
    // The visitor's own photo downloads the same way.
    await log.getByRole('button', { name: /^Download router\.png \(/ }).waitFor();
    await assertNoAxeViolations(visitor, 'the widget with files');
    await shot(visitor, '3b-agent-file');
    const [download] = await Promise.all([visitor.waitForEvent('download'), button.click()]);
    assert.equal(download.suggestedFilename(), 'line-test.png');
    assert.deepEqual(fs.readFileSync(await download.path()), png, 'the visitor gets the agent’s bytes');
  });

  it('a reload continues the same chat with every message', async () => {
    await visitor.reload();
    await widget(visitor).getByRole('button', { name: 'Chat with us' }).click();
    const log = widget(visitor).getByRole('dialog').getByRole('log');
    await log.getByText('Let me look at your line.').waitFor();
    assert.equal(await log.locator('.msg').count(), 5);
    await log.getByText('Sent a file: router.png').waitFor();
  });

  it('what the visitor writes while the server restarts arrives once it is back, once', async () => {
    const dialog = widget(visitor).getByRole('dialog');
    const port = Number(new URL(server.url).port);
    await server.kill9();
    await dialog.getByText('Connection lost. Reconnecting…').waitFor();
    await dialog.getByRole('textbox', { name: 'Message' }).fill('Are you still there?');
    await dialog.getByRole('textbox', { name: 'Message' }).press('Enter');
    await dialog.getByRole('log').getByText('Sending…').waitFor();
    await shot(visitor, '4-reconnecting');
    server = await startServerProcess({ dataDir, databaseUrl, port, env: { RAPPORT_SECRET: secret } });
    await dialog.getByRole('log').getByText('Sending…').waitFor({ state: 'detached', timeout: 60_000 });
    await agent.reload();
    const timeline = agent.getByTestId('timeline');
    await timeline.getByText('Are you still there?').waitFor();
    assert.equal(await timeline.getByText('Are you still there?').count(), 1, 'stored once');
  });

  it('with nobody signed in, the widget takes a message to answer by email', async () => {
    await agent.close();
    const page = await (await browser.newContext()).newPage();
    await page.goto(shopUrl);
    await widget(page).getByRole('button', { name: 'Chat with us' }).click();
    const dialog = widget(page).getByRole('dialog');
    await dialog.getByText('Nobody is available to chat right now').waitFor({ timeout: 15_000 });
    await dialog.getByLabel('Your name').fill('Owen Price');
    await dialog.getByLabel('Your email').fill('owen.price@example.net');
    await dialog.getByLabel('Your message').fill('Can I move my contract to my new address?');
    await assertNoAxeViolations(page, 'the widget’s offline form');
    await shot(page, '5-offline');
    await dialog.getByRole('button', { name: 'Send the message' }).click();
    await dialog.getByText('We will answer at owen.price@example.net').waitFor();
  });

  it('an agent who signs in later is set to answer that message by email, as the form promised', async () => {
    const later = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    await signIn(later, server.url, { tenant: slug, email: agentEmail, password: PASSWORD });
    await later.getByRole('link', { name: /^Unassigned/ }).click();
    const row = later.locator('tbody tr', { hasText: 'Can I move my contract to my new address?' });
    await row.getByRole('link').first().click();
    await later.getByTestId('timeline').getByText('Can I move my contract to my new address?').waitFor();
    await later
      .locator('.composer')
      .getByText('Sent by Email, as the chat’s offline form promised')
      .waitFor();
    await later.close();
  });
});
