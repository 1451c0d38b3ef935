/**
 * Which tenants have staff signed in right now: a count of distinct users with an open realtime
 * socket, per tenant. The chat widget offers live chat only while someone is there.
 *
 * Each node tells the others its own counts through the bus (`presence.node`, never forwarded to
 * browsers): on every change and every HEARTBEAT_MS, and at once when a starting node asks
 * (`presence.query`). A node that stops announcing is forgotten after EXPIRE_MS. The bus sends
 * these only while other nodes listen, so a single node (and PGlite) sends nothing.
 */
import type { Bus, Notice } from './bus.ts';

const HEARTBEAT_MS = 20_000;
const EXPIRE_MS = 3 * HEARTBEAT_MS;
const NIL = '00000000-0000-0000-0000-000000000000';

export interface Presence {
  /** A signed-in user's socket opened; call the returned function when it closes. */
  join(tenantId: string, userId: string): () => void;
  /** Distinct staff users with a socket open, on every node. */
  usersOnline(tenantId: string): number;
  close(): void;
}

interface NodeNotice extends Notice {
  node?: string;
  users?: number;
}

export function createPresence(bus: Bus, nodeId: string): Presence {
  const local = new Map<string, Map<string, number>>();
  const remote = new Map<string, Map<string, { users: number; until: number }>>();
  const announce = (tenantId: string, users: number, type = 'presence.node') => {
    const notice: NodeNotice = { tenantId, type, caseId: null, eventId: 0, node: nodeId, users };
    bus.broadcast(notice);
  };
  const announceAll = () => {
    for (const [tenantId, users] of local) announce(tenantId, users.size);
  };

  const unsubscribe = bus.subscribe((notice: NodeNotice) => {
    if (!notice.type.startsWith('presence.')) return;
    if (notice.type === 'presence.query') return announceAll();
    let nodes = remote.get(notice.tenantId);
    if (!nodes) {
      nodes = new Map();
      remote.set(notice.tenantId, nodes);
    }
    if (!notice.users) nodes.delete(String(notice.node));
    else nodes.set(String(notice.node), { users: notice.users, until: Date.now() + EXPIRE_MS });
  });
  const heartbeat = setInterval(announceAll, HEARTBEAT_MS);
  heartbeat.unref();
  announce(NIL, 0, 'presence.query');

  return {
    join(tenantId, userId) {
      let users = local.get(tenantId);
      if (!users) {
        users = new Map();
        local.set(tenantId, users);
      }
      const before = users.size;
      users.set(userId, (users.get(userId) ?? 0) + 1);
      if (users.size !== before) announce(tenantId, users.size);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        const sockets = (users.get(userId) ?? 1) - 1;
        if (sockets > 0) return void users.set(userId, sockets);
        users.delete(userId);
        if (users.size === 0) local.delete(tenantId);
        announce(tenantId, users.size);
      };
    },
    usersOnline(tenantId) {
      let count = local.get(tenantId)?.size ?? 0;
      const now = Date.now();
      for (const [node, entry] of remote.get(tenantId) ?? []) {
        if (entry.until > now) count += entry.users;
        else remote.get(tenantId)?.delete(node);
      }
      return count;
    },
    close() {
      clearInterval(heartbeat);
      unsubscribe();
      for (const tenantId of local.keys()) announce(tenantId, 0);
      local.clear();
    },
  };
}
