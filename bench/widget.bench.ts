/**
 * The chat widget under load: 1,000 visitor WebSockets open on one node (the real server
 * process), spread over 20 tenants, each tenant with an agent's realtime socket open. Visitors
 * send messages open-loop at 200 per second in all; the round trip is from the visitor's send
 * to the agent's socket announcing the contact (`contact.received` for that case). Target
 * (issue 4): p99 < 50 ms. Baseline in the same run: ping → pong on the same visitor sockets at
 * the same rate (transport and event loop, no intake).
 *
 *   npm run bench -- widget [--engines=pglite,postgres] [--seconds=20] [--sockets=1000] [--rate=200]
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import WebSocket from 'ws';
import { openDatabase } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';
import { channels } from '../server/db/schema/index.ts';
import { deriveKey } from '../server/lib/secrets.ts';
import { startChatSession } from '../server/modules/chat/chat.sessions.ts';
import { createTenant, createUser } from '../server/modules/tenants/tenants.service.ts';
import { startServerProcess } from '../tests/support/server-process.ts';
import { percentile } from './lib/measure.ts';
import { benchDatabase, benchOptions, type Engine, fmt, table } from './lib/setup.ts';

const options = benchOptions({ seconds: 20, warmup: 2 });
const { values } = parseArgs({
  options: { sockets: { type: 'string', default: '1000' }, rate: { type: 'string', default: '200' } },
  strict: false,
});
const SOCKETS = Number(values.sockets);
const RATE = Number(values.rate);
const TENANTS = 20;
const TARGET_P99_MS = 50;
const SECRET = 'widget-bench-secret-widget-bench-secret-0123';
const PASSWORD = 'widget-bench-password';
const quiet = { error() {}, warn() {}, info() {}, debug() {} } as unknown as FastifyBaseLogger;

interface Tenant {
  slug: string;
  agentEmail: string;
  tokens: string[];
}

async function arrange(url: string | null, dataDir: string): Promise<Tenant[]> {
  const database = await openDatabase({ url, dataDir: url ? null : dataDir });
  try {
    await migrate(database);
    const db = database.db;
    const deps = { db, log: quiet, secretKey: deriveKey(SECRET, 'channel-secrets') };
    const out: Tenant[] = [];
    for (let i = 0; i < TENANTS; i++) {
      const slug = `widget-bench-${i}-${Date.now().toString(36)}`;
      const tenant = await createTenant(db, { slug, name: `Widget Bench ${i}` });
      const agentEmail = `agent@${slug}.example`;
      await createUser(db, tenant.id, {
        email: agentEmail,
        displayName: `Agent ${i}`,
        role: 'agent',
        password: PASSWORD,
      });
      const [channel] = await db
        .insert(channels)
        .values({ tenantId: tenant.id, type: 'chat', name: 'Chat' })
        .returning();
      const tokens: string[] = [];
      for (let s = i; s < SOCKETS; s += TENANTS) {
        const { token } = await startChatSession(
          deps,
          channel!,
          { channel: channel!.id, name: `Visitor ${s}` },
          {},
        );
        tokens.push(token);
      }
      out.push({ slug, agentEmail, tokens });
    }
    return out;
  } finally {
    await database.close();
  }
}

/** Opens a socket and resolves once `ready` says so (`hello` first for a visitor). */
function open(
  url: string,
  init: { hello?: string; cookie?: string },
  onFrame: (f: { type: string } & Record<string, unknown>) => void,
) {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, init.cookie ? { headers: { cookie: init.cookie } } : {});
    ws.on('open', () => init.hello && ws.send(JSON.stringify({ type: 'hello', token: init.hello })));
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`${url} closed with ${code} before it was ready`)));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === 'ready') resolve(ws);
      onFrame(frame);
    });
  });
}

/** Sends `send(i)` for i = 0, 1, … at `rate` per second for `ms` (open loop: never waits for answers). */
async function openLoop(rate: number, ms: number, send: (i: number) => void): Promise<number> {
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (sent < due) send(sent++);
    await new Promise((r) => setTimeout(r, 1));
  }
  return sent;
}

const rss = (pid: number) => {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
    return line ? Number(line[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

interface Row {
  engine: Engine;
  sockets: number;
  sent: number;
  answered: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
  pingP50: number;
  pingP99: number;
  rssMb: number;
}

async function runEngine(engine: Engine): Promise<Row> {
  const bdb = await benchDatabase(engine, 'widget');
  let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
  const sockets: WebSocket[] = [];
  try {
    const tenants = await arrange(bdb.url, bdb.dataDir);
    console.log(`${engine}: ${TENANTS} tenants and ${SOCKETS} chat sessions arranged`);
    // Twenty agents sign in from this one address: more than the default sign-in limit allows.
    server = await startServerProcess({
      databaseUrl: bdb.url,
      dataDir: bdb.dataDir,
      env: { RAPPORT_SECRET: SECRET, RAPPORT_LOGIN_LIMIT: '1000' },
    });
    const ws = server.url.replace(/^http/, 'ws');
    console.log(`${engine}: server up at ${server.url}`);
    /** Sends waiting for the agent's socket to announce them, by case. */
    const waiting = new Map<string, number[]>();
    const latencies: number[] = [];
    const caseOf = new Map<WebSocket, string>();
    const opened: ((caseId: string) => void)[][] = tenants.map(() => []);

    for (const [i, tenant] of tenants.entries()) {
      const res = await fetch(`${server.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: tenant.slug, email: tenant.agentEmail, password: PASSWORD }),
      });
      const cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      sockets.push(
        await open(`${ws}/api/v1/realtime`, { cookie }, (f) => {
          if (f.type === 'case.opened') opened[i]!.shift()?.(String(f.caseId));
          if (f.type !== 'contact.received') return;
          const started = waiting.get(String(f.caseId))?.shift();
          if (started !== undefined) latencies.push(performance.now() - started);
        }),
      );
    }
    const visitors: { ws: WebSocket; tenant: number }[] = [];
    const pongs: number[] = [];
    const pingSent: number[] = [];
    for (const [i, tenant] of tenants.entries()) {
      for (let b = 0; b < tenant.tokens.length; b += 50) {
        const batch = await Promise.all(
          tenant.tokens.slice(b, b + 50).map((token) =>
            open(`${ws}/widget/v1/socket`, { hello: token }, (f) => {
              if (f.type === 'pong') {
                const started = pingSent.shift();
                if (started !== undefined) pongs.push(performance.now() - started);
              }
            }),
          ),
        );
        for (const v of batch) visitors.push({ ws: v, tenant: i });
      }
    }
    sockets.push(...visitors.map((v) => v.ws));
    console.log(`${engine}: ${visitors.length} visitor sockets and ${tenants.length} agent sockets open`);

    // Each visitor's first message opens its case; the agent's socket names it.
    let seq = 0;
    await Promise.all(
      tenants.map(async (_t, i) => {
        for (const v of visitors.filter((x) => x.tenant === i)) {
          const caseId = new Promise<string>((resolve) => opened[i]!.push(resolve));
          v.ws.send(
            JSON.stringify({ type: 'message', clientId: `w${seq++}`, text: 'Hello, my line is down' }),
          );
          caseOf.set(v.ws, await caseId);
        }
      }),
    );

    await openLoop(RATE, Math.min(options.durationMs, 5000), (n) => {
      pingSent.push(performance.now());
      visitors[n % visitors.length]!.ws.send('{"type":"ping"}');
    });
    await new Promise((r) => setTimeout(r, 500));
    /** Waits (up to 5 s) until the agents' sockets announced `n` of the measured messages. */
    const announced = async (n: number) => {
      for (let i = 0; i < 100 && latencies.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };
    const chat = (n: number) => {
      const v = visitors[(n * 7919) % visitors.length]!;
      const caseId = caseOf.get(v.ws)!;
      const list = waiting.get(caseId) ?? [];
      list.push(performance.now());
      waiting.set(caseId, list);
      v.ws.send(
        JSON.stringify({ type: 'message', clientId: `m${n}`, text: `Message ${n}: still no signal` }),
      );
    };
    // Warm-up at the measured rate (the server's pool and caches as under steady load), then
    // its latencies are dropped once every warm-up message was announced.
    const warm = await openLoop(RATE, options.warmupMs, (n) => chat(1_000_000 + n));
    await announced(warm);
    latencies.length = 0;

    const sent = await openLoop(RATE, options.durationMs, chat);
    await announced(sent);
    const rssMb = rss(server.child.pid!);
    latencies.sort((a, b) => a - b);
    pongs.sort((a, b) => a - b);
    return {
      engine,
      sockets: visitors.length,
      sent,
      answered: latencies.length,
      rate: sent / (options.durationMs / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
      pingP50: percentile(pongs, 50),
      pingP99: percentile(pongs, 99),
      rssMb,
    };
  } finally {
    for (const s of sockets) s.terminate();
    if (server) await server.stop();
    await bdb.dispose();
  }
}

const rows: Row[] = [];
for (const engine of options.engines) rows.push(await runEngine(engine));
console.log(
  `\n## Chat widget: ${SOCKETS} sockets, ${RATE} messages/s for ${options.durationMs / 1000} s (Node ${process.version})\n`,
);
console.log(
  table(
    [
      'engine',
      'visitor sockets',
      'sent',
      'announced',
      'messages/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'ping p50 / p99 ms',
      'server RSS MB',
      'p99 < 50 ms',
    ],
    rows.map((r) => [
      r.engine,
      fmt.int(r.sockets),
      fmt.int(r.sent),
      fmt.int(r.answered),
      fmt.int(r.rate),
      fmt.ms(r.p50),
      fmt.ms(r.p99),
      fmt.ms(r.max),
      `${fmt.ms(r.pingP50)} / ${fmt.ms(r.pingP99)}`,
      fmt.int(r.rssMb),
      r.p99 < TARGET_P99_MS && r.answered === r.sent ? 'PASS' : 'FAIL',
    ]),
  ),
);
