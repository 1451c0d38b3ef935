/**
 * Webhook intake: inbound SMS per second through Twilio's signed webhook
 * (POST /webhooks/v1/channels/:id, form-encoded, X-Twilio-Signature checked over the public URL,
 * parsed, then the intake) against the raw intake baseline measured in the same run — the same
 * contacts (an SMS from a phone number, with the platform's message id) through
 * POST /api/v1/contacts with an API token — on the real server process. Half the messages come
 * from new customers, half are repeats from earlier ones. Also shown: the raw driver transaction
 * (one INSERT + one UPDATE) for scale. Target (issue 4): webhook ≥ 70 % of the raw intake.
 *
 *   npm run bench -- webhooks [--engines=pglite,postgres] [--seconds=10] [--warmup=2]
 */
import { randomBytes, randomInt } from 'node:crypto';
import path from 'node:path';
import { openDatabase } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { deriveKey } from '../server/lib/secrets.ts';
import { createChannel } from '../server/modules/channels/channels.service.ts';
import { createTenant, createToken } from '../server/modules/tenants/tenants.service.ts';
import { ACCOUNT_SID, AUTH_TOKEN, inboundSms, signedForm } from '../tests/support/fake-twilio.ts';
import { freePort, startServerProcess } from '../tests/support/server-process.ts';
import { createClient } from './lib/http.ts';
import { type Measurement, measure, otherCpu, postgresPids } from './lib/measure.ts';
import { messageBody, rawAppendPglite, rawAppendPostgres } from './lib/raw-append.ts';
import { benchDatabase, benchOptions, type Engine, fmt, table } from './lib/setup.ts';

const options = benchOptions({ seconds: 10, warmup: 2 });
const CLIENTS = [1, 16];
const POOL_SIZE = 20;
const TARGET_RATIO = 0.7;
const SECRET = `bench-${'s'.repeat(40)}`;

interface Cell {
  engine: Engine;
  clients: number;
  webhook: Measurement;
  intake: Measurement;
  raw: Measurement;
}

async function arrange(url: string | null, dataDir: string, publicUrl: string) {
  const database = await openDatabase({ url, dataDir: url ? null : dataDir });
  try {
    await migrate(database);
    const tenant = await createTenant(database.db, {
      slug: `bench-${Date.now().toString(36)}`,
      name: 'Bench',
    });
    const token = await createToken(database.db, tenant.id, { name: 'bench intake', role: 'admin' });
    const secretKey = deriveKey(SECRET, 'channel-secrets');
    const number = `+447400${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
    const channel = await createChannel(
      database.db,
      tenant.id,
      {
        type: 'sms',
        name: 'Bench SMS',
        address: number,
        settings: { accountSid: ACCOUNT_SID },
        secrets: { authToken: AUTH_TOKEN },
      },
      { secretKey },
    );
    // No settings.publicUrl: Twilio is told RAPPORT_PUBLIC_URL + the path, and signs that.
    return {
      authorization: `Bearer ${token.secret}`,
      channel: {
        id: channel.id,
        number,
        path: `/webhooks/v1/channels/${channel.id}`,
        url: `${publicUrl}/webhooks/v1/channels/${channel.id}`,
      },
    };
  } finally {
    await database.close();
  }
}

async function runEngine(engine: Engine): Promise<Cell[]> {
  const bdb = await benchDatabase(engine, 'webhooks');
  const rawDb = await benchDatabase('pglite', 'webhooks-raw');
  const cells: Cell[] = [];
  let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
  let raw: Awaited<ReturnType<typeof rawAppendPostgres>> | null = null;
  try {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const { authorization, channel } = await arrange(bdb.url, bdb.dataDir, publicUrl);
    raw = bdb.url
      ? await rawAppendPostgres(bdb.url, POOL_SIZE)
      : await rawAppendPglite(path.join(rawDb.dataDir, 'pg'));
    server = await startServerProcess({
      databaseUrl: bdb.url,
      dataDir: bdb.dataDir,
      port,
      env: { RAPPORT_SECRET: SECRET, RAPPORT_PUBLIC_URL: publicUrl, RAPPORT_WEBHOOK_LIMIT: '10000000' },
    });
    const serverPid = server.child.pid!;
    const client = createClient(server.url, Math.max(...CLIENTS));
    const watch = () => ({
      server: [serverPid],
      bench: [process.pid],
      ...(engine === 'postgres' ? { postgres: postgresPids() } : {}),
    });
    let serial = randomInt(0, 1_000_000);
    const known: string[] = [];
    /** Half new customers, half repeats: the same mix for both paths. */
    const sender = () => {
      const repeat = known.length > 0 && Math.random() < 0.5;
      if (repeat) return { from: known[randomInt(known.length)]!, repeat };
      const from = `+447412${String(serial++ % 1_000_000).padStart(6, '0')}`;
      return { from, repeat };
    };
    const sid = () => `SM${randomBytes(16).toString('hex')}`;

    const postWebhook = async () => {
      const { from, repeat } = sender();
      const form = signedForm(
        channel.url,
        inboundSms({ from, to: channel.number, body: messageBody(), messageSid: sid() }),
      );
      const res = await client.request('POST', channel.path, form.headers, form.payload);
      if (res.status !== 200) throw new Error(`${res.status} ${res.body.slice(0, 300)}`);
      if (!repeat) known.push(from);
    };
    const postContact = async () => {
      const { from, repeat } = sender();
      const res = await client.request(
        'POST',
        '/api/v1/contacts',
        { authorization },
        JSON.stringify({ channel: 'sms', from: { identity: from }, text: messageBody(), externalId: sid() }),
      );
      if (res.status !== 201) throw new Error(`${res.status} ${res.body.slice(0, 300)}`);
      if (!repeat) known.push(from);
    };

    for (const clients of CLIENTS) {
      const common = {
        concurrency: clients,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        watch,
      };
      const rawResult = await measure({ ...common, op: raw.op });
      // Alternated so neither path always meets a larger database than the other.
      const intake = await measure({ ...common, op: postContact });
      const webhook = await measure({ ...common, op: postWebhook });
      cells.push({ engine, clients, webhook, intake, raw: rawResult });
      console.log(
        `${engine} ${clients} client(s): webhook ${fmt.int(webhook.throughput)}/s p99 ${fmt.ms(webhook.p99)} ms` +
          `, intake ${fmt.int(intake.throughput)}/s p99 ${fmt.ms(intake.p99)} ms, raw ${fmt.int(rawResult.throughput)}/s` +
          (webhook.errors ? `, ${webhook.errors} webhook errors: ${webhook.firstError}` : '') +
          (intake.errors ? `, ${intake.errors} intake errors: ${intake.firstError}` : ''),
      );
    }
    client.close();
    const code = await server.stop();
    if (code !== 0) console.log(`server exited with ${code}:\n${server.output()}`);
    server = null;
  } finally {
    if (server) await server.kill9();
    await raw?.close();
    await bdb.dispose();
    await rawDb.dispose();
  }
  return cells;
}

const started = Date.now();
const cells: Cell[] = [];
for (const engine of options.engines) cells.push(...(await runEngine(engine)));
console.log(
  `\n## Webhook intake: signed Twilio SMS vs POST /api/v1/contacts (${options.durationMs / 1000} s per cell after ${options.warmupMs / 1000} s warm-up; Node ${process.version})\n`,
);
console.log(
  table(
    [
      'engine',
      'clients',
      'webhook SMS/s',
      'intake contacts/s',
      'webhook / intake',
      'raw txn/s',
      'webhook p50 ms',
      'webhook p99 ms',
      'intake p99 ms',
      'errors',
      'webhook CPU cores: server / bench / postgres / other',
    ],
    cells.map((c) => [
      c.engine,
      c.clients,
      fmt.int(c.webhook.throughput),
      fmt.int(c.intake.throughput),
      fmt.ratio(c.webhook.throughput / c.intake.throughput),
      fmt.int(c.raw.throughput),
      fmt.ms(c.webhook.p50),
      fmt.ms(c.webhook.p99),
      fmt.ms(c.intake.p99),
      c.webhook.errors + c.intake.errors,
      `${fmt.cores(c.webhook.cpu?.server)} / ${fmt.cores(c.webhook.cpu?.bench)} / ${fmt.cores(c.webhook.cpu?.postgres)} / ${fmt.cores(otherCpu(c.webhook))}`,
    ]),
  ),
);
for (const c of cells) {
  const ratio = c.webhook.throughput / c.intake.throughput;
  console.log(
    `${c.engine} ${c.clients} client(s): webhook / intake ${fmt.ratio(ratio)} (≥ ${TARGET_RATIO}×: ${ratio >= TARGET_RATIO ? 'PASS' : 'FAIL'})`,
  );
}
console.log(`\nJSON ${JSON.stringify(cells)}`);
console.log(`webhooks bench took ${Math.round((Date.now() - started) / 1000)} s`);
