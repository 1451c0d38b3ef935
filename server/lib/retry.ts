/** Postgres errors that mean "another transaction got there first": run the whole transaction again. */
const RETRYABLE = new Set(['23505', '40001', '40P01']);

export async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = sqlState(err);
      if (i >= attempts || !isRetryable(code)) throw err;
    }
  }
}

/** The SQLSTATE of a database error, from either driver (Drizzle may wrap it as `cause`). */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code;
}

export function isRetryable(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE.has(code);
}
