/**
 * Counts the SQL statements (each one a round trip to PostgreSQL) one request makes, by watching
 * node-postgres's Client#query while the app answers it in-process. Only meaningful on the `pg`
 * driver; the app issues the same statements on PGlite.
 */
import pg from 'pg';

type QueryFn = (...args: unknown[]) => unknown;

export interface RoundTrips {
  /** Statements while the request was answered (auth, the write). */
  request: number;
  statements: string[];
}

export async function roundTrips(
  inject: () => Promise<{ statusCode: number; body: string }>,
): Promise<RoundTrips> {
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  const statements: string[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    statements.push(compact(typeof first === 'string' ? first : (first?.text ?? '?')));
    return original.apply(this, args);
  };
  try {
    const res = await inject();
    if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${res.body}`);
    return { request: statements.length, statements };
  } finally {
    proto.query = original;
  }
}

function compact(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 90 ? `${one.slice(0, 89)}…` : one;
}
