/** A chat visitor as the widget is one: a session through the public API and its WebSocket. */
import type { WebSocket } from 'ws';
import type { App } from '../../server/app.ts';
import type { ChatServerFrame } from '../../shared/api/chat.ts';

export interface StartedSession {
  id: string;
  token: string;
  name: string | null;
  email: string | null;
  verified: boolean;
}

/** POST /widget/v1/sessions; throws unless 201. */
export async function startSession(
  app: App,
  channelId: string,
  body: Record<string, unknown> = {},
  remoteAddress = '203.0.113.10',
): Promise<StartedSession> {
  const res = await app.inject({
    method: 'POST',
    url: '/widget/v1/sessions',
    remoteAddress,
    payload: { channel: channelId, ...body },
  });
  if (res.statusCode !== 201) throw new Error(`session failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export interface VisitorSocket {
  ws: WebSocket;
  frames: ChatServerFrame[];
  /** The next frame of `type` (and matching `where`) not taken yet; waits for it. */
  next<T extends ChatServerFrame['type']>(
    type: T,
    where?: (frame: Extract<ChatServerFrame, { type: T }>) => boolean,
  ): Promise<Extract<ChatServerFrame, { type: T }>>;
  send(frame: unknown): void;
  /** Resolves with the close code. */
  closed: Promise<number>;
}

/** Opens the visitor socket; with a token it says hello and waits for `ready`. */
export async function visitorSocket(app: App, token?: string): Promise<VisitorSocket> {
  const frames: ChatServerFrame[] = [];
  const taken = new Set<number>();
  let resolveClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    resolveClosed = resolve;
  });
  const ws: WebSocket = await app.injectWS(
    '/widget/v1/socket',
    {},
    {
      onInit: (socket: WebSocket) => {
        socket.on('message', (data) => frames.push(JSON.parse(String(data))));
        socket.on('close', (code) => resolveClosed(code));
      },
    },
  );
  const visitor: VisitorSocket = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async next(type, where = () => true) {
      const timeoutMs = 5000;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = frames.findIndex((f, n) => f.type === type && !taken.has(n) && where(f as never));
        if (i >= 0) {
          taken.add(i);
          return frames[i] as never;
        }
        if (Date.now() > deadline)
          throw new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  if (token) {
    visitor.send({ type: 'hello', token });
    await visitor.next('ready');
  }
  return visitor;
}
