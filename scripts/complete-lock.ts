/**
 * The npm registry this project builds against lacks Biome's non-Linux binaries, so `npm install`
 * leaves their entries out of package-lock.json, and `npm ci` then refuses the lock as out of
 * sync. This puts the missing optional platform entries back (they are never fetched here).
 * Run it after any `npm install` that rewrites the lock: `npx node scripts/complete-lock.ts`.
 */
import fs from 'node:fs';

type Entry = Record<string, unknown>;
const file = 'package-lock.json';
const lock = JSON.parse(fs.readFileSync(file, 'utf8')) as { packages: Record<string, Entry> };
const biome = lock.packages['node_modules/@biomejs/biome'];
if (!biome) throw new Error('@biomejs/biome is not in the lock');
const version = String(biome.version);
let added = 0;
for (const name of Object.keys((biome.optionalDependencies as Record<string, string>) ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const [, os, cpu, libc] = /cli-(\w+)-(\w+?)(?:-(musl))?$/.exec(name) ?? [];
  if (!os || !cpu) throw new Error(`cannot read the platform of ${name}`);
  lock.packages[key] = {
    version,
    cpu: [cpu],
    dev: true,
    license: 'MIT OR Apache-2.0',
    optional: true,
    os: [os],
    ...(libc ? { libc: [libc] } : {}),
    engines: { node: '>=14.21.3' },
  };
  added++;
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root!, ...rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added ? `added ${added} platform entries to ${file}` : `${file} already complete`);
