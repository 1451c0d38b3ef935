/**
 * One visitor's WebSocket. The first frame is `hello` with the session token (never in the URL,
 * which proxies and logs keep); then `message`, `typing` and `ping`. Frames are handled one at
 * a time, in order. Anything malformed (not JSON, not a known frame, binary, a second hello)
 * closes the socket with 4400 and stores nothing (SECURITY.md MI-05).
 *
 * Each message is acknowledged with the widget's client id once its contact is committed; a
 * resend of an unacknowledged message after a reconnect finds the stored one (the contact's
 * external id), so nothing is lost and nothing is stored twice.
 */
import { sql } from 'drizzle-orm';
import { Compile } from 'typebox/compile';
import type { WebSocket } from 'ws';
import { CHAT_CLOSE, ChatClientFrame, type ChatServerFrame } from '../../../shared/api/chat.ts';
import { AppError } from '../../errors.ts';
import type { ChatHub, VisitorConnection } from './chat.hub.ts';
import type { ChatLimits, WindowLimiter } from './chat.limits.ts';
import { chatExternalId, findCaseOwner, listSessionMessages, touchSession } from './chat.queries.ts';
import { type ChatDeps, resumeChatSession, sendVisitorMessage } from './chat.sessions.ts';

const frameCheck = Compile(ChatClientFrame);
/** A socket that has not said hello by then is closed. */
const HELLO_MS = 10_000;
/** A visitor typing is announced at most this often. */
const TYPING_EVERY_MS = 2_000;
/** last_seen_at is written at most this often per socket. */
const TOUCH_EVERY_MS = 60_000;
/** How many of its own recent lines a connection remembers, to skip their notices. */
const SENT_KEPT = 64;

export interface SocketDeps extends ChatDeps {
  hub: ChatHub;
  limits: ChatLimits;
  /** Messages per tenant (per node). */
  tenantMessages: WindowLimiter;
  /** Messages per session. */
  sessionMessages: WindowLimiter;
}

export function serveVisitorSocket(socket: WebSocket, deps: SocketDeps): void {
  let conn:
    | (VisitorConnection & { session: Awaited<ReturnType<typeof resumeChatSession>>['session'] })
    | null = null;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();
  let typingSentAt = 0;
  let typingShown = false;
  let touchedAt = Date.now();

  const send = (frame: ChatServerFrame) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
  };
  const close = (code: number, reason: string) => {
    if (!closed) {
      socket.close(code, reason);
      // A client that never answers the close handshake is cut off, not waited for (30 s in ws).
      setTimeout(() => socket.terminate(), 2000).unref();
    }
    closed = true;
    if (conn) deps.hub.remove(conn);
  };
  const helloTimer = setTimeout(() => close(CHAT_CLOSE.unauthenticated, 'say hello first'), HELLO_MS);

  socket.on('close', () => {
    closed = true;
    clearTimeout(helloTimer);
    if (conn) deps.hub.remove(conn);
  });

  socket.on('message', (data, isBinary) => {
    if (closed) return;
    let frame: unknown;
    try {
      if (isBinary) throw new Error('binary');
      frame = JSON.parse(String(data));
    } catch {
      return close(CHAT_CLOSE.malformed, 'frames are JSON text');
    }
    if (!frameCheck.Check(frame)) return close(CHAT_CLOSE.malformed, 'unknown or malformed frame');
    chain = chain
      .then(() => (closed ? undefined : handle(frame as ChatClientFrame)))
      .catch((err) => {
        deps.log.error({ err }, 'chat frame failed');
        // The widget reconnects and resends what was not acknowledged.
        close(1011, 'try again');
      });
  });

  async function handle(frame: ChatClientFrame): Promise<void> {
    if (frame.type === 'hello') return hello(frame.token);
    if (!conn) return close(CHAT_CLOSE.unauthenticated, 'say hello first');
    if (frame.type === 'ping') return send({ type: 'pong' });
    if (frame.type === 'typing') return typing(frame.typing);
    return message(frame.clientId, frame.text);
  }

  async function hello(token: string) {
    if (conn) return close(CHAT_CLOSE.malformed, 'hello twice');
    clearTimeout(helloTimer);
    let found: Awaited<ReturnType<typeof resumeChatSession>>;
    try {
      found = await resumeChatSession(deps.db, token);
    } catch (err) {
      if (err instanceof AppError) return close(CHAT_CLOSE.unauthenticated, 'no such session');
      throw err;
    }
    const { session } = found;
    if (closed) return;
    conn = {
      tenantId: session.tenantId,
      sessionId: session.id,
      caseId: session.caseId,
      sent: new Set(),
      session,
      send,
      close,
    };
    // Every tab holds a socket; a session open in more places than that is someone's script.
    if (deps.hub.sessionConnections(session.id) >= deps.limits.socketsPerSession) {
      return close(CHAT_CLOSE.flooding, 'this chat is open in too many places');
    }
    deps.hub.add(conn);
    const [agent, messages] = await Promise.all([
      session.caseId ? findCaseOwner(deps.db, session.tenantId, session.caseId) : null,
      listSessionMessages(deps.db, session),
    ]);
    send({
      type: 'ready',
      session: {
        id: session.id,
        name: session.visitorName,
        email: session.visitorEmail,
        verified: session.verifiedUserId !== null,
      },
      agent,
      messages,
    });
    await touchSession(deps.db, session.tenantId, session.id, null);
  }

  async function message(clientId: string, text: string) {
    const c = conn!;
    const bySession = deps.sessionMessages.take(c.sessionId);
    const limited = bySession.ok ? deps.tenantMessages.take(c.tenantId) : bySession;
    if (!limited.ok) {
      return send({
        type: 'error',
        code: 'rate_limited',
        clientId,
        message: `Too many messages; wait ${limited.retryAfter} s and send again`,
      });
    }
    if (text.trim() === '') {
      return send({ type: 'error', code: 'message_refused', clientId, message: 'The message is empty' });
    }
    const externalId = chatExternalId(c.sessionId, clientId);
    c.sent.add(externalId);
    if (c.sent.size > SENT_KEPT) c.sent.delete(c.sent.values().next().value!);
    let sent: Awaited<ReturnType<typeof sendVisitorMessage>>;
    try {
      sent = await sendVisitorMessage(deps, c.session, { clientId, text });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      return send({ type: 'error', code: 'message_refused', clientId, message: err.message });
    }
    c.session.lastSeenAt = new Date();
    if (sent.caseId !== c.caseId || Date.now() - touchedAt > TOUCH_EVERY_MS) {
      deps.hub.follow(c.sessionId, sent.caseId);
      c.session.caseId = sent.caseId;
      touchedAt = Date.now();
      await touchSession(deps.db, c.tenantId, c.sessionId, {
        caseId: sent.caseId,
        messageId: sent.message.id,
      });
    }
    send({ type: 'ack', clientId, message: sent.message });
  }

  async function typing(on: boolean) {
    const c = conn!;
    if (!c.caseId) return;
    const now = Date.now();
    if (on && typingShown && now - typingSentAt < TYPING_EVERY_MS) return;
    if (!on && !typingShown) return;
    typingShown = on;
    typingSentAt = now;
    // Not an event of the case's story: a notice the case's viewers show for a moment.
    const notice = JSON.stringify({
      tenantId: c.tenantId,
      type: on ? 'chat.typing' : 'chat.typing_stopped',
      caseId: c.caseId,
      eventId: 0,
      typing: on,
    });
    await deps.db.execute(sql`select pg_notify('rapport_events', ${notice})`);
  }
}
