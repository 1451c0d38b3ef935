import { useEffect, useState, useSyncExternalStore } from 'react';

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatRelative(iso: string, now = Date.now()): string {
  const seconds = (Date.parse(iso) - now) / 1000;
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

export function formatAbsolute(iso: string): string {
  return absolute.format(new Date(iso));
}

// One shared minute ticker keeps every "5 min. ago" on the page current.
const listeners = new Set<() => void>();
let minute = Date.now();
let ticker: ReturnType<typeof setInterval> | undefined;
function subscribe(listener: () => void) {
  listeners.add(listener);
  ticker ??= setInterval(() => {
    minute = Date.now();
    for (const l of listeners) l();
  }, 60_000);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };
}

/**
 * "5 min. ago", with the exact time on hover. A native title rather than a tooltip component:
 * a list renders fifty of these.
 */
export function RelativeTime({ iso }: { iso: string }) {
  const now = useSyncExternalStore(subscribe, () => minute);
  return (
    <time dateTime={iso} title={formatAbsolute(iso)}>
      {formatRelative(iso, Math.max(now, Date.now()))}
    </time>
  );
}

/** Whether `iso` is still ahead, re-checked every half minute (a reply window closing while the composer is open). */
export function useStillAhead(iso: string | undefined): boolean {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  return iso !== undefined && Date.parse(iso) > now;
}
