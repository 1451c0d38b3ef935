/**
 * Email parse throughput: messages per second through parseEmail over the whole Zammad corpus
 * (../shared/corpus/mail/zammad, 33 real messages of 0.2–21 KB), round-robin for a fixed time,
 * beside the raw baseline measured in the same run: reading the same bytes and hashing them
 * with sha256 (what any ingest does before parsing). Single process, one message at a time.
 *
 *   npm run bench -- email-parse [--seconds=5] [--warmup=1]
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEmail } from '../server/modules/email/email.parse.ts';
import { type Measurement, measure } from './lib/measure.ts';
import { benchOptions, fmt, table } from './lib/setup.ts';

const options = benchOptions({ seconds: 5, warmup: 1 });
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(repo, '../shared/corpus/mail/zammad');
const files = fs
  .readdirSync(corpus)
  .filter((f) => f.endsWith('.box'))
  .sort()
  .map((f) => path.join(corpus, f));
const totalBytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
const meanBytes = totalBytes / files.length;

async function run(op: (raw: Buffer) => Promise<unknown>): Promise<Measurement> {
  let next = 0;
  return measure({
    concurrency: 1,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    op: async () => {
      const file = files[next++ % files.length] as string;
      await op(fs.readFileSync(file));
    },
  });
}

/** Mean parse time per corpus file, to name the slowest shapes. */
async function perFile(): Promise<{ name: string; ms: number; bytes: number }[]> {
  const out = [];
  for (const file of files) {
    const raw = fs.readFileSync(file);
    const rounds = 20;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await parseEmail(raw);
    out.push({
      name: path.basename(file, '.box'),
      ms: (performance.now() - started) / rounds,
      bytes: raw.length,
    });
  }
  return out.sort((a, b) => b.ms - a.ms);
}

const raw = await run(async (bytes) => createHash('sha256').update(bytes).digest('hex'));
const parse = await run((bytes) => parseEmail(bytes));
const row = (label: string, m: Measurement) => [
  label,
  fmt.int(m.throughput),
  ((m.throughput * meanBytes) / 1048576).toFixed(1),
  fmt.ms(m.p50),
  fmt.ms(m.p99),
  m.errors,
];

console.log(
  `\nCorpus: ${files.length} messages, ${fmt.int(totalBytes)} bytes (mean ${fmt.int(meanBytes)}); ` +
    `${options.durationMs / 1000} s per row after ${options.warmupMs / 1000} s warm-up, node ${process.version}\n`,
);
console.log(
  table(
    ['work per message', 'messages/s', 'MiB/s', 'p50 ms', 'p99 ms', 'errors'],
    [row('read + sha256 (raw baseline)', raw), row('read + parseEmail', parse)],
  ),
);
const share = (100 * parse.throughput) / raw.throughput;
console.log(
  `\nparseEmail runs at ${share.toFixed(2)} % of the raw baseline's rate (${fmt.ms(1000 / parse.throughput)} ms per message).\n`,
);
const slowest = (await perFile()).slice(0, 5);
console.log(
  table(
    ['slowest corpus files', 'bytes', 'ms per parse'],
    slowest.map((f) => [f.name, fmt.int(f.bytes), fmt.ms(f.ms)]),
  ),
);
if (parse.errors > 0) {
  console.error(`parse errors: ${parse.firstError}`);
  process.exit(1);
}
