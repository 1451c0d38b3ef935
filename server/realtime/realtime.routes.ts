/**
 * GET /api/v1/realtime: a WebSocket per signed-in agent. The server pushes
 * `{ type, caseId, eventId }` for every event in the agent's tenant; clients refetch what they show.
 * Signed-in users with a socket open are who `presence` counts as online.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Db } from '../db/client.ts';
import { findSession, resolveCaller, SESSION_COOKIE } from '../http/auth.ts';
import type { Bus } from './bus.ts';
import type { Presence } from './presence.ts';

/** How often open sockets re-check their session, so sign-out everywhere also closes them. */
const RECHECK_MS = 60_000;

export function realtimeRoutes(app: FastifyInstance, db: Db, bus: Bus, presence?: Presence): void {
  const sockets = new Map<string, Set<WebSocket>>();
  const sessionOf = new WeakMap<WebSocket, string>();
  const recheck = setInterval(async () => {
    for (const set of sockets.values()) {
      for (const socket of set) {
        const token = sessionOf.get(socket);
        if (token && !(await findSession(db, token).catch(() => true))) socket.close(4401, 'session ended');
      }
    }
  }, RECHECK_MS);
  recheck.unref();
  const unsubscribe = bus.subscribe((notice) => {
    const set = sockets.get(notice.tenantId);
    // Nodes telling each other who is signed in: nothing a browser needs.
    if (!set || notice.type.startsWith('presence.')) return;
    const frame = JSON.stringify({ type: notice.type, caseId: notice.caseId, eventId: notice.eventId });
    for (const socket of set) if (socket.readyState === socket.OPEN) socket.send(frame);
  });
  app.addHook('onClose', async () => {
    clearInterval(recheck);
    unsubscribe();
    for (const set of sockets.values()) for (const s of set) s.terminate();
  });

  app.get(
    '/api/v1/realtime',
    { websocket: true, config: { permission: 'public' }, schema: { hide: true } },
    async (socket, request) => {
      const caller = await resolveCaller(db, request);
      if (!caller) {
        socket.close(4401, 'unauthenticated');
        return;
      }
      let set = sockets.get(caller.tenantId);
      if (!set) {
        set = new Set();
        sockets.set(caller.tenantId, set);
      }
      set.add(socket);
      const token = request.cookies?.[SESSION_COOKIE];
      if (token) sessionOf.set(socket, token);
      // Signed-in staff count as present (the chat widget goes offline without them); API tokens do not.
      const leave =
        caller.actor.type === 'user' ? presence?.join(caller.tenantId, caller.actor.id) : undefined;
      const closed = () => {
        leave?.();
        set.delete(socket);
        if (set.size === 0) sockets.delete(caller.tenantId);
      };
      socket.on('close', closed);
      // Closed while the caller was being looked up: 'close' has fired already.
      if (socket.readyState !== socket.OPEN) return closed();
      socket.send(JSON.stringify({ type: 'ready' }));
    },
  );
}
