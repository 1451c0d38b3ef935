/**
 * The admin's settings pages in Chromium against the real server process with the demo
 * organisation: Channels (the demo's support address, adding one, the acknowledgement switch,
 * connecting an IMAP mailbox on a private Dovecot and seeing its last check) and Quarantine (mail that could not be read, kept with its reason, and requeued). axe-core
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
import { type Dovecot, startDovecot } from '../support/dovecot.ts';
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
  let dovecot: Dovecot;

  before(async () => {
    ensureWebBuilt();
    dovecot = await startDovecot({ users: 1 });
    smtpPort = await freePort();
    // The demo is seeded only into an empty database: on PostgreSQL this test takes its own.
    scratch = databaseUrl ? await scratchPostgres(databaseUrl) : null;
    server = await startServerProcess({
      databaseUrl: scratch?.url ?? null,
      dataDir,
      env: {
        RAPPORT_SEED_DEMO: 'true',
        RAPPORT_SMTP_PORT: String(smtpPort),
        RAPPORT_IMAP: 'true',
        RAPPORT_IMAP_POLL_SECONDS: '1',
      },
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await scratch?.drop();
    await dovecot?.stop();
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

  it('an admin connects an IMAP mailbox: a wrong password shows the error, the right one fetches the mail', async () => {
    const user = dovecot.users[0]!;
    await dovecot.append(
      user.user,
      `From: Kim <kim@example.org>\r\nTo: ${DEMO_SUPPORT_ADDRESS}\r\nSubject: Hosted mailbox test\r\nMessage-ID: <imap-e2e-${Date.now()}@example.org>\r\n\r\nHello from the hosted mailbox.\r\n`,
    );
    await page.getByRole('link', { name: 'Channels' }).click();
    await page.getByRole('button', { name: 'Connect a mailbox (Support)' }).click();
    const dialog = page.getByRole('dialog', { name: 'IMAP mailbox for Support' });
    await dialog.getByLabel('IMAP server').fill(dovecot.host);
    // exact: the dialog's own name ("… for Support") contains "port" too.
    await dialog.getByLabel('Port', { exact: true }).fill(String(dovecot.port));
    await dialog.getByLabel('Security').selectOption('none');
    await dialog.getByLabel('Username').fill(user.user);
    // The field by its type: its label also names the show/hide button beside it.
    const password = dialog.locator('input[type="password"]');
    await password.fill('not-the-password');
    await assertNoAxeViolations(page, 'the mailbox dialog');
    await shot(page, '3-mailbox-dialog');
    await dialog.getByRole('button', { name: 'Save mailbox' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const status = page.getByTestId(`mailbox-status-${DEMO_SUPPORT_ADDRESS}`);
    await status.getByText('Mailbox error').waitFor({ timeout: 20_000 });
    assert.match((await status.textContent()) ?? '', new RegExp(`imap://${user.user}@`));
    await shot(page, '4-mailbox-error');

    // The stored password is never shown; a new one is typed into the empty field.
    await page.getByRole('button', { name: 'Edit mailbox (Support)' }).click();
    assert.equal(await password.inputValue(), '');
    await dialog.getByText('A password is stored (encrypted)').waitFor();
    await password.fill(user.pass);
    await dialog.getByRole('button', { name: 'Save mailbox' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await status.getByText('Mail checked').waitFor({ timeout: 20_000 });
    await assertNoAxeViolations(page, 'the channels page with a mailbox');
    await shot(page, '5-mailbox-ok');
    const stored = async () =>
      (await dovecot.messages(user.user, 'INBOX')).every((m) => m.flags.includes('\\Seen'));
    for (let i = 0; i < 100 && !(await stored()); i++) await page.waitForTimeout(100);
    assert.ok(await stored(), 'the mail was fetched and marked read');
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
    // The parser still refuses it, so it comes back with its first attempt counted again, once
    // the processor has taken it up again. The row on screen still shows the first round's
    // "1 attempt" until the list is fetched again, so each look is at a freshly loaded list.
    const attempt = row.getByText('1 attempt', { exact: true });
    for (let i = 0; i < 50; i++) {
      const listed = page.waitForResponse(
        (r) => r.url().endsWith('/api/v1/email/quarantine') && r.request().method() === 'GET',
      );
      await page.reload();
      await listed;
      await page.getByTestId('quarantine-table').or(page.getByTestId('quarantine-empty')).waitFor();
      if ((await attempt.count()) > 0) break;
      await page.waitForTimeout(200);
    }
    await attempt.waitFor();
  });
});
