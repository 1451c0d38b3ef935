/**
 * SMS and phone in Chromium against the real server process (RAPPORT_PUBLIC_URL set, Twilio
 * faked locally): an admin connects a Twilio number in Settings → Channels (auth token
 * write-only, the webhook URL shown to paste into Twilio); a customer's text arrives through the
 * signed webhook; the agent's reply goes out by SMS with the composer showing the channel and its
 * limits, and Twilio's status callback turns its badge to delivered live; the agent logs a phone
 * call on the case. axe-core checks each state; screenshots land in tests/artifacts/.
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
import { createTenant, createUser } from '../../server/modules/tenants/tenants.service.ts';
import {
  assertNoAxeViolations,
  ensureWebBuilt,
  launchBrowser,
  screenshot,
  settled,
  signIn,
} from '../support/browser.ts';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  inboundSms,
  signedForm,
  startFakeTwilio,
  statusCallback,
} from '../support/fake-twilio.ts';
import { freePort, type ServerProcess, startServerProcess } from '../support/server-process.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
const shot = (page: Page, name: string) => screenshot(page, `sms-phone-${engine}-${name}`);
const PASSWORD = 'harbour-fibre-2026';

describe(`SMS and phone calls in Chromium (${engine})`, () => {
  const slug = `e2e-${randomUUID().slice(0, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-sms-'));
  const number = `+447400${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  const customer = `+447412${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  let adminEmail: string;
  let server: ServerProcess;
  let twilio: Awaited<ReturnType<typeof startFakeTwilio>>;
  let browser: Browser;
  let page: Page;
  let webhookUrl: string;

  before(async () => {
    ensureWebBuilt();
    twilio = await startFakeTwilio();
    const database = await openDatabase({ url: databaseUrl, dataDir: databaseUrl ? null : dataDir });
    try {
      await migrate(database);
      const tenant = await createTenant(database.db, { slug, name: 'Harbour Fibre' });
      adminEmail = `sam.ops+${slug}@harbourfibre.example`;
      await createUser(database.db, tenant.id, {
        email: adminEmail,
        displayName: 'Sam Ops',
        role: 'admin',
        password: PASSWORD,
      });
    } finally {
      await database.close();
    }
    const port = await freePort();
    server = await startServerProcess({
      dataDir,
      databaseUrl,
      port,
      env: { RAPPORT_PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await signIn(page, server.url, { tenant: slug, email: adminEmail, password: PASSWORD });
  });

  after(async () => {
    if (page) await shot(page, 'last').catch(() => {});
    await browser?.close();
    await server?.stop();
    await twilio?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('an admin connects a Twilio number: the auth token is only said to be set, and the webhook URL is shown', async () => {
    await page.getByRole('link', { name: 'Channels' }).click();
    await page.getByRole('heading', { level: 1, name: 'Channels' }).waitFor();
    await page.getByLabel('Type').selectOption('sms');
    await page.getByRole('button', { name: 'Add SMS channel' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Texts');
    await dialog.getByLabel('Number').fill(number);
    await dialog.getByLabel('Account SID').fill(ACCOUNT_SID);
    await dialog.getByLabel('API base URL').fill(twilio.baseUrl);
    await dialog.getByLabel('Auth token').fill(AUTH_TOKEN);
    await settled(page);
    await assertNoAxeViolations(page, 'the new SMS channel dialog');
    await shot(page, '1-add-sms');
    await dialog.getByRole('button', { name: 'Add channel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const row = page.getByTestId(`channel-${number}`);
    await row.getByText('Auth token: set').waitFor();
    webhookUrl = (await row.locator('code', { hasText: '/webhooks/v1/channels/' }).textContent()) ?? '';
    assert.match(webhookUrl, new RegExp(`^${server.url}/webhooks/v1/channels/[0-9a-f-]{36}$`));
    assert.ok(!(await page.content()).includes(AUTH_TOKEN), 'the token never reaches the page');
    await settled(page);
    await assertNoAxeViolations(page, 'Settings → Channels with an SMS number');
    await shot(page, '2-channels');

    // Editing keeps the stored token unless a new one is typed; the form never holds it.
    await row.getByRole('button', { name: 'Edit Texts' }).click();
    const edit = page.getByRole('dialog');
    assert.equal(await edit.getByLabel('Auth token').inputValue(), '');
    await edit.getByText('Stored; leave empty to keep it', { exact: false }).waitFor();
    await edit.getByLabel('Name').fill('Texts (UK)');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'hidden' });
    await page.getByRole('rowheader', { name: 'Texts (UK)' }).waitFor();
    await row.getByText('Auth token: set').waitFor();
  });

  it('a text becomes a case; the reply goes out by SMS with its limits shown, and turns delivered live', async () => {
    const form = signedForm(
      webhookUrl,
      inboundSms({ from: customer, to: number, body: 'Broadband down since the storm' }),
    );
    const res = await fetch(webhookUrl, { method: 'POST', headers: form.headers, body: form.payload });
    assert.equal(res.status, 200, await res.text());

    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByText('Broadband down since the storm').first().click();
    await page.getByRole('heading', { level: 1, name: 'Broadband down since the storm' }).waitFor();
    const composer = page.locator('.composer');
    await composer.getByText('Sent by SMS, where the customer last wrote').waitFor();
    await page
      .getByLabel('Your reply')
      .fill('Sorry Mei — an engineer is on the way and will text you on arrival.');
    const limits = composer.getByTestId('reply-limits');
    await limits.getByText('1 SMS segment', { exact: false }).waitFor();
    await limits.getByText('/ 1600 characters', { exact: false }).waitFor();
    await settled(page);
    await assertNoAxeViolations(page, 'the composer replying by SMS');
    await shot(page, '3-sms-composer');
    await composer.getByRole('button', { name: 'Send reply' }).click();
    const replied = page.getByTestId('timeline').locator('[data-type="message.replied"]').last();
    await replied.locator('[data-delivery="sent"]').getByText('SMS sent').waitFor({ timeout: 20_000 });
    const sent = twilio.sent.find((m) => m.to === customer);
    assert.ok(sent, 'Twilio got the reply');
    assert.equal(sent.from, number);
    assert.equal(sent.statusCallback, webhookUrl);

    const cb = signedForm(
      webhookUrl,
      statusCallback({ messageSid: sent.sid, status: 'delivered', from: number, to: customer }),
    );
    assert.equal(
      (await fetch(webhookUrl, { method: 'POST', headers: cb.headers, body: cb.payload })).status,
      200,
    );
    await replied
      .locator('[data-delivery="delivered"]')
      .getByText('SMS delivered')
      .waitFor({ timeout: 10_000 });
    await settled(page);
    await assertNoAxeViolations(page, 'the case with a delivered SMS');
    await shot(page, '4-sms-delivered');
  });

  it('the agent logs the customer’s phone call on the case', async () => {
    await page.getByRole('button', { name: 'Log call' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Leave empty for the customer’s number, ${customer}`).waitFor();
    await dialog.getByLabel('Duration').fill('2:34');
    await dialog.getByLabel('Notes').fill('Confirmed the engineer visit for Tuesday morning.');
    await settled(page);
    await assertNoAxeViolations(page, 'the log call dialog');
    await shot(page, '5-log-call');
    await dialog.getByRole('button', { name: 'Log call' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const timeline = page.getByTestId('timeline');
    await timeline
      .getByText(`Inbound call from ${customer} · 2 min 34 s · completed`, { exact: false })
      .waitFor();
    await timeline.getByText('Confirmed the engineer visit for Tuesday morning.', { exact: false }).waitFor();
    // A call is answered in writing: the reply still goes by SMS.
    await page.locator('.composer').getByText('Sent by SMS, where the customer last wrote').waitFor();
    await settled(page);
    await assertNoAxeViolations(page, 'the case with a logged call');
    await shot(page, '6-call-logged');
  });
});
