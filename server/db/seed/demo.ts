/**
 * The demo organisation (slug `demo`): Northwind Broadband, a fictional broadband provider with
 * its staff and teams, ~50 customers and ~100 cases from the past month across every channel.
 * Created on an empty database by `npm start` and on demand by `rapport seed demo`.
 *
 * The history is played through the real use cases (intake, case updates, replies, notes), so
 * counters, repeats and events are exactly what the product would have produced. Each step runs
 * with the clock set to its planned time; afterwards the rows it wrote are stamped with that
 * time, since several columns default to the database's now(). Everything happens in one
 * transaction: the demo appears whole or not at all.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { CaseUpdate } from '../../../shared/api/cases.ts';
import type { Channel } from '../../../shared/domain/channels.ts';
import { type Actor, type Ctx, systemActor } from '../../context.ts';
import { updateCase } from '../../modules/cases/update-case.ts';
import { createChannel } from '../../modules/channels/channels.service.ts';
import { receiveContact } from '../../modules/contacts/receive-contact.ts';
import { identityForChannel } from '../../modules/customers/customers.identity.ts';
import { addMessage } from '../../modules/messages/add-message.ts';
import { countTenants, createTeam, createTenant, createUser } from '../../modules/tenants/tenants.service.ts';
import { type Db, rows, sql } from '../client.ts';
import { customerIdentities, organisations } from '../schema/index.ts';
import {
  type DemoCustomer,
  demoCustomers,
  ORGANISATIONS,
  prng,
  STAFF,
  staffEmail,
  TEAMS,
} from './demo.people.ts';
import { planDemo } from './demo.plan.ts';

export const DEMO_SIGN_IN = {
  tenant: 'demo',
  email: 'alex@northwind-broadband.example',
  password: 'rapport-demo-2026',
};

/** The demo organisation's email channel: mail sent here (port 2525 by default) opens cases. */
export const DEMO_SUPPORT_ADDRESS = 'support@northwind-broadband.example';

export interface DemoSummary {
  tenantId: string;
  slug: string;
  name: string;
  staff: number;
  customers: number;
  cases: number;
}

const SEED = 20_260_101;
const CUSTOMERS = 50;
const CASES = 100;
/** Advisory lock key: two nodes starting on an empty PostgreSQL database seed it once. */
const SEED_LOCK = 7_240_002;

/** Creates the demo organisation; refuses (conflict) when slug `demo` exists. */
export async function seedDemo(db: Db): Promise<DemoSummary> {
  return db.transaction((tx) => seedInto(tx as unknown as Db));
}

/** Seeds the demo when the database has no organisation at all; true when it did. */
export async function seedDemoIfEmpty(db: Db): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SEED_LOCK})`);
    if ((await countTenants(tx)) > 0) return false;
    await seedInto(tx as unknown as Db);
    return true;
  });
}

const silentLog = {
  level: 'silent',
  fatal() {},
  error() {},
  warn() {},
  info() {},
  debug() {},
  trace() {},
  silent() {},
  child: () => silentLog,
} as unknown as FastifyBaseLogger;

async function seedInto(db: Db): Promise<DemoSummary> {
  // Inside one transaction now() is fixed: every row this seed writes without an explicit time
  // carries exactly this instant, which is how the stamping below finds them.
  const [clock] = await rows<{ now: string | Date }>(db, sql`select now() as now`);
  const wallClock = new Date(clock!.now);
  const anchor = new Date(wallClock.getTime() - 10 * 60_000);

  const tenant = await createTenant(db, { slug: DEMO_SIGN_IN.tenant, name: 'Northwind Broadband' });
  const tenantId = tenant.id;
  const teamIds = new Map<string, string>();
  for (const name of TEAMS) teamIds.set(name, (await createTeam(db, tenantId, name)).id);
  await createChannel(db, tenantId, {
    type: 'email',
    name: 'Support',
    address: DEMO_SUPPORT_ADDRESS,
    settings: { acknowledgement: { enabled: true, locale: 'en' } },
  });
  const staff = new Map<string, Actor>();
  for (const s of STAFF) {
    const user = await createUser(db, tenantId, {
      email: staffEmail(s),
      displayName: s.name,
      role: s.role,
      password: DEMO_SIGN_IN.password,
      bio: s.bio,
      signature: s.signature,
      teamIds: s.teams.map((t) => teamIds.get(t)!),
    });
    staff.set(s.key, { type: 'user', id: user.id, role: s.role, sessionId: null });
  }
  const orgIds = new Map<string, string>();
  for (const org of ORGANISATIONS) {
    const [row] = await db
      .insert(organisations)
      .values({ tenantId, ...org })
      .returning();
    orgIds.set(org.name, row!.id);
  }

  const rand = prng(SEED);
  const customers = demoCustomers(rand, CUSTOMERS);
  const steps = planDemo(rand, customers, anchor, CASES);

  let now = anchor;
  const ctx: Ctx = { tenantId, actor: systemActor, db, log: silentLog, now: () => now };
  const caseIds = new Map<number, { id: string; number: number }>();
  const customerIds = new Map<number, string>();

  for (const step of steps) {
    now = step.at;
    const actor = step.by ? staff.get(step.by)! : systemActor;
    const stepCtx = { ...ctx, actor };
    const known = caseIds.get(step.caseKey);
    let messageId: string | null = null;
    if (step.kind === 'contact') {
      const customer = customers[step.customer]!;
      const result = await receiveContact(stepCtx, {
        channel: step.channel,
        from: { identity: identityOn(customer, step.channel), name: customer.name },
        text: step.text,
        subject: step.subject,
        receivedAt: step.at.toISOString(),
        caseNumber: step.reopen ? known!.number : undefined,
      });
      // The plan guarantees each planned case is one case; say so loudly if that ever breaks.
      if (known ? result.case.id !== known.id : result.repeat) {
        throw new Error(`demo seed: contact for planned case ${step.caseKey} landed on the wrong case`);
      }
      caseIds.set(step.caseKey, { id: result.case.id, number: result.case.number });
      if (step.first) {
        customerIds.set(step.customer, result.customer.id);
        await linkIdentities(db, tenantId, result.customer.id, customer, orgIds);
      }
    } else if (step.kind === 'update') {
      const { owner, team, ...rest } = step.patch;
      const patch: CaseUpdate = { ...rest };
      if (owner !== undefined) patch.ownerId = owner ? (staff.get(owner)!.id as string) : null;
      if (team) patch.teamId = teamIds.get(team)!;
      await updateCase(stepCtx, known!.id, patch);
    } else {
      messageId = (await addMessage(stepCtx, known!.id, { kind: step.kind, text: step.text })).message.id;
    }
    await stamp(db, tenantId, wallClock, step.at, {
      caseId: caseIds.get(step.caseKey)!.id,
      customerId: customerIds.get(step.customer)!,
      newCustomer: step.kind === 'contact' && step.first,
      contact: step.kind === 'contact',
      messageId,
    });
  }

  return {
    tenantId,
    slug: tenant.slug,
    name: tenant.name,
    staff: STAFF.length,
    customers: customerIds.size,
    cases: caseIds.size,
  };
}

function identityOn(customer: DemoCustomer, channel: Channel): string {
  switch (channel) {
    case 'email':
    case 'portal':
      return customer.email;
    case 'chat':
      return customer.chat;
    case 'x':
      return `@${customer.social!.handle}`;
    case 'instagram':
    case 'messenger':
      return customer.social!.handle;
    default:
      return customer.phone;
  }
}

/** Gives a new customer all their known addresses, as an agent would after a first contact. */
async function linkIdentities(
  db: Db,
  tenantId: string,
  customerId: string,
  customer: DemoCustomer,
  orgIds: Map<string, string>,
): Promise<void> {
  const channels: Channel[] = ['email', 'phone', 'chat'];
  if (customer.social) channels.push(customer.social.platform);
  const values = channels.map((ch) => ({
    tenantId,
    customerId,
    ...identityForChannel(ch, identityOn(customer, ch)),
  }));
  await db.insert(customerIdentities).values(values).onConflictDoNothing();
  if (customer.organisation) {
    await db.execute(
      sql`update customers set organisation_id = ${orgIds.get(customer.organisation)!}
          where tenant_id = ${tenantId} and id = ${customerId}`,
    );
  }
}

interface Written {
  caseId: string;
  customerId: string;
  /** The step created the customer (and their identities). */
  newCustomer: boolean;
  /** The step stored a contact (its message already carries the planned time). */
  contact: boolean;
  /** A reply or note written by the step. */
  messageId: string | null;
}

/**
 * Moves what this step wrote from the real clock to the step's planned time: its events, the
 * case's times, and whatever else this kind of step creates. One statement per step.
 */
async function stamp(db: Db, tenantId: string, wall: Date, at: Date, written: Written): Promise<void> {
  const t = at.toISOString();
  const w = wall.toISOString();
  const { caseId, customerId } = written;
  const parts = [
    sql`e as (update events set created_at = ${t} where tenant_id = ${tenantId} and created_at >= ${w}
        and ${written.newCustomer ? sql`(case_id = ${caseId} or case_id is null)` : sql`case_id = ${caseId}`})`,
  ];
  if (written.messageId) {
    parts.push(sql`m as (update messages set created_at = ${t}
      where tenant_id = ${tenantId} and id = ${written.messageId})`);
  }
  if (written.contact) {
    parts.push(sql`cv as (update conversations set created_at = ${t}
      where tenant_id = ${tenantId} and case_id = ${caseId} and created_at >= ${w})`);
    parts.push(sql`ct as (update contacts set created_at = ${t}
      where tenant_id = ${tenantId} and case_id = ${caseId} and created_at >= ${w})`);
  }
  if (written.newCustomer) {
    parts.push(sql`cu as (update customers set created_at = ${t}, updated_at = ${t}
      where tenant_id = ${tenantId} and id = ${customerId})`);
    parts.push(sql`ci as (update customer_identities set created_at = ${t}
      where tenant_id = ${tenantId} and customer_id = ${customerId})`);
  }
  await db.execute(sql`
    with ${sql.join(parts, sql`, `)}
    update cases set updated_at = ${t},
      created_at = case when created_at >= ${w} then ${t}::timestamptz else created_at end,
      first_response_at = case when first_response_at >= ${w} then ${t}::timestamptz else first_response_at end
    where tenant_id = ${tenantId} and id = ${caseId}`);
}
