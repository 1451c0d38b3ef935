/**
 * Keeps what the agent sees current: each realtime notice invalidates the case lists, the badge
 * counts and the touched case's detail and timeline. Notices come in bursts (one reply is up to
 * three events), so they are gathered for a moment and applied once.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { connectRealtime } from '../lib/realtime.ts';
import { announceTyping } from './chat-typing.tsx';
import { keys } from './queries.ts';

const GATHER_MS = 120;

export type LiveStatus = 'connecting' | 'live' | 'offline';

export function useLiveUpdates(): LiveStatus {
  const client = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');

  useEffect(() => {
    const touched = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      void client.invalidateQueries({ queryKey: keys.cases });
      void client.invalidateQueries({ queryKey: keys.counts });
      // Case details are keyed by number; there is only ever one or two cached, so refresh them all.
      if (touched.size > 0) void client.invalidateQueries({ queryKey: ['case'] });
      for (const id of touched) void client.invalidateQueries({ queryKey: keys.timeline(id) });
      touched.clear();
    };
    const stop = connectRealtime({
      onFrame(frame) {
        // A chat visitor typing changes nothing stored: the case page shows it, nothing refetches.
        if (frame.type.startsWith('chat.') && frame.type.includes('typing')) {
          if (frame.type !== 'chat.agent_typing') announceTyping(frame.caseId, frame.type === 'chat.typing');
          return;
        }
        if (frame.caseId) touched.add(frame.caseId);
        timer ??= setTimeout(flush, GATHER_MS);
      },
      onResync: () => void client.invalidateQueries(),
      onStatus: setStatus,
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, [client]);

  return status;
}
