/**
 * The email journey in Chromium against the real server process: a customer's email arrives over
 * real SMTP and shows up live in the agent's inbox, the customer gets the new-case
 * acknowledgement, the agent reads the whole email in a sandboxed frame (no scripts, remote
 * images only on request), replies, and the reply reaches the organisation's outbound relay with
 * threading headers the customer's mail client understands; a second reply carries files picked
 * and dropped on the composer, which arrive as MIME attachments; the customer's answer threads
 * back into the same case live, and an out-of-office reply does not reopen the resolved case; a
 * new case from the same address within 24 h is not acknowledged again and says why (EL-03).
 * An admin finds a reply the relay refused through the case and sends it again from
 * Settings → Outbound mail.
 * The relay is a local smtp-server that records what it receives. axe-core checks each page;
 * screenshots land in tests/artifacts/. Runs on PGlite, or on PostgreSQL with TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParsedMail, simpleParser } from 'mailparser';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Browser, Frame, Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { deriveKey } from '../../server/lib/secrets.ts';
import { createChannel } from '../../server/modules/channels/channels.service.ts';
import { tokenFromAddress, tokenFromMessageId } from '../../server/modules/email/email.threading.ts';
import { createTenant, createToken, createUser } from '../../server/modules/tenants/tenants.service.ts';
import {
  artifactsDir,
  assertNoAxeViolations,
  ensureWebBuilt,
  launchBrowser,
  screenshot,
} from '../support/browser.ts';
import { freePort, integration, type ServerProcess, startServerProcess } from '../support/server-process.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
/** From the top: a full-page shot of a scrolled page draws the fixed header mid-page. */
async function shot(page: Page, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  return screenshot(page, `email-${engine}-${name}`);
}
const PASSWORD = 'harbour-fibre-2026';
const ORGANISATION = 'Harbour Fibre';
const AGENT = 'Robin Hale';
const CUSTOMER = { name: 'Nora Quinn', address: 'nora.quinn@customer.example' };
const SUBJECT = 'Fibre box keeps restarting';
const PARAGRAPH = 'The fibre box in the hallway restarts every twenty minutes since the storm on Sunday.';
const QUOTED = 'My previous router never did this.';
/** A small but well-formed PDF, so the download can be compared byte for byte. */
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);
/** A 1×1 transparent PNG, served for the remote image once the agent asks for it. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

interface Relayed {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  mail: ParsedMail;
}

/** The organisation's outbound mail server, as far as Rapport can tell: accepts and records. */
async function startRelay() {
  const received: Relayed[] = [];
  /** Recipients refused for good (550), as a provider does for a mailbox that is gone. */
  const refuse = new Set<string>();
  /** Recipients deferred for now (451), as a provider does while a mailbox is over quota. */
  const defer = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const to = address.address.toLowerCase();
      if (defer.has(to)) {
        return callback(Object.assign(new Error(`4.2.2 <${to}>: mailbox full`), { responseCode: 451 }));
      }
      if (!refuse.has(to)) return callback();
      callback(
        Object.assign(new Error(`5.1.1 <${address.address}>: mailbox unavailable`), { responseCode: 550 }),
      );
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (mail) => {
            received.push({
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              raw,
              mail,
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    refuse,
    defer,
    /** The first message (from `start` on) that `match` accepts, waiting for it to arrive. */
    async next(match: (m: Relayed) => boolean, what: string, start = 0, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.slice(start).find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = received.map((m) => `${m.envelope.to.join(',')}: ${m.mail.subject}`).join('\n  ');
          throw new Error(`the relay did not receive ${what} within ${timeoutMs} ms; it has:\n  ${seen}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(
  probe: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const headerText = (mail: ParsedMail, key: string) => {
  const value = mail.headers.get(key);
  return typeof value === 'string' ? value : value === undefined ? undefined : String(value);
};

describe(`email journey in Chromium (${engine})`, () => {
  const slug = `e2e-${randomUUID().slice(0, 8)}`;
  const supportAddress = `support@${slug}.example`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-email-'));
  const secret = randomUUID() + randomUUID();
  /** What signs reply tokens and Message-IDs (the server derives it from RAPPORT_SECRET the same way). */
  const threadingKey = deriveKey(secret, 'email-threading');
  let tenantId: string;
  let token: string;
  let agentEmail: string;
  let adminEmail: string;
  let server: ServerProcess;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let smtpPort: number;
  let customerMail: Transporter;
  let browser: Browser;
  let page: Page;
  /** Every request the page (and its frames) made to the remote image's host. */
  const imageRequests: string[] = [];
  const firstMessageId = `<first-${randomUUID()}@customer.example>`;
  let caseNumber = 0;
  let caseId = '';
  /** The agent's reply as the relay received it. */
  let reply: Relayed;

  /** Calls the API as an integration would, with the tenant's bearer token. */
  const api = (method: string, url: string, body?: unknown) =>
    integration(server, () => token)(method, url, body);
  const row = (num: number) => page.locator(`tr[data-case-number="${num}"]`);
  const contacts = () => page.getByTestId('timeline').locator('[data-type="contact.received"]');

  before(async () => {
    ensureWebBuilt();
    // Arrange while no server holds the database (PGlite allows one process).
    const database = await openDatabase({ url: databaseUrl, dataDir: databaseUrl ? null : dataDir });
    try {
      await migrate(database);
      const tenant = await createTenant(database.db, { slug, name: ORGANISATION });
      tenantId = tenant.id;
      agentEmail = `robin.hale+${slug}@harbourfibre.example`;
      await createUser(database.db, tenant.id, {
        email: agentEmail,
        displayName: AGENT,
        role: 'agent',
        password: PASSWORD,
        teamIds: [],
      });
      adminEmail = `dee.admin+${slug}@harbourfibre.example`;
      await createUser(database.db, tenant.id, {
        email: adminEmail,
        displayName: 'Dee Admin',
        role: 'admin',
        password: PASSWORD,
        teamIds: [],
      });
      token = (await createToken(database.db, tenant.id, { name: 'e2e email', role: 'admin' })).secret;
      await createChannel(database.db, tenant.id, {
        type: 'email',
        name: 'Support',
        address: supportAddress,
        settings: { acknowledgement: { enabled: true, locale: 'en' } },
      });
    } finally {
      await database.close();
    }
    relay = await startRelay();
    smtpPort = await freePort();
    server = await startServerProcess({
      dataDir,
      databaseUrl,
      env: {
        RAPPORT_SECRET: secret,
        RAPPORT_SMTP_PORT: String(smtpPort),
        RAPPORT_SMTP_OUTBOUND_URL: `smtp://127.0.0.1:${relay.port}`,
      },
    });
    // The customer's mail server delivering to ours.
    customerMail = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    // Remote content is answered locally (no network in tests) and every attempt is recorded.
    await page.route('https://images.example/**', (route) => {
      imageRequests.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
    });
  });

  after(async () => {
    // The page as it was when the journey ended (or stopped): the first thing to look at on a failure.
    if (page) await shot(page, 'last').catch(() => {});
    await browser?.close();
    customerMail?.close();
    await server?.stop();
    await relay?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('signs the agent in and opens the Unassigned inbox, connected live', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in to your workspace' }).waitFor();
    await page.getByLabel('Organisation').fill(slug);
    await page.getByLabel('Email').fill(agentEmail);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Mine' }).waitFor();
    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Unassigned' }).waitFor();
    await page.getByTestId('empty-list').waitFor();
    assert.equal(await page.getByTestId('count-unassigned').textContent(), '0');
    const live = page.locator('.live-status[data-status="live"]');
    await live.waitFor();
    assert.match((await live.textContent()) ?? '', /Live/);
  });

  it("shows a customer's email, sent over SMTP, in the inbox live, and acknowledges it", async () => {
    await page.evaluate(() => {
      (window as unknown as { stillHere: boolean }).stillHere = true;
    });
    const info = await customerMail.sendMail({
      from: { name: CUSTOMER.name, address: CUSTOMER.address },
      to: supportAddress,
      subject: SUBJECT,
      messageId: firstMessageId,
      text: `${PARAGRAPH}\n\nOn Monday, ${CUSTOMER.name} wrote:\n> ${QUOTED}\n`,
      html: `<p>${PARAGRAPH}</p><script>window.__xss=1</script><p><img src="https://images.example/banner.png" alt="Our banner"></p><p>On Monday, ${CUSTOMER.name} wrote:</p><blockquote><p>${QUOTED}</p></blockquote>`,
      attachments: [{ filename: 'line-test.pdf', content: PDF, contentType: 'application/pdf' }],
    });
    assert.deepEqual(info.accepted, [supportAddress], 'our SMTP listener takes mail for the channel');

    const first = page.locator('tbody tr').first();
    await first.getByText(SUBJECT).waitFor({ timeout: 15_000 });
    caseNumber = Number(await first.getAttribute('data-case-number'));
    assert.ok(caseNumber > 0);
    await row(caseNumber).getByText(CUSTOMER.name).waitFor();
    await page.getByTestId('count-unassigned').getByText('1').waitFor();
    assert.equal(
      await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere),
      true,
      'the inbox updated without a reload',
    );
    caseId = (await api('GET', `/api/v1/cases/${caseNumber}`)).id;
    await assertNoAxeViolations(page, 'the inbox');
    await shot(page, '1-inbox-live');

    // The customer is told their case number, by automatic mail nobody should answer.
    // On a shared PostgreSQL database the server's outbox also delivers mail other test files
    // queued (without a relay of their own), so the customer's acknowledgement is picked by recipient.
    const ack = await relay.next(
      (m) => m.mail.headers.get('auto-submitted') !== undefined && m.envelope.to.includes(CUSTOMER.address),
      'the acknowledgement',
    );
    assert.deepEqual(ack.envelope.to, [CUSTOMER.address]);
    assert.equal(ack.envelope.from, supportAddress);
    assert.equal(
      ack.mail.to && !Array.isArray(ack.mail.to) ? ack.mail.to.value[0]?.address : null,
      CUSTOMER.address,
    );
    assert.match(ack.mail.subject ?? '', new RegExp(`\\[#${caseNumber}-[a-z2-7]+\\]`));
    assert.match(ack.mail.subject ?? '', new RegExp(SUBJECT));
    assert.equal(headerText(ack.mail, 'auto-submitted'), 'auto-replied');
    assert.equal(headerText(ack.mail, 'x-auto-response-suppress'), 'All');
    assert.equal(ack.mail.inReplyTo, firstMessageId);
    assert.match(ack.mail.text ?? '', new RegExp(`case #${caseNumber}`));
  });

  it('opens the case: the email with its attachment, and the whole message in a sandboxed frame', async () => {
    await row(caseNumber).getByRole('link', { name: SUBJECT }).click();
    await page.getByRole('heading', { level: 1, name: SUBJECT }).waitFor();
    const email = contacts().first();
    await email.waitFor();
    await email.getByText(SUBJECT, { exact: true }).waitFor();
    const shown = (await email.locator('.message-body').textContent()) ?? '';
    assert.match(shown, /restarts every twenty minutes/);
    assert.doesNotMatch(shown, new RegExp(QUOTED), 'quoted history is folded away in the timeline');
    assert.doesNotMatch((await email.textContent()) ?? '', /window\.__xss/);

    // The attachment downloads as the file the customer sent. Fetched with the page's own
    // session rather than through Chromium's download manager, which under a loaded CI machine
    // now and then cancels a download it started (download.path: canceled) with no fault of ours.
    const link = email.getByRole('link', { name: 'line-test.pdf' });
    assert.equal(await link.getAttribute('download'), 'line-test.pdf');
    const file = await page.request.get(new URL((await link.getAttribute('href')) ?? '', page.url()).href);
    assert.equal(file.status(), 200);
    assert.match(file.headers()['content-disposition'] ?? '', /^attachment; filename="line-test\.pdf"/);
    assert.deepEqual(await file.body(), PDF);

    await email.getByRole('button', { name: 'Show the whole email' }).click();
    const iframe = page.getByTestId('email-frame');
    await iframe.waitFor();
    const sandbox = await iframe.getAttribute('sandbox');
    assert.notEqual(sandbox, null, 'the frame is sandboxed');
    assert.doesNotMatch(sandbox ?? '', /allow-scripts|allow-same-origin/);
    const frameDoc = page.frameLocator('[data-testid="email-frame"]');
    await frameDoc.getByText(PARAGRAPH).waitFor();
    await frameDoc.locator('blockquote').getByText(QUOTED).waitFor();
    const frame = (await (await iframe.elementHandle())?.contentFrame()) as Frame;
    assert.ok(frame, 'the frame has a document');
    assert.equal(await frame.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await frame.locator('script').count(), 0, 'the script was removed at ingest');
    assert.deepEqual(imageRequests, [], 'no request to the remote image before the agent asks');
    assert.equal(await frame.locator('img[alt="Our banner"]').count(), 1, 'the image is there, not loaded');
    await assertNoAxeViolations(page, 'the case page with the whole email open');
    await shot(page, '2-case-email');

    await email.getByRole('button', { name: 'Load remote images' }).click();
    await until(async () => imageRequests.length > 0, 'the remote image to be requested');
    assert.deepEqual(imageRequests, ['https://images.example/banner.png']);
    const reloaded = (await (await iframe.elementHandle())?.contentFrame()) as Frame;
    await reloaded.locator('img[alt="Our banner"][src="https://images.example/banner.png"]').waitFor();
    assert.equal(await reloaded.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  });

  it('replies by email: the relay receives it from the agent, threaded to the customer’s message', async () => {
    const before = relay.received.length;
    await page
      .getByRole('textbox', { name: 'Your reply' })
      .fill('Thank you, Nora. I have scheduled a remote reset of the fibre box for tonight.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    const replied = page.locator('[data-type="message.replied"]');
    await replied.getByText('scheduled a remote reset').waitFor();
    await replied.locator('[data-delivery="sent"]').getByText('Email sent').waitFor({ timeout: 20_000 });

    reply = await relay.next(
      (m) => m.mail.text?.includes('scheduled a remote reset') === true,
      'the reply',
      before,
    );
    assert.deepEqual(reply.envelope.to, [CUSTOMER.address]);
    const from = reply.mail.from?.value[0];
    assert.equal(from?.name, `${AGENT} via ${ORGANISATION}`);
    assert.equal(from?.address, supportAddress);
    const replyTo = reply.mail.replyTo?.value[0]?.address ?? '';
    assert.match(replyTo, new RegExp(`^support\\+[a-z2-7]+@${slug}\\.example$`));
    assert.deepEqual(tokenFromAddress(threadingKey, tenantId, replyTo), { tenantId, caseId });
    assert.equal(reply.mail.inReplyTo, firstMessageId);
    assert.deepEqual([reply.mail.references].flat(), [firstMessageId]);
    assert.match(reply.mail.subject ?? '', new RegExp(`^Re: .*\\[#${caseNumber}-[a-z2-7]+\\].*${SUBJECT}`));
    assert.equal(reply.mail.headers.get('auto-submitted'), undefined, 'a person wrote this one');
    assert.equal(tokenFromMessageId(threadingKey, tenantId, reply.mail.messageId ?? '')?.caseId, caseId);
  });

  it('sends files with a reply: picked and dropped on the composer, listed with sizes, attached in the mail', async () => {
    const before = relay.received.length;
    const composer = page.locator('section.composer');
    await page
      .getByRole('textbox', { name: 'Your reply' })
      .fill('Here is the line test and the engineer’s visit slip.');
    // Picked with the Attach button…
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      composer.getByRole('button', { name: 'Attach files' }).click(),
    ]);
    await chooser.setFiles([
      { name: 'line-test.pdf', mimeType: 'application/pdf', buffer: PDF },
      { name: 'wrong-file.txt', mimeType: 'text/plain', buffer: Buffer.from('not this one') },
    ]);
    // …and dropped onto the composer, as from the desktop.
    await composer.evaluate((target) => {
      const dt = new DataTransfer();
      dt.items.add(new File(['Visit on Thursday, 8-12.'], 'visit-slip.txt', { type: 'text/plain' }));
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const files = composer.getByRole('list', { name: 'Files to send' });
    await files.getByText('visit-slip.txt').waitFor();
    assert.deepEqual(
      (await files.locator('li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim()),
      [`line-test.pdf${PDF.length} B`, 'wrong-file.txt12 B', 'visit-slip.txt24 B'],
    );
    await composer.getByRole('button', { name: 'Remove wrong-file.txt' }).click();
    assert.equal(await files.locator('li').count(), 2);
    await assertNoAxeViolations(page, 'the composer with files');
    await composer.screenshot({ path: path.join(artifactsDir, `email-${engine}-5-composer-files.png`) });

    await page.getByRole('button', { name: 'Send reply' }).click();
    await files.waitFor({ state: 'detached' });
    const sent = page.locator('[data-type="message.replied"]').filter({ hasText: 'visit slip' });
    await sent.getByRole('link', { name: 'line-test.pdf' }).waitFor();
    await sent.getByRole('link', { name: 'visit-slip.txt' }).waitFor();
    await sent.locator('[data-delivery="sent"]').waitFor({ timeout: 20_000 });

    const mail = await relay.next(
      (m) => m.mail.text?.includes('visit slip') === true,
      'the reply with files',
      before,
    );
    assert.deepEqual(mail.envelope.to, [CUSTOMER.address]);
    assert.deepEqual(
      mail.mail.attachments.map((a) => [a.filename, a.contentType, a.content.length]),
      [
        ['line-test.pdf', 'application/pdf', PDF.length],
        ['visit-slip.txt', 'text/plain', 24],
      ],
    );
    assert.deepEqual(mail.mail.attachments[0]!.content, PDF);
    await shot(page, '6-reply-with-files');
  });

  it("threads the customer's answer back into the same case live, as a repeat contact", async () => {
    const replyTo = reply.mail.replyTo?.value[0]?.address ?? '';
    const answerId = `<answer-${randomUUID()}@customer.example>`;
    await customerMail.sendMail({
      from: { name: CUSTOMER.name, address: CUSTOMER.address },
      to: replyTo,
      // As mail clients do: one "Re:", the tag kept.
      subject: `Re: ${(reply.mail.subject ?? '').replace(/^Re:\s*/i, '')}`,
      messageId: answerId,
      inReplyTo: reply.mail.messageId,
      references: [firstMessageId, reply.mail.messageId ?? ''],
      text: `Thanks, Robin. It restarted again at 21:40, after the reset.\n\nOn Tuesday, ${AGENT} wrote:\n> Thank you, Nora.\n`,
    });
    const answer = contacts().nth(1);
    await answer.getByText('It restarted again at 21:40').waitFor({ timeout: 15_000 });
    await answer.getByText('Repeat contact').waitFor();
    assert.equal(await contacts().count(), 2);
    assert.equal(await contacts().first().getByText('Repeat contact').count(), 0);
    const onCase = await api('GET', `/api/v1/cases/${caseNumber}/timeline`);
    const received = onCase.items.filter((e: { type: string }) => e.type === 'contact.received');
    assert.equal(received.length, 2, 'the answer joined the case the reply came from');
    assert.equal(received[1].data.repeat, true);
    assert.equal((await api('GET', '/api/v1/inbox/counts')).open, 1, 'no second case was opened');
    await assertNoAxeViolations(page, 'the case page after the answer');
    await shot(page, '3-case-answer');
  });

  it('resolves the case, and an out-of-office reply does not reopen it', async () => {
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.locator('.case-header [data-status="resolved"]').waitFor();
    await page.getByRole('button', { name: 'Reopen' }).waitFor();

    await customerMail.sendMail({
      from: { name: CUSTOMER.name, address: CUSTOMER.address },
      to: reply.mail.replyTo?.value[0]?.address ?? '',
      subject: `Automatic reply: ${reply.mail.subject}`,
      messageId: `<ooo-${randomUUID()}@customer.example>`,
      inReplyTo: reply.mail.messageId,
      headers: { 'Auto-Submitted': 'auto-replied' },
      text: 'I am away until Monday and will read your message when I am back.',
    });
    // Processed: stored on the case and flagged automatic.
    const automatic = await until(async () => {
      const { items } = await api('GET', `/api/v1/cases/${caseNumber}/timeline`);
      return items.find(
        (e: { type: string; message?: { email?: { automatic?: string | null } } }) =>
          e.type === 'contact.received' && e.message?.email?.automatic,
      );
    }, 'the out-of-office reply to be processed');
    assert.equal(automatic.message.email.automatic, 'auto_reply');
    assert.notEqual(automatic.data.repeat, true, 'automatic mail is not a repeat contact');
    const { items } = await api('GET', `/api/v1/cases/${caseNumber}/timeline`);
    assert.equal(items.filter((e: { type: string }) => e.type === 'case.reopened').length, 0);
    assert.equal((await api('GET', `/api/v1/cases/${caseNumber}`)).status, 'resolved');

    // The agent sees it arrive, marked as automatic, on a case that stays resolved.
    await page.getByTestId('automatic').getByText('Automatic (auto-reply)').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.case-header [data-status="resolved"]').count(), 1);
    assert.equal(await page.getByTestId('count-unassigned').textContent(), '0');
    await shot(page, '4-resolved-ooo');
  });

  it('a new case from the same address within 24 h gets no second acknowledgement, and says why', async () => {
    const before = relay.received.length;
    await customerMail.sendMail({
      from: { name: CUSTOMER.name, address: CUSTOMER.address },
      to: supportAddress,
      subject: 'Billing question',
      messageId: `<billing-${randomUUID()}@customer.example>`,
      text: 'Why was I charged twice in November?',
    });
    const number = await until(async () => {
      const { items } = await api('GET', '/api/v1/cases?status=active');
      return items.find((c: { subject: string }) => c.subject === 'Billing question')?.number as number;
    }, 'the new case');
    await page.goto(`${server.url}/cases/${number}`);
    const alert = page.getByTestId('ack-suppressed');
    await alert.getByText('Possible mail loop').waitFor();
    assert.match((await alert.textContent()) ?? '', new RegExp(`not sent to ${CUSTOMER.address}`));
    assert.equal(await page.locator('[data-type="email.acknowledgement_queued"]').count(), 0);
    await assertNoAxeViolations(page, 'the case with a held-back acknowledgement');
    await shot(page, '8-ack-suppressed');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      relay.received.slice(before).filter((m) => m.envelope.to.includes(CUSTOMER.address)).length,
      0,
      'no second acknowledgement went out',
    );
  });

  /** A customer's email case opened through the API and answered by email; its number. */
  async function repliedCase(from: { identity: string; name: string }, subject: string, reply: string) {
    const opened = await api('POST', '/api/v1/contacts', { channel: 'email', from, subject, text: subject });
    const number = opened.case.number as number;
    await api('POST', `/api/v1/cases/${number}/messages`, { kind: 'reply', text: reply });
    return number;
  }

  it('a reply the relay defers shows as queued and retrying, and the badge stays readable', async () => {
    const full = 'full.mailbox@customer.example';
    relay.defer.add(full);
    const number = await repliedCase(
      { identity: full, name: 'Full Mailbox' },
      'Router lights',
      'Please restart it once.',
    );
    await page.goto(`${server.url}/cases/${number}`);
    await page
      .locator('[data-type="message.replied"] [data-delivery="queued"]')
      .getByText('Email queued · retrying (1 attempt)', { exact: true }) // the next try is a minute away
      .waitFor({ timeout: 20_000 });
    await assertNoAxeViolations(page, 'the case with a deferred reply');
    await shot(page, '9-deferred-reply');
  });

  it('an admin follows a refused reply from the case to Outbound mail and sends it again', async () => {
    const gone = 'old.address@customer.example';
    relay.refuse.add(gone);
    const number = await repliedCase(
      { identity: gone, name: 'Old Address' },
      'Moving house',
      'Your move is booked for Friday.',
    );
    await until(async () => {
      const { items } = await api('GET', '/api/v1/email/outbox?status=failed');
      return items.some((i: { caseNumber: number }) => i.caseNumber === number);
    }, 'the relay to refuse the reply');

    const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    const admin = await context.newPage();
    try {
      await admin.goto(`${server.url}/sign-in`);
      await admin.getByLabel('Organisation').fill(slug);
      await admin.getByLabel('Email').fill(adminEmail);
      await admin.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await admin.getByRole('button', { name: 'Sign in' }).click();
      await admin.getByRole('heading', { level: 1, name: 'Mine' }).waitFor();
      await admin.goto(`${server.url}/cases/${number}`);
      const replied = admin.locator('[data-type="message.replied"]');
      await replied.locator('[data-delivery="failed"]').waitFor();
      await replied
        .getByTestId('delivery-error')
        .getByText(/550 .*mailbox unavailable/)
        .waitFor();
      await replied.getByRole('link', { name: 'Retry it in Outbound mail' }).click();

      await admin.getByRole('heading', { level: 1, name: 'Outbound mail' }).waitFor();
      const table = admin.getByRole('table', { name: 'Failed outbound mail' });
      const row = table.getByRole('row').filter({ hasText: gone });
      await row.getByText('Moving house').waitFor();
      await row.getByRole('link', { name: `#${number}` }).waitFor();
      await row.getByText(/550 .*mailbox unavailable/).waitFor();
      await assertNoAxeViolations(admin, 'the outbound mail page');
      await admin.evaluate(() => window.scrollTo(0, 0));
      await screenshot(admin, `email-${engine}-7-outbound-mail`);

      // The customer's provider takes the address again; the admin sends the reply once more.
      relay.refuse.delete(gone);
      const before = relay.received.length;
      await row.getByRole('button', { name: /^Retry the email to / }).click();
      await admin.getByTestId('outbox-empty').waitFor();
      const resent = await relay.next((m) => m.envelope.to.includes(gone), 'the retried reply', before);
      assert.match(resent.mail.text ?? '', /Your move is booked for Friday/);
      await admin.goto(`${server.url}/cases/${number}`);
      await admin
        .locator('[data-type="message.replied"] [data-delivery="sent"]')
        .waitFor({ timeout: 20_000 });
    } finally {
      await context.close();
    }
  });
});
