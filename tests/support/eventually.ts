/**
 * Waits until `check` holds, looking every 20 ms, for work another part finishes on its own
 * (a background sender, a presence notice). Fails naming what never happened.
 */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
