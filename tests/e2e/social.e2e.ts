/**
 * Answering on WhatsApp, Messenger and X in Chromium against the real server process: a customer's WhatsApp
 * message from yesterday arrives through Meta's signed webhook, the composer says the 24-hour
 * window has closed and will only send an approved template, which the agent picks, fills in and
 * sends; a public mention on X arrives through X's signed webhook, marked as a public post, and
 * the agent answers it publicly, then moves to a direct message — each reply marked in the
 * timeline; on Messenger a reply after 24 hours goes as a person's follow-up, and after 7 days the
 * composer holds it. axe-core checks each state; screenshots land in tests/artifacts/. PGlite, or
 * PostgreSQL with TEST_DATABASE_URL.
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
import { channels } from '../../server/db/schema/index.ts';
import { deriveKey } from '../../server/lib/secrets.ts';
import { sealChannelSecret } from '../../server/modules/channels/channels.secrets.ts';
import { createTenant, createUser } from '../../server/modules/tenants/tenants.service.ts';
import { assertNoAxeViolations, ensureWebBuilt, launchBrowser, screenshot } from '../support/browser.ts';
import { APP_SECRET, messagingWebhook, metaId, signedJson, whatsappMessage } from '../support/fake-meta.ts';
import { CONSUMER_SECRET, signedX, snowflake, xMention } from '../support/fake-x.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const databaseUrl = process.env.TEST_DATABASE_URL || null;
const engine = databaseUrl ? 'postgres' : 'pglite';
const shot = (page: Page, name: string) => screenshot(page, `social-${engine}-${name}`);
const PASSWORD = 'harbour-fibre-2026';
const HOUR = 3_600_000;

describe(`replying on WhatsApp, Messenger and X in Chromium (${engine})`, () => {
  const slug = `e2e-${randomUUID().slice(0, 8)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-social-'));
  const secret = randomUUID() + randomUUID();
  const whatsapp = { id: randomUUID(), address: metaId() };
  const x = { id: randomUUID(), address: snowflake() };
  const messenger = { id: randomUUID(), address: metaId() };
  let agentEmail: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;

  const deliver = async (channelId: string, signed: { payload: string; headers: Record<string, string> }) => {
    const res = await fetch(`${server.url}/webhooks/v1/channels/${channelId}`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.payload,
    });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    ensureWebBuilt();
    const database = await openDatabase({ url: databaseUrl, dataDir: databaseUrl ? null : dataDir });
    try {
      await migrate(database);
      const tenant = await createTenant(database.db, { slug, name: 'Harbour Fibre' });
      agentEmail = `robin.hale+${slug}@harbourfibre.example`;
      await createUser(database.db, tenant.id, {
        email: agentEmail,
        displayName: 'Robin Hale',
        role: 'agent',
        password: PASSWORD,
      });
      const key = deriveKey(secret, 'channel-secrets');
      const seal = (id: string, values: Record<string, string>) =>
        Object.fromEntries(
          Object.entries(values).map(([n, v]) => [n, sealChannelSecret(key, tenant.id, id, n, v)]),
        );
      await database.db.insert(channels).values([
        {
          tenantId: tenant.id,
          id: whatsapp.id,
          type: 'whatsapp',
          name: 'WhatsApp support',
          address: whatsapp.address,
          settings: {
            templates: [
              {
                name: 'case_update',
                language: 'en_GB',
                text: 'Hi {{1}}, there is news on your case {{2}}. Reply to this message to carry on.',
              },
            ],
          },
          secrets: seal(whatsapp.id, { appSecret: APP_SECRET }),
        },
        {
          tenantId: tenant.id,
          id: messenger.id,
          type: 'messenger',
          name: 'Harbour Fibre page',
          address: messenger.address,
          settings: {},
          secrets: seal(messenger.id, { appSecret: APP_SECRET }),
        },
        {
          tenantId: tenant.id,
          id: x.id,
          type: 'x',
          name: 'X @HarbourHelp',
          address: x.address,
          settings: { handle: 'HarbourHelp' },
          secrets: seal(x.id, { consumerSecret: CONSUMER_SECRET }),
        },
      ]);
    } finally {
      await database.close();
    }
    server = await startServerProcess({ dataDir, databaseUrl, env: { RAPPORT_SECRET: secret } });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`${server.url}/`);
    await page.getByLabel('Organisation').fill(slug);
    await page.getByLabel('Email').fill(agentEmail);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Mine' }).waitFor();
  });

  after(async () => {
    if (page) await shot(page, 'last').catch(() => {});
    await browser?.close();
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('outside the 24-hour window the composer only sends an approved template, filled in and previewed', async () => {
    await deliver(
      whatsapp.id,
      signedJson(
        whatsappMessage({
          phoneNumberId: whatsapp.address,
          from: '+447412555123',
          name: 'Mei Tanaka',
          text: 'Router keeps rebooting since the storm',
          at: Date.now() - 26 * HOUR,
        }),
      ),
    );
    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByText('Router keeps rebooting since the storm').first().click();
    await page.getByRole('heading', { level: 1, name: 'Router keeps rebooting since the storm' }).waitFor();
    const composer = page.locator('.composer');
    await composer.getByText('The 24-hour WhatsApp window has closed').waitFor();
    await page.getByLabel('Your reply').fill('Are you still there?');
    const send = composer.getByRole('button', { name: 'Send reply' });
    assert.equal(await send.isDisabled(), true, 'free text cannot go outside the window');
    await composer.getByText('Choose an approved template to send').waitFor();
    await assertNoAxeViolations(page, 'the composer with the WhatsApp window closed');
    await shot(page, '1-whatsapp-window-closed');

    await composer.getByLabel('Approved template').click();
    await page.getByRole('option', { name: 'case_update (en_GB)' }).click();
    await composer.getByLabel('Parameter {{1}}').fill('Mei');
    assert.equal(await send.isDisabled(), true, 'every parameter first');
    await composer.getByLabel('Parameter {{2}}').fill('#1001');
    const preview = composer.getByTestId('template-preview');
    await preview
      .getByText('Hi Mei, there is news on your case #1001. Reply to this message to carry on.')
      .waitFor();
    await assertNoAxeViolations(page, 'the template picker');
    await shot(page, '2-whatsapp-template');
    await send.click();
    const sent = page.getByTestId('timeline').locator('[data-type="message.replied"]').last();
    await sent.getByText('Hi Mei, there is news on your case #1001.', { exact: false }).waitFor();
    await sent.getByTestId('sent-template').getByText('Template case_update').waitFor();

    // The customer answers: the window opens again, live, and free text can go.
    await deliver(
      whatsapp.id,
      signedJson(
        whatsappMessage({
          phoneNumberId: whatsapp.address,
          from: '+447412555123',
          text: 'Yes, still broken',
        }),
      ),
    );
    await composer.getByText('WhatsApp window open: free-form replies until').waitFor({ timeout: 10_000 });
    await page.getByLabel('Your reply').fill('Thanks Mei, an engineer will call you today.');
    assert.equal(await send.isDisabled(), false);
    await shot(page, '2b-whatsapp-window-open');
    await send.click();
    await page.getByTestId('timeline').getByText('Thanks Mei, an engineer will call you today.').waitFor();
  });

  it('on Messenger a reply after 24 hours goes as a person’s follow-up; after 7 days the composer holds it', async () => {
    const message = (sender: string, text: string, hoursAgo: number) =>
      deliver(
        messenger.id,
        signedJson(
          messagingWebhook('page', messenger.address, [
            { sender, at: Date.now() - hoursAgo * HOUR, message: { mid: `m_${randomUUID()}`, text } },
          ]),
        ),
      );
    await message('24011111111111111', 'Bill doubled after the upgrade', 30);
    await message('24022222222222222', 'Still waiting for the new router', 9 * 24);
    const composer = page.locator('.composer');
    const send = composer.getByRole('button', { name: 'Send reply' });

    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByText('Bill doubled after the upgrade').first().click();
    await composer
      .getByText('this reply goes as a person’s follow-up (HUMAN_AGENT)', { exact: false })
      .waitFor();
    await page.getByLabel('Your reply').fill('Sorry for the wait: the refund is on its way.');
    assert.equal(await send.isDisabled(), false, 'a follow-up can go within 7 days');
    await assertNoAxeViolations(page, 'the composer after Messenger’s 24 hours');
    await shot(page, '5-messenger-follow-up');
    await send.click();
    await page.getByTestId('timeline').getByText('Sorry for the wait: the refund is on its way.').waitFor();

    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByText('Still waiting for the new router').first().click();
    await composer.getByText('Messenger no longer takes replies here').waitFor();
    await page.getByLabel('Your reply').fill('Are you still there?');
    assert.equal(await send.isDisabled(), true, 'nothing goes after 7 days');
    await composer.getByText('Messenger no longer takes replies to this customer').waitFor();
    await assertNoAxeViolations(page, 'the composer after Messenger’s 7 days');
    await shot(page, '6-messenger-closed');
  });

  it('a public mention on X is marked public; the agent answers it publicly, then moves to a DM', async () => {
    const pat = {
      id: snowflake(),
      screenName: 'pat_w',
      name: 'Pat Walsh',
      followers: 2_400_000,
      verified: true,
    };
    await deliver(
      x.id,
      signedX(
        xMention({
          account: { id: x.address, screenName: 'HarbourHelp' },
          from: pat,
          text: '@HarbourHelp third outage this week, what is going on?',
        }),
      ),
    );
    await page.getByRole('link', { name: /^Unassigned/ }).click();
    await page.getByText('@HarbourHelp third outage this week').first().click();
    const timeline = page.getByTestId('timeline');
    const inbound = timeline.locator('[data-type="contact.received"]').first();
    await inbound.locator('[data-visibility="public"]').getByText('Public post').waitFor();
    const composer = page.locator('.composer');
    const picker = composer.getByTestId('x-visibility');
    await picker.getByText('Everyone on X can see this reply').waitFor();
    await page.getByLabel('Your reply').fill('Sorry Pat, we are looking into it now. Sending you a DM.');
    await assertNoAxeViolations(page, 'the composer on X');
    await shot(page, '3-x-public');
    await composer.getByRole('button', { name: 'Send reply' }).click();
    const replies = timeline.locator('[data-type="message.replied"]');
    await replies.first().locator('[data-visibility="public"]').waitFor();

    // By keyboard: the visibility control is a radio group, moved with the arrow keys.
    await picker.getByRole('radio', { name: 'Public reply' }).focus();
    await page.keyboard.press('ArrowRight');
    await picker.getByText('Only the customer sees this direct message.').waitFor();
    await page.getByLabel('Your reply').fill('Could you send me your account number?');
    await page.getByLabel('Your reply').press('Control+Enter');
    await replies.nth(1).locator('[data-visibility="direct"]').getByText('Direct message').waitFor();
    await assertNoAxeViolations(page, 'the timeline with public and direct replies');
    await shot(page, '4-x-timeline');
  });
});
