/**
 * The real server as a separate process (`node server/main.ts`, what `npm start` runs), for
 * tests and benchmarks that need to kill it, restart it, or keep its load off their own thread.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = repoRoot;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGKILL: no shutdown hooks, no flush; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM: the graceful shutdown; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface ServerOptions {
  /** postgres://… to run on PostgreSQL; otherwise embedded PGlite in dataDir. */
  databaseUrl?: string | null;
  dataDir: string;
  /** Port to listen on; a free one by default. Pass the old one to restart "the same" server. */
  port?: number;
  /** Extra environment (LOG_LEVEL, RAPPORT_SEED_DEMO, …). */
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof for a profile). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/** A port nobody listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server and resolves once GET /api/v1/health answers 200. */
export async function startServerProcess(options: ServerOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(root, 'server', 'main.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: options.databaseUrl ?? '',
      RAPPORT_DATA_DIR: options.dataDir,
      RAPPORT_SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      // Inbound SMTP on a free port: parallel servers must not fight over 2525.
      RAPPORT_SMTP_PORT: '0',
      // IMAP pollers read every tenant's mailboxes in the database: only tests that want them.
      RAPPORT_IMAP: 'false',
      ...options.env,
    },
  });
  let output = '';
  // Always drain the pipes: a full pipe buffer would block the server's writes.
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

  const server: ServerProcess = {
    url,
    child,
    output: () => output,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the server exited before it was ready:\n${output}`);
    try {
      const res = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.kill9();
  throw new Error(`the server did not become ready within ${options.timeoutMs ?? 60_000} ms:\n${output}`);
}

/**
 * Calls a running server's API as an integration would, with a bearer token; fails the test on
 * anything but 2xx and returns the JSON body.
 */
export function integration(server: { url: string }, token: () => string) {
  return async (method: string, url: string, body?: unknown) => {
    const res = await fetch(server.url + url, {
      method,
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
}
