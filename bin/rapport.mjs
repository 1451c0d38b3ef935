#!/usr/bin/env node
// `npx rapport …`: the operator CLI (server/cli/main.ts). Plain JavaScript so that any Node can
// start it: Rapport is TypeScript run by Node 24's type stripping, so on an older Node this
// re-runs the CLI with the Node 24 the project installs (the `node` devDependency).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'server', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  await import(pathToFileURL(entry).href);
} else {
  const node = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
  if (!fs.existsSync(node)) {
    process.stderr.write(
      `rapport: needs Node 24 or later (this is ${process.version}), and the project's own Node 24 ` +
        `is not installed in ${path.join(root, 'node_modules')}: run "npm ci" first.\n`,
    );
    process.exit(3);
  }
  const child = spawn(node, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  // The child is in our process group, so a terminal's Ctrl-C reaches it directly; signals sent
  // to this process alone (kill <pid>) are passed on.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('error', (err) => {
    process.stderr.write(`rapport: could not start ${node}: ${err.message}\n`);
    process.exit(3);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}
