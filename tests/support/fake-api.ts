/**
 * The HTTP side of the platform fakes (fake-twilio.ts, fake-meta.ts, fake-x.ts): a server on a
 * free port of 127.0.0.1 that reads each request's body whole and lets `answer` reply with JSON.
 * What a request means, and what the fake records of it, is each platform's own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply = (status: number, json: unknown) => void;

export async function startFakeApi(answer: (req: http.IncomingMessage, body: string, reply: Reply) => void) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () =>
      answer(req, body, (status, json) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
