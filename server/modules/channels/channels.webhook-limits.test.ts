/**
 * A flood at one channel's webhook is cut off with 429 and Retry-After (RAPPORT_WEBHOOK_LIMIT per
 * channel per minute) before anything is read; other channels keep taking their platform's posts.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { inboundSms, signedForm } from '../../../tests/support/fake-twilio.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber, twilioChannel } from '../../../tests/support/given-channels.ts';
import { TEST_SECRET } from '../../../tests/support/test-app.ts';
import { buildApp } from '../../app.ts';
import { openDatabase } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';

const database = await openDatabase({ url: process.env.TEST_DATABASE_URL || null, poolSize: 4 });
await migrate(database);
const app = await buildApp({
  database,
  secret: TEST_SECRET,
  webRoot: '/nonexistent',
  imap: false,
  webhooks: { perChannelPerMinute: 3 },
});
await app.ready();
after(async () => {
  await app.close();
  await database.close();
});

test('the fourth delivery in a minute to one channel is a 429 with Retry-After; another channel is unaffected', async () => {
  const t = await given.tenant(app);
  const busy = await twilioChannel(t);
  const quiet = await twilioChannel(t);
  const post = (channel: typeof busy) => {
    const form = signedForm(
      channel.url,
      inboundSms({ from: customerNumber(), to: channel.address!, body: 'Hello' }),
    );
    return app.inject({ method: 'POST', url: channel.path, payload: form.payload, headers: form.headers });
  };
  for (let i = 0; i < 3; i++) assert.equal((await post(busy)).statusCode, 200);
  const limited = await post(busy);
  assert.equal(limited.statusCode, 429, limited.body);
  assert.equal(limited.json().error.code, 'rate_limited');
  assert.ok(Number(limited.headers['retry-after']) > 0, 'says when to come back');
  assert.equal((await post(quiet)).statusCode, 200);
  const cases = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  assert.equal(cases.json().items.length, 4, 'three on the busy channel, one on the quiet one');
});
