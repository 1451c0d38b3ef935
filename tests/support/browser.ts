/**
 * Debian's Chromium through playwright-core (never a downloaded browser), axe-core checks and
 * screenshots into tests/artifacts/ for a person to look at.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { repoRoot } from './server-process.ts';

export const artifactsDir = path.join(repoRoot, 'tests', 'artifacts');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs every axe-core rule on the page as it is now; throws listing each violation. */
export async function assertNoAxeViolations(page: Page, where: string): Promise<void> {
  // Colours judged mid-transition (a dialog fading in) are not the ones anyone reads.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {}))));
  // Evaluated rather than added as a <script>: the app's CSP (rightly) refuses inline scripts.
  const loaded = await page.evaluate(() => 'axe' in window);
  if (!loaded)
    await page.evaluate(
      fs.readFileSync(path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8'),
    );
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: unknown[] }> } }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations as AxeViolation[];
  });
  if (violations.length === 0) return;
  const lines = violations.map(
    (v) =>
      `- ${v.id} (${v.impact}): ${v.help}\n${v.nodes
        .slice(0, 5)
        .map(
          (n) => `    ${JSON.stringify(n.target)} ${n.failureSummary?.split('\n').slice(1).join(' ') ?? ''}`,
        )
        .join('\n')}`,
  );
  throw new Error(`axe found ${violations.length} violation(s) on ${where}:\n${lines.join('\n')}`);
}

/** Signs a staff user in through the sign-in page (dropping any earlier session) and waits for their inbox. */
export async function signIn(
  page: Page,
  serverUrl: string,
  who: { tenant: string; email: string; password: string },
): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${serverUrl}/sign-in`);
  await page.getByLabel('Organisation').fill(who.tenant);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Mine' }).waitFor();
}

/** axe checks a settled page: no loader still spinning, no dialog still fading in. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('.mantine-Loader-root'));
  await page.waitForTimeout(300);
}

/** Saves a full-page screenshot as tests/artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Newest modification time under a file or folder. */
function newestMtime(target: string): number {
  if (!fs.existsSync(target)) return 0;
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(target, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds dist/web with Vite unless it is newer than everything it is built from. */
export function ensureWebBuilt(): void {
  const index = path.join(repoRoot, 'dist', 'web', 'index.html');
  const sources = ['web', 'shared', 'vite.config.ts'].map((p) => newestMtime(path.join(repoRoot, p)));
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= Math.max(...sources)) return;
  const vite = path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (result.status !== 0) throw new Error(`web build failed:\n${result.stdout}\n${result.stderr}`);
}
