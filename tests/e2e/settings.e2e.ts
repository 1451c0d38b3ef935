/**
 * The admin's settings pages in Chromium against the real server process with the demo
 * organisation: Channels (the demo's support address, adding one, the acknowledgement switch)
 * and Quarantine (mail that could not be read, kept with its reason, and requeued). axe-core
 * checks each page; screenshots land in tests/artifacts/. PGlite, or PostgreSQL with
 * TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import type { Browser, Page } from 'playwright-core';
import { DEMO_SIGN_IN, DEMO_SUPPORT_ADDRESS } from '../../server/db/seed/demo.ts';
import { assertNoAxeViolations, ensureWebBuilt, launchBrowser, screenshot } from '../support/browser.ts';
import { type ScratchDatabase, scratchPostgres } from '../support/scratch-database.ts';
import { freePort, type ServerProcess, startServerProcess } from '../support/server-process.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
const shot = (page: Page, name: string) => screenshot(page, `settings-${engine}-${name}`);

describe(`admin settings in Chromium (${engine})`, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-settings-'));
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let smtpPort: number;
  let scratch: ScratchDatabase | null = null;

  before(async () => {
    ensureWebBuilt();
    smtpPort = await freePort();
    // The demo is seeded only into an empty database: on PostgreSQL this test takes its own.
    scratch = databaseUrl ? await scratchPostgres(databaseUrl) : null;
    server = await startServerProcess({
      databaseUrl: scratch?.url ?? null,
      dataDir,
      env: { RAPPORT_SEED_DEMO: 'true', RAPPORT_SMTP_PORT: String(smtpPort) },
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('an admin sees the demo support address and adds a channel', async () => {
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel('Organisation').fill(DEMO_SIGN_IN.tenant);
    await page.getByLabel('Email').fill('morgan@northwind-broadband.example');
    await page.getByLabel('Password', { exact: true }).fill(DEMO_SIGN_IN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Mine' }).waitFor();
    await page.getByRole('link', { name: 'Channels' }).click();
    await page.getByRole('heading', { level: 1, name: 'Channels' }).waitFor();
    const demo = page.getByTestId(`channel-${DEMO_SUPPORT_ADDRESS}`);
    await demo.waitFor();
    assert.equal(
      await demo.getByRole('checkbox', { name: 'Acknowledge new cases (Support)' }).isChecked(),
      true,
    );
    await assertNoAxeViolations(page, 'the channels page');
    await shot(page, '1-channels');

    const address = `billing-${Date.now().toString(36)}@northwind-broadband.example`;
    await page.getByLabel('Name').fill(`Billing ${engine}`);
    await page.getByLabel('Support address').fill(address);
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByTestId(`channel-${address}`).waitFor();
    // The same address again is refused with the server's reason, and nothing is added.
    await page.getByLabel('Name').fill('Billing again');
    await page.getByLabel('Support address').fill(address);
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByRole('alert').filter({ hasText: 'already a channel' }).waitFor();
    assert.equal(await page.getByTestId(`channel-${address}`).count(), 1);
  });

  it('mail the parser refuses is kept in quarantine with its reason and can be requeued', async () => {
    const mail = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    // 120 levels of nested multiparts: past the parser's depth limit, so it is kept whole.
    let body = 'deep';
    for (let i = 0; i < 120; i++) {
      body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}\r\n--b${i}--`;
    }
    const subject = `Nested parcel ${Date.now().toString(36)}`;
    await mail.sendMail({
      envelope: { from: 'someone@example.net', to: [DEMO_SUPPORT_ADDRESS] },
      raw: `From: A Sender <someone@example.net>\r\nTo: ${DEMO_SUPPORT_ADDRESS}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\n${body}\r\n`,
    });
    mail.close();
    await page.getByRole('link', { name: 'Quarantine' }).click();
    await page.getByRole('heading', { level: 1, name: 'Quarantine' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: subject });
    // The processor takes the message within moments; reload until it is listed.
    for (let i = 0; i < 50 && (await row.count()) === 0; i++) {
      await page.waitForTimeout(200);
      await page.reload();
    }
    await row.getByText('mime_depth').waitFor();
    await assertNoAxeViolations(page, 'the quarantine page');
    await shot(page, '2-quarantine');
    const requeued = page.waitForResponse(
      (r) => r.url().endsWith('/reprocess') && r.request().method() === 'POST',
    );
    await row.getByRole('button', { name: `Reprocess “${subject}”` }).click();
    assert.equal((await requeued).status(), 200);
    // The parser still refuses it, so it comes back with its first attempt counted again.
    await page.reload();
    await row.getByText('1 attempt', { exact: true }).waitFor();
  });
});
