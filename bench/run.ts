/**
 * `npm run bench [-- <name…>] [--engines=pglite,postgres] [--seconds=N] [--warmup=N] [--cases=N]`:
 * runs the benches in bench/*.bench.ts (all, or the named ones) one after another, each in its
 * own process so one bench's heap and open handles cannot colour the next. Flags go to every bench.
 * Results go to stdout; docs/performance.md records a run and the machine it ran on.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const available = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const unknown = names.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  console.error(`No bench named ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const name of names.length > 0 ? names : available) {
  console.log(`\n# bench: ${name} (${new Date().toISOString()})`);
  const result = spawnSync(process.execPath, [path.join(dir, `${name}.bench.ts`), ...flags], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error(`bench ${name} failed (exit ${result.status ?? result.signal})`);
    failed++;
  }
}
process.exit(failed > 0 ? 1 : 0);
