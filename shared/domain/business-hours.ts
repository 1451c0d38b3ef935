/**
 * Weekly opening hours in a time zone: is a channel staffed at a given instant? Used by the chat
 * widget to choose between live chat and the offline form. Pure; the zone rules come from Intl.
 */

/** One opening on a weekday (ISO: 1 = Monday … 7 = Sunday), local time `HH:MM`, end exclusive. */
export interface OpeningRange {
  day: number;
  start: string;
  end: string;
}

export interface BusinessHours {
  /** IANA time zone, such as Europe/London. */
  timezone: string;
  weekly: OpeningRange[];
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function minutes(time: string): number {
  const [h, m] = time.split(':');
  return Number(h) * 60 + Number(m);
}

/** What is wrong with these hours, one line per problem; empty when they are usable. */
export function businessHoursProblems(hours: BusinessHours): string[] {
  const problems: string[] = [];
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: hours.timezone });
  } catch {
    problems.push(`timezone: "${hours.timezone}" is not an IANA time zone`);
  }
  hours.weekly.forEach((r, i) => {
    if (!Number.isInteger(r.day) || r.day < 1 || r.day > 7)
      problems.push(`weekly[${i}].day: 1 (Monday) to 7 (Sunday)`);
    if (!TIME.test(r.start) || !TIME.test(r.end)) problems.push(`weekly[${i}]: times are HH:MM`);
    else if (minutes(r.start) >= minutes(r.end))
      problems.push(`weekly[${i}]: end must be after start (split a range that passes midnight)`);
  });
  return problems;
}

/** Weekday (1-7) and minute of the day at `at` in `timezone`. */
export function localTime(at: Date, timezone: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: WEEKDAYS[part('weekday')] ?? 0, minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

/**
 * Open at `at`? No hours at all means always open; hours that cannot be read (an unknown zone)
 * mean closed, so visitors get the offline form rather than a chat nobody answers.
 */
export function isWithinHours(hours: BusinessHours | null | undefined, at: Date): boolean {
  if (!hours) return true;
  if (businessHoursProblems(hours).length > 0) return false;
  const now = localTime(at, hours.timezone);
  return hours.weekly.some(
    (r) => r.day === now.day && minutes(r.start) <= now.minute && now.minute < minutes(r.end),
  );
}
