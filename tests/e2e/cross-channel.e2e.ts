/**
 * One person from web chat to SMS, in Chromium against the real server process: a visitor starts
 * a chat on a shop's page with name and email and reports a fault; the agent sees it arrive live,
 * answers, and the visitor reads the answer live; the visitor gives their mobile number in the
 * chat and the agent adds it to the customer in the customer panel. Later that number texts the
 * SMS channel (a real Twilio webhook, form-encoded and signed for the public URL): the text
 * arrives live on the same case as a repeat contact, and the composer answers by SMS. An address
 * another customer has is refused with whose it is; one added by mistake is removed again.
 * axe-core checks each state; screenshots land in tests/artifacts/. PGlite, or PostgreSQL with
 * TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { createTenant, createToken, createUser } from '../../server/modules/tenants/tenants.service.ts';
import {
  assertNoAxeViolations,
  ensureWebBuilt,
  launchBrowser,
  screenshot,
  settled,
  signIn,
} from '../support/browser.ts';
import { ACCOUNT_SID, AUTH_TOKEN, inboundSms, signedForm } from '../support/fake-twilio.ts';
import { freePort, integration, type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { chatWidget, type ShopPage, startShopPage } from '../support/shop-page.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
const shot = (page: Page, name: string) => screenshot(page, `cross-channel-${engine}-${name}`);
const PASSWORD = 'harbour-fibre-2026';

describe(`one customer from web chat to SMS in Chromium (${engine})`, () => {
  const slug = `e2e-${randomUUID().slice(0, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-cross-'));
  const secret = randomUUID() + randomUUID();
  const agentEmail = `robin.hale+${slug}@harbourfibre.example`;
  const smsNumber = `+447400${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
  const digits = String(randomInt(0, 1_000_000)).padStart(6, '0');
  /** Dana's mobile as she types it in the chat, and as Rapport keeps it (E.164). */
  const mobile = { typed: `+44 7412 ${digits.slice(0, 3)} ${digits.slice(3)}`, e164: `+447412${digits}` };
  /** Another customer's address (a colleague's case about an invoice). */
  const takenEmail = `dana.w+${slug}@harbour-work.example`;
  let token = '';
  let server: ServerProcess;
  let shop: ShopPage;
  let browser: Browser;
  let agent: Page;
  let visitor: Page;
  let webhookUrl = '';
  let takenCase = 0;
  let caseNumber = 0;

  const api = (method: string, url: string, body?: unknown) =>
    integration(server, () => token)(method, url, body);
  const panel = () => agent.getByTestId('customer-panel');
  const timeline = () => agent.getByTestId('timeline');

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
      token = (await createToken(database.db, tenant.id, { name: 'e2e setup', role: 'admin' })).secret;
    } finally {
      await database.close();
    }
    const port = await freePort();
    server = await startServerProcess({
      dataDir,
      databaseUrl,
      port,
      env: { RAPPORT_SECRET: secret, RAPPORT_PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    const chat = await api('POST', '/api/v1/channels', {
      type: 'chat',
      name: 'Harbour Fibre',
      settings: { greeting: 'Hello! Ask us anything about your broadband.' },
    });
    const sms = await api('POST', '/api/v1/channels', {
      type: 'sms',
      name: 'Texts',
      address: smsNumber,
      settings: { accountSid: ACCOUNT_SID },
      secrets: { authToken: AUTH_TOKEN },
    });
    webhookUrl = sms.webhookUrl;
    assert.equal(webhookUrl, `${server.url}/webhooks/v1/channels/${sms.id}`);
    const taken = await api('POST', '/api/v1/contacts', {
      channel: 'email',
      from: { identity: takenEmail, name: 'Dana W.' },
      text: 'Question about my invoice',
    });
    takenCase = taken.case.number;
    shop = await startShopPage(server.url, chat.id);
    browser = await launchBrowser();
    agent = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    visitor = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
  });

  after(async () => {
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

  it('a visitor starts a chat on the shop’s page with name and email and writes about a fault', async () => {
    await visitor.goto(shop.url);
    await chatWidget(visitor).getByRole('button', { name: 'Chat with us' }).click();
    const dialog = chatWidget(visitor).getByRole('dialog', { name: 'Harbour Fibre' });
    await dialog.getByText('We are online').waitFor();
    await dialog.getByLabel('Your name').fill('Dana Whitfield');
    await dialog.getByLabel('Your email').fill('dana.whitfield@example.net');
    await dialog.getByRole('button', { name: 'Start the chat' }).click();
    const message = dialog.getByRole('textbox', { name: 'Message' });
    await message.fill('My broadband drops every evening around eight');
    await message.press('Enter');
    await dialog
      .getByRole('log')
      .getByText(/^You · /)
      .waitFor();
  });

  it('the agent sees the chat arrive live, opens the case and answers; the visitor reads the answer live', async () => {
    const row = agent.locator('tbody tr', { hasText: 'My broadband drops every evening around eight' });
    await row.waitFor();
    await row.getByRole('link').first().click();
    await timeline().getByText('My broadband drops every evening around eight').waitFor();
    caseNumber = Number(new URL(agent.url()).pathname.match(/^\/cases\/(\d+)$/)?.[1]);
    assert.ok(caseNumber > takenCase, agent.url());

    await agent
      .getByRole('textbox', { name: 'Your reply' })
      .fill('Hello Dana, I am Robin. Let me check your line.');
    await agent.getByRole('button', { name: 'Send reply' }).click();
    const log = chatWidget(visitor).getByRole('dialog').getByRole('log');
    await log.getByText('Let me check your line.').waitFor();
  });

  it('the visitor gives their mobile number in the chat; the agent adds it to the customer', async () => {
    const dialog = chatWidget(visitor).getByRole('dialog');
    const text = `If the chat closes you can text me on ${mobile.typed}`;
    await dialog.getByRole('textbox', { name: 'Message' }).fill(text);
    await dialog.getByRole('textbox', { name: 'Message' }).press('Enter');
    await timeline().getByText(text).waitFor();

    await panel().getByRole('button', { name: 'Add phone or email' }).click();
    const form = panel().getByRole('form', { name: 'Add phone or email' });
    assert.equal(await form.getByLabel('Type').inputValue(), 'phone');
    await form.getByLabel('Phone number').fill(mobile.typed);
    await settled(agent);
    await assertNoAxeViolations(agent, 'the customer panel adding a phone number');
    await shot(agent, '1-add-phone');
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    await form.waitFor({ state: 'detached' });
    const phone = panel().locator('.identities div', { has: agent.getByText('Phone', { exact: true }) });
    await phone.getByText(mobile.e164).waitFor();
    await timeline().getByText(`Robin Hale added the phone number ${mobile.e164} to the customer`).waitFor();
  });

  it('later a text from that number lands live on the same case as a repeat, and the reply goes by SMS', async () => {
    await visitor.close();
    const form = signedForm(
      webhookUrl,
      inboundSms({ from: mobile.e164, to: smsNumber, body: 'It dropped again last night at 8, texting now' }),
    );
    const res = await fetch(webhookUrl, { method: 'POST', headers: form.headers, body: form.payload });
    assert.equal(res.status, 200, await res.text());

    // The page was not reloaded: the text arrives on the open case by the realtime notice.
    const sms = timeline()
      .locator('[data-type="contact.received"]')
      .filter({ hasText: 'It dropped again last night at 8, texting now' });
    await sms.waitFor();
    await sms.locator('[data-channel="sms"]').getByText('SMS').waitFor();
    await sms.locator('[data-repeat="true"]').getByText('Repeat contact').waitFor();
    assert.equal(new URL(agent.url()).pathname, `/cases/${caseNumber}`);
    const found = await api('GET', `/api/v1/customers?identity=${encodeURIComponent(mobile.e164)}`);
    const cases = await api('GET', `/api/v1/cases?customer=${found.items[0].id}`);
    assert.deepEqual(
      cases.items.map((c: { number: number }) => c.number),
      [caseNumber],
      'one case: the text joined the chat’s',
    );

    const identities = panel().locator('.identities');
    await identities.locator('dt', { hasText: 'Chat visitor' }).waitFor();
    await identities.locator('div', { hasText: 'Phone' }).getByText(mobile.e164).waitFor();
    const composer = agent.locator('.composer');
    await composer.getByText('Sent by SMS, where the customer last wrote').waitFor();
    await composer
      .getByTestId('reply-limits')
      .getByText(/^SMS: .*SMS segment/)
      .waitFor();
    await settled(agent);
    await assertNoAxeViolations(agent, 'the case with the SMS on it');
    await shot(agent, '2-sms-on-case');
  });

  it('an address another customer has stays theirs: the agent is shown whose it is', async () => {
    await panel().getByRole('button', { name: 'Add phone or email' }).click();
    const form = panel().getByRole('form', { name: 'Add phone or email' });
    await form.getByLabel('Type').selectOption('email');
    await form.getByLabel('Email address').fill(takenEmail);
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    const taken = form.getByTestId('identity-taken');
    await taken.getByText(`Dana W. has ${takenEmail}.`, { exact: false }).waitFor();
    await taken.getByRole('link', { name: `Open Dana W.’s case #${takenCase}` }).waitFor();
    await taken.getByText('A supervisor can merge customers.').waitFor();
    await settled(agent);
    await assertNoAxeViolations(agent, 'the customer panel with an address another customer has');
    await shot(agent, '3-identity-taken');
    await form.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await panel().locator('.identities').getByText(takenEmail).count(), 0);
  });

  it('an address added by mistake is removed again', async () => {
    const typo = 'dana.whitfeld@example.net';
    await panel().getByRole('button', { name: 'Add phone or email' }).click();
    const form = panel().getByRole('form', { name: 'Add phone or email' });
    await form.getByLabel('Type').selectOption('email');
    await form.getByLabel('Email address').fill(typo);
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    await panel().locator('.identities').getByText(typo).waitFor();

    await panel()
      .getByRole('button', { name: `Remove ${typo}` })
      .click();
    const dialog = agent.getByRole('dialog', { name: `Remove ${typo}?` });
    await dialog.getByText('the next one starts a new customer').waitFor();
    await settled(agent);
    await assertNoAxeViolations(agent, 'the remove identity dialog');
    await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await panel().locator('.identities').getByText(typo).waitFor({ state: 'detached' });
    await timeline().getByText(`Robin Hale removed the email address ${typo} from the customer`).waitFor();
    await panel().locator('.identities').getByText(mobile.e164).waitFor();
  });
});
