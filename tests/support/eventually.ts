/**
 * Waits until `check` returns something truthy, looking every 20 ms, for work another part
 * finishes on its own (a background sender, a presence notice, a mailbox poller), and returns it.
 * Fails naming what never happened.
 */
type Truthy<T> = Exclude<T, null | undefined | false | 0 | ''>;

export async function eventually<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
