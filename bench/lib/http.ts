/**
 * The load generator's HTTP client: undici's keep-alive pool, one connection per concurrent
 * client, as an integration posting contacts (or an agent's browser) keeps its connection open.
 * It shares the machine with the server under test, so it is the leanest client Node has
 * (about half the CPU per request of node:http's).
 */
import { Pool } from 'undici';

export interface Response {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function createClient(baseUrl: string, sockets: number) {
  const pool = new Pool(baseUrl, { connections: sockets, pipelining: 1 });

  async function request(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<Response> {
    const res = await pool.request({
      method,
      path,
      headers:
        body === undefined || headers['content-type']
          ? headers
          : { ...headers, 'content-type': 'application/json' },
      body,
    });
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
  }

  return { request, close: () => pool.destroy() };
}

export type Client = ReturnType<typeof createClient>;
