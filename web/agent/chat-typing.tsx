/**
 * Typing in a chat, both ways: "The visitor is typing…" on the case page while the widget says
 * so (a realtime notice, passed on by useLiveUpdates), and the agent's own typing in the composer
 * sent to the visitor at most every few seconds.
 */
import { Text } from '@mantine/core';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { api, type Case } from '../lib/api.ts';

const EVENT = 'rapport:chat-typing';
/** How long one notice shows the visitor as typing; the widget repeats it every 2 s while they type. */
const SHOWN_MS = 5000;
const SEND_EVERY_MS = 3000;

export function announceTyping(caseId: string | null, typing: boolean): void {
  if (caseId) window.dispatchEvent(new CustomEvent(EVENT, { detail: { caseId, typing } }));
}

export function VisitorTyping({ caseId }: { caseId: string }) {
  const [typing, setTyping] = useState(false);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onTyping = (event: Event) => {
      const detail = (event as CustomEvent<{ caseId: string; typing: boolean }>).detail;
      if (detail.caseId !== caseId) return;
      setTyping(detail.typing);
      clearTimeout(timer);
      if (detail.typing) timer = setTimeout(() => setTyping(false), SHOWN_MS);
    };
    window.addEventListener(EVENT, onTyping);
    return () => {
      window.removeEventListener(EVENT, onTyping);
      clearTimeout(timer);
    };
  }, [caseId]);
  return (
    <Text size="sm" c="dimmed" role="status" className="visitor-typing" data-testid="visitor-typing">
      {typing ? 'The visitor is typing…' : ''}
    </Text>
  );
}

/** Around the composer of a chat case: typing in it tells the visitor. */
export function ChatTypingReporter({ current, children }: { current: Case; children: ReactNode }) {
  const sentAt = useRef(0);
  if (current.channel !== 'chat') return children;
  const onInput = () => {
    if (Date.now() - sentAt.current < SEND_EVERY_MS) return;
    sentAt.current = Date.now();
    // Best effort: a lost notice only means the visitor does not see "typing" this time.
    api.cases.typing(current.id, true).catch(() => {});
  };
  return <div onInput={onInput}>{children}</div>;
}
