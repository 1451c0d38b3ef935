import assert from 'node:assert/strict';
import { test } from 'node:test';
import { businessHoursProblems, isWithinHours, localTime } from './business-hours.ts';

const weekdays = (start: string, end: string) => [1, 2, 3, 4, 5].map((day) => ({ day, start, end }));

test('opening hours are read in their own time zone, across daylight saving time', () => {
  const london = { timezone: 'Europe/London', weekly: weekdays('09:00', '17:30') };
  // Monday 2026-03-30 is in British Summer Time: 08:30 UTC is 09:30 in London.
  assert.equal(isWithinHours(london, new Date('2026-03-30T08:30:00Z')), true);
  // Monday 2026-01-05 is GMT: 08:30 UTC is 08:30 in London, before opening.
  assert.equal(isWithinHours(london, new Date('2026-01-05T08:30:00Z')), false);
  assert.equal(isWithinHours(london, new Date('2026-01-05T17:29:00Z')), true);
  assert.equal(isWithinHours(london, new Date('2026-01-05T17:30:00Z')), false, 'the end is exclusive');
  assert.equal(isWithinHours(london, new Date('2026-01-03T12:00:00Z')), false, 'closed on Saturday');
  const tokyo = { timezone: 'Asia/Tokyo', weekly: [{ day: 2, start: '00:00', end: '24:00' }] };
  // Monday 20:00 UTC is already Tuesday 05:00 in Tokyo.
  assert.equal(isWithinHours(tokyo, new Date('2026-01-05T20:00:00Z')), true);
  assert.deepEqual(localTime(new Date('2026-01-05T20:00:00Z'), 'Asia/Tokyo'), { day: 2, minute: 300 });
});

test('no hours means always open; hours that cannot be read mean closed, and say why', () => {
  assert.equal(isWithinHours(undefined, new Date()), true);
  const broken = { timezone: 'Mars/Olympus', weekly: weekdays('09:00', '17:00') };
  assert.equal(isWithinHours(broken, new Date()), false);
  assert.deepEqual(businessHoursProblems(broken), ['timezone: "Mars/Olympus" is not an IANA time zone']);
  assert.deepEqual(
    businessHoursProblems({
      timezone: 'UTC',
      weekly: [
        { day: 8, start: '09:00', end: '10:00' },
        { day: 1, start: '22:00', end: '02:00' },
        { day: 1, start: '9am', end: '10:00' },
      ],
    }),
    [
      'weekly[0].day: 1 (Monday) to 7 (Sunday)',
      'weekly[1]: end must be after start (split a range that passes midnight)',
      'weekly[2]: times are HH:MM',
    ],
  );
});
