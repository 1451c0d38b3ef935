/**
 * The realtime socket (/api/v1/realtime, same origin, session cookie). The server sends ids, not
 * bodies: `{ type, caseId, eventId }`, and the page refetches what it shows. When the socket
 * drops it reconnects with capped exponential backoff, and tells the caller, who may have
 * missed events meanwhile.
 */
export interface RealtimeFrame {
  type: string;
  caseId: string | null;
  eventId: number;
}

export interface RealtimeHandlers {
  onFrame(frame: RealtimeFrame): void;
  /** Called on every successful (re)connection after the first: refetch everything shown. */
  onResync(): void;
  onStatus?(status: 'connecting' | 'live' | 'offline'): void;
}

const MIN_DELAY = 500;
const MAX_DELAY = 15_000;

export function connectRealtime(handlers: RealtimeHandlers): () => void {
  let socket: WebSocket | null = null;
  let attempt = 0;
  let everConnected = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const open = () => {
    if (stopped) return;
    handlers.onStatus?.('connecting');
    const url = new URL('/api/v1/realtime', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    socket = ws;
    ws.onmessage = (event) => {
      let frame: RealtimeFrame & { type: string };
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (frame.type === 'ready') {
        attempt = 0;
        handlers.onStatus?.('live');
        if (everConnected) handlers.onResync();
        everConnected = true;
        return;
      }
      handlers.onFrame(frame);
    };
    ws.onclose = () => {
      if (socket !== ws || stopped) return;
      handlers.onStatus?.('offline');
      // Jitter spreads the reconnects of many agents after a server restart.
      const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt++;
      timer = setTimeout(open, delay);
    };
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
  };
}
