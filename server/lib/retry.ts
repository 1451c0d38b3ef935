/** Postgres errors that mean "another transaction got there first": run the whole transaction again. */
const RETRYABLE = new Set(['23505', '40001', '40P01']);

export async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code =
        (err as { code?: string; cause?: { code?: string } }).code ??
        (err as { cause?: { code?: string } }).cause?.code;
      if (i >= attempts || !code || !RETRYABLE.has(code)) throw err;
    }
  }
}
