/**
 * The visitor sockets open on this node, by session and by case, and what reaches them from
 * other people: an event on a watched case arrives as a bus notice (from any node), and the
 * hub reads what it announced — a message on the case's chat (an agent's reply, the visitor's
 * own from another tab), a new owner (name and photo), an agent typing — and pushes it. The
 * connection that sent a line was answered with it already and is skipped (`sent`).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ChatServerFrame } from '../../../shared/api/chat.ts';
import type { Db } from '../../db/client.ts';
import type { Bus, Notice } from '../../realtime/bus.ts';
import { findCaseOwner, findMessageOfEvent } from './chat.queries.ts';

export interface VisitorConnection {
  tenantId: string;
  sessionId: string;
  /** The case the session's messages go to now; null before the first one. */
  caseId: string | null;
  /** External ids of the lines this connection sent lately: their notices need no push back. */
  sent: Set<string>;
  send(frame: ChatServerFrame): void;
  close(code: number, reason: string): void;
}

export interface ChatHub {
  add(conn: VisitorConnection): void;
  remove(conn: VisitorConnection): void;
  /** The session's messages now go to `caseId`: its connections follow that case. */
  follow(sessionId: string, caseId: string): void;
  /** A frame to every connection of a session on this node. */
  toSession(sessionId: string, frame: ChatServerFrame): void;
  /** Open connections of one session (the widget in several tabs). */
  sessionConnections(sessionId: string): number;
  size(): number;
  close(): void;
}

/** Sent by the agent typing route; `name` is who types. */
interface TypingNotice extends Notice {
  name?: string | null;
  typing?: boolean;
}

export function createChatHub(options: { db: Db; log: FastifyBaseLogger; bus: Bus }): ChatHub {
  const { db, log } = options;
  const bySession = new Map<string, Set<VisitorConnection>>();
  const byCase = new Map<string, Set<VisitorConnection>>();
  const put = (map: Map<string, Set<VisitorConnection>>, key: string, conn: VisitorConnection) => {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    set.add(conn);
  };
  const drop = (map: Map<string, Set<VisitorConnection>>, key: string | null, conn: VisitorConnection) => {
    if (key === null) return;
    const set = map.get(key);
    set?.delete(conn);
    if (set?.size === 0) map.delete(key);
  };
  const watchers = (notice: Notice) =>
    [...(byCase.get(notice.caseId ?? '') ?? [])].filter(
      (c) => c.tenantId === notice.tenantId && !(notice.externalId && c.sent.has(notice.externalId)),
    );

  async function deliver(notice: TypingNotice, to: VisitorConnection[]) {
    switch (notice.type) {
      case 'contact.received':
      case 'message.replied': {
        const found = await findMessageOfEvent(db, notice.tenantId, notice.eventId);
        if (found) for (const c of to) c.send({ type: 'message', message: found.message });
        return;
      }
      case 'case.owner_changed': {
        const agent = await findCaseOwner(db, notice.tenantId, notice.caseId!);
        if (agent) for (const c of to) c.send({ type: 'agent', agent });
        return;
      }
      case 'chat.agent_typing':
        for (const c of to)
          c.send({ type: 'typing', typing: notice.typing !== false, name: notice.name ?? null });
    }
  }

  const unsubscribe = options.bus.subscribe((notice) => {
    if (!notice.caseId || !byCase.has(notice.caseId)) return;
    // A contact on another channel (an email on the chat's case) is not shown in the widget.
    if (notice.type === 'contact.received' && notice.channel !== 'chat') return;
    const to = watchers(notice);
    if (to.length === 0) return;
    deliver(notice, to).catch((err) => log.warn({ err, type: notice.type }, 'chat push failed'));
  });

  return {
    add(conn) {
      put(bySession, conn.sessionId, conn);
      if (conn.caseId) put(byCase, conn.caseId, conn);
    },
    remove(conn) {
      drop(bySession, conn.sessionId, conn);
      drop(byCase, conn.caseId, conn);
    },
    follow(sessionId, caseId) {
      for (const c of bySession.get(sessionId) ?? []) {
        if (c.caseId === caseId) continue;
        drop(byCase, c.caseId, c);
        c.caseId = caseId;
        put(byCase, caseId, c);
      }
    },
    toSession(sessionId, frame) {
      for (const c of bySession.get(sessionId) ?? []) c.send(frame);
    },
    sessionConnections: (sessionId) => bySession.get(sessionId)?.size ?? 0,
    size: () => [...bySession.values()].reduce((n, s) => n + s.size, 0),
    close() {
      unsubscribe();
      for (const set of bySession.values()) for (const c of set) c.close(1001, 'server stopping');
      bySession.clear();
      byCase.clear();
    },
  };
}
