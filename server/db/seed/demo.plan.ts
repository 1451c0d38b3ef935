/**
 * The demo's month of history as a list of timed steps (contacts, assignments, replies, notes,
 * status changes), planned up front from a seeded PRNG and then played through the real use
 * cases in time order. A customer's earlier cases always end before their next one starts, so
 * every planned case is its own case; later contacts on other channels become repeats.
 */
import type { Priority } from '../../../shared/domain/cases.ts';
import type { Channel } from '../../../shared/domain/channels.ts';
import { type DemoCustomer, OWNERS, type Prng, SPECIALISTS, STAFF, type TeamName } from './demo.people.ts';
import { PROBLEMS, type Problem } from './demo.problems.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export interface PlannedPatch {
  owner?: string | null;
  team?: TeamName;
  status?: 'open' | 'pending' | 'resolved' | 'closed';
  priority?: Priority;
  reason?: string;
  tags?: string[];
}

interface Base {
  at: Date;
  /** Index of the planned case. */
  caseKey: number;
  customer: number;
  /** Staff key of the actor; null = the system (channels, routing, auto-close). */
  by: string | null;
}
export type Step = Base &
  (
    | { kind: 'contact'; channel: Channel; text: string; subject?: string; first: boolean; reopen: boolean }
    | { kind: 'update'; patch: PlannedPatch }
    | { kind: 'reply' | 'note'; text: string }
  );

type Outcome = 'queued' | 'assigned' | 'open' | 'pending' | 'resolved' | 'closed' | 'reopened';

const SHORT: Channel[] = ['chat', 'sms', 'whatsapp', 'x', 'messenger', 'instagram'];

function channelsOf(c: DemoCustomer): [Channel, number][] {
  const list: [Channel, number][] = [
    ['email', 26],
    ['chat', 18],
    ['phone', 14],
    ['sms', 8],
    ['whatsapp', 8],
    ['portal', 6],
  ];
  if (c.social) list.push([c.social.platform, 22]);
  return list;
}

function pickChannel(rand: Prng, c: DemoCustomer, not?: Channel): Channel {
  const list = channelsOf(c).filter(([ch]) => ch !== not);
  let roll = rand.next() * list.reduce((n, [, w]) => n + w, 0);
  for (const [ch, w] of list) {
    roll -= w;
    if (roll < 0) return ch;
  }
  return list[0]![0];
}

function outcomeFor(rand: Prng, ageDays: number, last: boolean): Outcome {
  if (!last) return rand.chance(0.6) ? 'closed' : 'resolved';
  const table: [Outcome, number][] =
    ageDays < 1
      ? [
          ['queued', 35],
          ['assigned', 20],
          ['open', 30],
          ['pending', 15],
        ]
      : ageDays < 7
        ? [
            ['queued', 5],
            ['assigned', 5],
            ['open', 25],
            ['pending', 25],
            ['resolved', 30],
            ['reopened', 10],
          ]
        : [
            ['open', 5],
            ['pending', 5],
            ['resolved', 40],
            ['closed', 45],
            ['reopened', 5],
          ];
  let roll = rand.next() * 100;
  for (const [o, w] of table) {
    roll -= w;
    if (roll < 0) return o;
  }
  return table[0]![0];
}

const firstName = (key: string) => STAFF.find((s) => s.key === key)!.name.split(' ')[0]!;

/** Plans `target` cases for the customers over the 30 days before `anchor`. */
export function planDemo(rand: Prng, customers: DemoCustomer[], anchor: Date, target: number): Step[] {
  const end = anchor.getTime();
  // Time slots: each customer's latest case leans towards the last few days (a lively inbox);
  // earlier ones go back six to eleven days at a time (a case's story takes at most five).
  let slots: { customer: number; start: number; last: boolean }[] = [];
  customers.forEach((_, customer) => {
    let start = end - 2 * HOUR - Math.floor((30 * DAY - 2 * HOUR) * rand.next() ** 2.2);
    slots.push({ customer, start, last: true });
    for (;;) {
      start -= 6 * DAY + rand.int(0, 5 * 24) * HOUR;
      if (start < end - 30 * DAY) break;
      slots.push({ customer, start, last: false });
    }
  });
  // Thin the older history at random down to the target; every customer keeps a case.
  while (slots.length > target) {
    const earlier = slots.filter((s) => !s.last);
    if (earlier.length === 0) break;
    const drop = earlier[Math.floor(rand.next() * earlier.length)]!;
    slots = slots.filter((s) => s !== drop);
  }
  slots.sort((a, b) => a.start - b.start);

  const steps: Step[] = [];
  const seen = new Set<number>();
  slots.forEach((slot, caseKey) => {
    const later = slots.find((s, i) => i > caseKey && s.customer === slot.customer);
    const limit = later ? later.start - HOUR : end - 5 * MIN;
    const customer = customers[slot.customer]!;
    const problem = rand.pick(PROBLEMS);
    const outcome = outcomeFor(rand, (end - slot.start) / DAY, !later);
    const planned = planCase(rand, {
      caseKey,
      slot,
      limit,
      customer,
      problem,
      outcome,
      first: !seen.has(slot.customer),
    });
    seen.add(slot.customer);
    steps.push(...planned);
  });
  // Stable sort keeps each case's own steps in order when times tie.
  return steps.sort((a, b) => a.at.getTime() - b.at.getTime());
}

interface CaseInput {
  caseKey: number;
  slot: { customer: number; start: number };
  limit: number;
  customer: DemoCustomer;
  problem: Problem;
  outcome: Outcome;
  first: boolean;
}

function planCase(rand: Prng, input: CaseInput): Step[] {
  const { caseKey, customer, problem, outcome } = input;
  const steps: Step[] = [];
  let t = input.slot.start;
  let open = true;
  const base = (by: string | null): Base => ({ at: new Date(t), caseKey, customer: input.slot.customer, by });
  /** Moves the clock on; steps that would fall after the limit have not happened yet. */
  const after = (minMinutes: number, maxMinutes: number) => {
    t += rand.int(minMinutes, maxMinutes) * MIN;
    if (t > input.limit) open = false;
    return open;
  };
  const fill = (text: string, agent = '') =>
    text.replaceAll('{first}', customer.first).replaceAll('{agent}', agent);

  const channel = pickChannel(rand, customer);
  const team: TeamName = SHORT.includes(channel) && channel !== 'chat' ? 'Social Care' : problem.team;
  const owner = rand.pick(OWNERS[team]);
  const text = channel === 'phone' ? problem.call : SHORT.includes(channel) ? problem.short : problem.long;
  steps.push({
    ...base(null),
    kind: 'contact',
    channel,
    text: fill(text),
    subject: channel === 'email' || channel === 'portal' || channel === 'phone' ? problem.subject : undefined,
    first: input.first,
    reopen: false,
  });
  const chase = (index: number) => {
    if (!after(90, 26 * 60)) return false;
    const on = pickChannel(rand, customer, channel);
    const line = problem.chase[Math.min(index, problem.chase.length - 1)]!;
    steps.push({ ...base(null), kind: 'contact', channel: on, text: line, first: false, reopen: false });
    return true;
  };
  const triage: PlannedPatch = { priority: problem.priority, reason: problem.reason, tags: problem.tags };

  if (outcome === 'queued') {
    if (after(1, 3)) steps.push({ ...base(null), kind: 'update', patch: { team, ...triage } });
    if (rand.chance(0.45) && chase(0) && rand.chance(0.4) && after(5, 60)) {
      steps.push({
        ...base('priya'),
        kind: 'update',
        patch: { priority: 'high', tags: [...problem.tags, 'chased'] },
      });
    }
    return steps;
  }
  const assigner = rand.chance(0.6) ? 'priya' : owner;
  if (!after(5, 90)) return steps;
  steps.push({ ...base(assigner), kind: 'update', patch: { owner, team, ...triage } });
  if (outcome === 'assigned') {
    if (rand.chance(0.3)) chase(0);
    return steps;
  }
  if (!after(10, 240)) return steps;
  steps.push({ ...base(owner), kind: 'reply', text: fill(problem.replies[0]!, firstName(owner)) });
  const engineer = rand.pick(SPECIALISTS);
  if ((team === 'Engineering' || rand.chance(0.4)) && after(30, 360)) {
    steps.push({ ...base(team === 'Engineering' ? engineer : owner), kind: 'note', text: problem.notes[0]! });
  }
  if (rand.chance(0.4) && chase(0)) {
    if (rand.chance(0.3) && problem.chase.length > 1) chase(1);
    const again =
      problem.replies[1] ?? "Thanks {first}, I'm on it and will update you as soon as I can. {agent}";
    if (after(20, 120)) steps.push({ ...base(owner), kind: 'reply', text: fill(again, firstName(owner)) });
  }
  if (problem.notes[1] && team === 'Engineering' && after(60, 600)) {
    steps.push({ ...base(engineer), kind: 'note', text: problem.notes[1] });
  }
  if (outcome === 'open') return steps;
  if (outcome === 'pending') {
    if (after(1, 5)) steps.push({ ...base(owner), kind: 'update', patch: { status: 'pending' } });
    return steps;
  }
  if (!after(4 * 60, 36 * 60)) return steps;
  steps.push({ ...base(owner), kind: 'reply', text: fill(problem.resolution, firstName(owner)) });
  if (!after(1, 10)) return steps;
  steps.push({ ...base(owner), kind: 'update', patch: { status: 'resolved' } });
  if (outcome === 'closed' && after(3 * 24 * 60, 4 * 24 * 60)) {
    steps.push({ ...base(null), kind: 'update', patch: { status: 'closed' } });
  }
  if (outcome === 'reopened' && after(12 * 60, 3 * 24 * 60)) {
    const on = pickChannel(rand, customer);
    steps.push({
      ...base(null),
      kind: 'contact',
      channel: on,
      text: problem.reopen,
      first: false,
      reopen: true,
    });
    if (after(15, 180)) {
      steps.push({
        ...base(owner),
        kind: 'note',
        text: 'Customer came back on this case after we resolved it; reopened.',
      });
    }
  }
  return steps;
}
