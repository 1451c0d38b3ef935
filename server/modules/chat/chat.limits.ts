/**
 * How much one visitor, one address and one tenant may ask of the public widget (SECURITY.md
 * RL-02). Per-IP limits use @fastify/rate-limit on the routes; per-tenant and per-session ones
 * are counted here, per node, in fixed windows, so a flood on one tenant never spends another's.
 */
import { AppError } from '../../errors.ts';

export interface ChatLimits {
  /** New chats (sessions and offline messages) per IP per hour. */
  sessionsPerIpPerHour: number;
  /** New chats per tenant per hour, on each node. */
  sessionsPerTenantPerHour: number;
  /** Visitor messages per session per 10 seconds; more are refused, not stored. */
  messagesPerSessionPer10s: number;
  /** Visitor messages per tenant per minute, on each node. */
  messagesPerTenantPerMinute: number;
  /** Transcripts and uploads per IP per hour. */
  filesPerIpPerHour: number;
  /** Downloads of the chat's files per IP per hour (a file is fetched again on each click). */
  downloadsPerIpPerHour: number;
  transcriptsPerIpPerHour: number;
  /** Transcripts to one address per tenant per day (never a mail cannon). */
  transcriptsPerRecipientPerDay: number;
  /** Open sockets of one session (tabs); one more is closed with 4429. */
  socketsPerSession: number;
}

export const defaultChatLimits: ChatLimits = {
  sessionsPerIpPerHour: 50,
  sessionsPerTenantPerHour: 5000,
  messagesPerSessionPer10s: 20,
  messagesPerTenantPerMinute: 3000,
  filesPerIpPerHour: 30,
  downloadsPerIpPerHour: 300,
  transcriptsPerIpPerHour: 10,
  transcriptsPerRecipientPerDay: 5,
  socketsPerSession: 5,
};

export interface WindowLimiter {
  /** Counts one; false (and seconds until the window ends) once `max` were counted in it. */
  take(key: string): { ok: true } | { ok: false; retryAfter: number };
}

export function windowLimiter(max: number, windowMs: number): WindowLimiter {
  let windowStart = 0;
  let counts = new Map<string, number>();
  return {
    take(key) {
      const now = Date.now();
      if (now - windowStart >= windowMs) {
        windowStart = now;
        counts = new Map();
      }
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n <= max) return { ok: true };
      return { ok: false, retryAfter: Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)) };
    },
  };
}

/** 429 rate_limited with Retry-After (the error handler copies `headers`). */
export function rateLimited(what: string, retryAfter: number): AppError {
  return Object.assign(new AppError('rate_limited', `Too many ${what}; try again in ${retryAfter} s`), {
    headers: { 'retry-after': String(retryAfter) },
  });
}
