/**
 * What every bench needs: its options, a fresh database per engine (a temporary PGlite data
 * directory as `npm start` would use, or a new PostgreSQL database), and table printing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

export type Engine = 'pglite' | 'postgres';

export interface BenchOptions {
  engines: Engine[];
  warmupMs: number;
  durationMs: number;
}

/** `--engines=pglite,postgres --seconds=10 --warmup=2` */
export function benchOptions(defaults: { seconds: number; warmup: number }): BenchOptions {
  const { values } = parseArgs({
    options: {
      engines: { type: 'string', default: 'pglite,postgres' },
      seconds: { type: 'string', default: String(defaults.seconds) },
      warmup: { type: 'string', default: String(defaults.warmup) },
    },
    strict: false,
  });
  const engines = String(values.engines)
    .split(',')
    .map((e) => e.trim()) as Engine[];
  for (const e of engines) if (e !== 'pglite' && e !== 'postgres') throw new Error(`unknown engine ${e}`);
  return {
    engines,
    durationMs: Number(values.seconds) * 1000,
    warmupMs: Number(values.warmup) * 1000,
  };
}

export interface BenchDatabase {
  engine: Engine;
  /** postgres://… on PostgreSQL, null on PGlite. */
  url: string | null;
  /** PGlite data directory (also holds the server's secret); a scratch directory on PostgreSQL. */
  dataDir: string;
  dispose(): Promise<void>;
}

const SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * BENCH_DATABASE_URL is used as is (and left in place); otherwise a fresh database is created on
 * the local server and dropped afterwards.
 */
export async function benchDatabase(engine: Engine, label: string): Promise<BenchDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `rapport-bench-${label}-`));
  const removeDir = async () => fs.rmSync(dataDir, { recursive: true, force: true });
  if (engine === 'pglite') return { engine, url: null, dataDir, dispose: removeDir };
  if (process.env.BENCH_DATABASE_URL) {
    return { engine, url: process.env.BENCH_DATABASE_URL, dataDir, dispose: removeDir };
  }
  const name = `rapport_bench_${label}_${process.pid}`;
  await admin(`create database ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return {
    engine,
    url: url.toString(),
    dataDir,
    async dispose() {
      await admin(`drop database if exists ${name} with (force)`);
      await removeDir();
    },
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>('select current_setting($$server_version$$) as v');
    return rows[0]!.v;
  } finally {
    await client.end();
  }
}

/** A Markdown table, columns right-aligned except the first. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const rule = `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-GB'),
  ms: (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '–'),
  ratio: (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–'),
  cores: (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2)),
};
