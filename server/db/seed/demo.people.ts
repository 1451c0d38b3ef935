/**
 * The people of the demo organisation: Northwind Broadband's staff and teams, and ~50 customers
 * with their identities. All fictional; addresses are at reserved example domains and phone
 * numbers are in a UK mobile range that validates (+44 7911 1xxxxx).
 */
import type { Role } from '../../../shared/domain/roles.ts';

export const DEMO_DOMAIN = 'northwind-broadband.example';

export const TEAMS = ['Customer Care', 'Social Care', 'Billing', 'Engineering'] as const;
export type TeamName = (typeof TEAMS)[number];

export interface StaffMember {
  key: string;
  name: string;
  role: Role;
  teams: TeamName[];
  bio: string;
  signature: string;
}

const sign = (first: string, team: string) => `${first}\n${team} · Northwind Broadband`;

/** The first entry is the demo sign-in (DEMO_SIGN_IN): an agent in Customer Care. */
export const STAFF: StaffMember[] = [
  {
    key: 'alex',
    name: 'Alex Morgan',
    role: 'agent',
    teams: ['Customer Care'],
    bio: 'Six years on the phones and now in every channel. Happiest when a fault is fixed first time.',
    signature: sign('Alex', 'Customer Care'),
  },
  {
    key: 'jamie',
    name: 'Jamie Okafor',
    role: 'agent',
    teams: ['Customer Care'],
    bio: 'Home moves and new connections are my speciality; ask me about getting online on day one.',
    signature: sign('Jamie', 'Customer Care'),
  },
  {
    key: 'tom',
    name: 'Tom Becker',
    role: 'agent',
    teams: ['Customer Care', 'Social Care'],
    bio: 'Covers evenings and weekends across care and social. Former field engineer.',
    signature: sign('Tom', 'Customer Care'),
  },
  {
    key: 'sofia',
    name: 'Sofia Lindqvist',
    role: 'agent',
    teams: ['Social Care'],
    bio: 'Looks after our customers on X, Instagram, Messenger and WhatsApp.',
    signature: sign('Sofia', 'Social Care'),
  },
  {
    key: 'hannah',
    name: 'Hannah Price',
    role: 'agent',
    teams: ['Billing'],
    bio: 'Bills, refunds and payment plans. If a charge looks wrong, I will find out why.',
    signature: sign('Hannah', 'Billing'),
  },
  {
    key: 'priya',
    name: 'Priya Desai',
    role: 'supervisor',
    teams: ['Customer Care', 'Social Care', 'Billing'],
    bio: 'Leads the care, social and billing teams. Escalations and complaints land with me.',
    signature: sign('Priya', 'Customer Experience'),
  },
  {
    key: 'morgan',
    name: 'Morgan Ellis',
    role: 'admin',
    teams: [],
    bio: 'Runs Rapport for Northwind: teams, access and integrations.',
    signature: sign('Morgan', 'Operations'),
  },
  {
    key: 'ravi',
    name: 'Ravi Chandran',
    role: 'specialist',
    teams: ['Engineering'],
    bio: 'Network engineer for the northern exchanges. Line tests, faults and outages.',
    signature: sign('Ravi', 'Network Engineering'),
  },
  {
    key: 'elena',
    name: 'Elena Novak',
    role: 'specialist',
    teams: ['Engineering'],
    bio: 'Schedules and follows up engineer visits and installations.',
    signature: sign('Elena', 'Field Engineering'),
  },
  {
    key: 'owen',
    name: 'Owen Gallagher',
    role: 'specialist',
    teams: ['Engineering'],
    bio: 'Routers, Wi-Fi and everything in the home network.',
    signature: sign('Owen', 'Home Network Support'),
  },
];

export const staffEmail = (s: StaffMember) => `${s.key}@${DEMO_DOMAIN}`;

/** Who owns a case of each team (Engineering cases stay with an accountable care agent). */
export const OWNERS: Record<TeamName, string[]> = {
  'Customer Care': ['alex', 'alex', 'alex', 'jamie', 'tom'],
  'Social Care': ['sofia', 'tom', 'sofia'],
  Billing: ['hannah', 'hannah', 'alex'],
  Engineering: ['alex', 'alex', 'jamie', 'tom'],
};
export const SPECIALISTS = ['ravi', 'elena', 'owen'];

export const ORGANISATIONS = [
  { name: 'Harbour Lane Bakery', domain: 'harbourlane-bakery.example' },
  { name: 'Kestrel Accountancy', domain: 'kestrel-accountancy.example' },
  { name: 'Millbrook Veterinary Surgery', domain: 'millbrook-vets.example' },
];

const FIRST = (
  'Amelia Oliver Isla George Ava Arthur Freya Noah Poppy Leo Evie Harry Rosie Theo Maya ' +
  'Finn Aisha Jack Zara Oscar Imogen Rhys Niamh Callum Chloe Ewan Grace Kofi Hana Samir ' +
  'Lucy Declan Megan Tariq Ellie Dylan Sian Marek Layla Joe'
).split(' ');
const LAST = (
  'Hughes Patel Wright Begum Turner Fletcher Nowak Campbell Ahmed Walsh Griffiths Mensah ' +
  'Thornton Reilly Khan Doyle Parry Okoro Sutherland Barker Iqbal Morrison Lloyd Kowalski ' +
  'Ferguson Hale Osei Pritchard Whitfield Sharma'
).split(' ');
const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example'];
const SOCIAL = ['x', 'instagram', 'messenger'] as const;

export interface DemoCustomer {
  name: string;
  first: string;
  email: string;
  phone: string;
  chat: string;
  social: { platform: (typeof SOCIAL)[number]; handle: string } | null;
  organisation: string | null;
}

/** Deterministic 32-bit PRNG (mulberry32): the same seed always gives the same organisation. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!,
    chance: (p: number) => next() < p,
  };
}
export type Prng = ReturnType<typeof prng>;

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

export function demoCustomers(rand: Prng, count: number): DemoCustomer[] {
  const list: DemoCustomer[] = [];
  const names = new Set<string>();
  const phones = new Set<number>();
  while (list.length < count) {
    const first = rand.pick(FIRST);
    const last = rand.pick(LAST);
    const name = `${first} ${last}`;
    if (names.has(name)) continue;
    names.add(name);
    let phone = rand.int(10000, 99999);
    while (phones.has(phone)) phone = rand.int(10000, 99999);
    phones.add(phone);
    // A few customers write from their business; the rest from personal addresses.
    const org = list.length % 9 === 4 ? ORGANISATIONS[((list.length / 9) % ORGANISATIONS.length) | 0]! : null;
    const email = org
      ? `${slug(first)}@${org.domain}`
      : `${slug(first)}.${slug(last)}${rand.chance(0.3) ? rand.int(1, 99) : ''}@${rand.pick(EMAIL_DOMAINS)}`;
    const platform = rand.chance(0.45) ? rand.pick(SOCIAL) : null;
    const handle =
      platform === 'messenger'
        ? String(rand.int(1_000_000, 9_999_999)) + String(rand.int(10_000_000, 99_999_999))
        : platform === 'instagram'
          ? `${slug(first)}.${slug(last)}`
          : `${slug(first)}${slug(last).slice(0, 3)}${rand.int(10, 99)}`;
    list.push({
      name,
      first,
      email,
      phone: `+4479111${phone}`,
      chat: `v_${Math.floor(rand.next() * 0xffffffff)
        .toString(16)
        .padStart(8, '0')}`,
      social: platform ? { platform, handle } : null,
      organisation: org?.name ?? null,
    });
  }
  return list;
}
