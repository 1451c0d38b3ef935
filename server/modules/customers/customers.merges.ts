/**
 * What a merge moves and how a split puts it back: every row that names the merged customer
 * (identities, cases, conversations, contacts, messages they wrote, chat sessions) and the
 * merge record, whose `moved` lists those rows by id so a split undoes exactly the merge.
 */
import { and, desc, eq, or, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { CustomerMerge } from '../../../shared/api/customers.ts';
import type { IdentityKind } from '../../../shared/domain/channels.ts';
import type { Executor } from '../../db/client.ts';
import {
  cases,
  chatSessions,
  contacts,
  conversations,
  customerIdentities,
  customerMerges,
  customers,
  messages,
} from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';

/** The customer record's own fields a merge can fill on the survivor. */
export const OWN_FIELDS = ['name', 'organisationId', 'language', 'preferredChannel'] as const;
export type OwnFields = Record<(typeof OWN_FIELDS)[number], string | null>;

/** Rows that went from one customer to another, by id. */
export interface MovedRows {
  identities: { id: string; kind: string; platform: string; value: string }[];
  cases: { id: string; number: number }[];
  conversations: string[];
  contacts: string[];
  messages: string[];
  chatSessions: string[];
}

/** customer_merges.moved: the rows, the merged record's fields, and what they filled on the survivor. */
export interface Moved extends MovedRows {
  customer: OwnFields;
  filled: Partial<OwnFields>;
}

export const nothingMoved = (): MovedRows => ({
  identities: [],
  cases: [],
  conversations: [],
  contacts: [],
  messages: [],
  chatSessions: [],
});

export const movedAnything = (m: MovedRows) => Object.values(m).some((list: unknown[]) => list.length > 0);

/** `column in (ids)` as one JSON parameter, however many ids (a long history has thousands of messages). */
const within = (column: AnyPgColumn, ids: string[]): SQL =>
  sql`${column} in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`;

/**
 * Moves every row of customer `from` to `to`; with `only`, just those rows, and only where they
 * still belong to `from` (a split: what was added since stays). The caller holds both customers'
 * locks. Contacts and messages have no index by customer, so this reads the tenant's once.
 */
export async function moveRows(
  tx: Executor,
  tenantId: string,
  from: string,
  to: string,
  only?: MovedRows,
): Promise<MovedRows> {
  const pick = (column: AnyPgColumn, owner: AnyPgColumn, tenant: AnyPgColumn, ids?: string[]) =>
    and(eq(tenant, tenantId), eq(owner, from), ids ? within(column, ids) : undefined);
  const skip = (ids?: unknown[]) => ids !== undefined && ids.length === 0;
  const moved = nothingMoved();
  if (!skip(only?.identities)) {
    moved.identities = await tx
      .update(customerIdentities)
      .set({ customerId: to })
      .where(
        pick(
          customerIdentities.id,
          customerIdentities.customerId,
          customerIdentities.tenantId,
          only?.identities.map((i) => i.id),
        ),
      )
      .returning({
        id: customerIdentities.id,
        kind: customerIdentities.kind,
        platform: customerIdentities.platform,
        value: customerIdentities.value,
      });
  }
  if (!skip(only?.cases)) {
    // updated_at stays: a case changing hands between records of one person is no new activity.
    moved.cases = await tx
      .update(cases)
      .set({ customerId: to })
      .where(
        pick(
          cases.id,
          cases.customerId,
          cases.tenantId,
          only?.cases.map((c) => c.id),
        ),
      )
      .returning({ id: cases.id, number: cases.number });
  }
  const ids = async (rows: Promise<{ id: string }[]>) => (await rows).map((r) => r.id);
  if (!skip(only?.conversations)) {
    moved.conversations = await ids(
      tx
        .update(conversations)
        .set({ customerId: to })
        .where(pick(conversations.id, conversations.customerId, conversations.tenantId, only?.conversations))
        .returning({ id: conversations.id }),
    );
  }
  if (!skip(only?.contacts)) {
    moved.contacts = await ids(
      tx
        .update(contacts)
        .set({ customerId: to })
        .where(pick(contacts.id, contacts.customerId, contacts.tenantId, only?.contacts))
        .returning({ id: contacts.id }),
    );
  }
  if (!skip(only?.messages)) {
    moved.messages = await ids(
      tx
        .update(messages)
        .set({ authorCustomerId: to })
        .where(pick(messages.id, messages.authorCustomerId, messages.tenantId, only?.messages))
        .returning({ id: messages.id }),
    );
  }
  if (!skip(only?.chatSessions)) {
    moved.chatSessions = await ids(
      tx
        .update(chatSessions)
        .set({ customerId: to })
        .where(pick(chatSessions.id, chatSessions.customerId, chatSessions.tenantId, only?.chatSessions))
        .returning({ id: chatSessions.id }),
    );
  }
  moved.cases.sort((a, b) => a.number - b.number);
  return moved;
}

export type CustomerLockRow = typeof customers.$inferSelect;

/**
 * Locks two customers of the tenant in id order (so concurrent merges of one pair cannot
 * deadlock; the second sees the first's result) and returns them in the order asked.
 */
export async function lockPair(
  tx: Executor,
  tenantId: string,
  first: string,
  second: string,
): Promise<[CustomerLockRow, CustomerLockRow]> {
  const locked = await tx
    .select()
    .from(customers)
    .where(and(eq(customers.tenantId, tenantId), or(eq(customers.id, first), eq(customers.id, second))))
    .orderBy(customers.id)
    .for('update');
  const a = locked.find((c) => c.id === first);
  const b = locked.find((c) => c.id === second);
  if (!a || !b) throw new AppError('customer_not_found', 'No such customer here');
  return [a, b];
}

export function ownFields(row: CustomerLockRow): OwnFields {
  return {
    name: row.name,
    organisationId: row.organisationId,
    language: row.language,
    preferredChannel: row.preferredChannel,
  };
}

export function merged(row: CustomerLockRow): AppError {
  return new AppError(
    'customer_merged',
    `${row.name ?? 'This customer'} was merged into another customer; work with that one instead`,
    [{ path: 'mergedIntoId', message: row.mergedIntoId ?? '' }],
  );
}

export type MergeRow = typeof customerMerges.$inferSelect;

export function toCustomerMerge(row: MergeRow): CustomerMerge {
  const moved = row.moved as Moved;
  return {
    id: row.id,
    survivorId: row.survivorId,
    mergedId: row.mergedId,
    mergedName: moved.customer?.name ?? null,
    moved: {
      identities: moved.identities.map(({ kind, platform, value }) => ({
        kind: kind as IdentityKind,
        platform,
        value,
      })),
      cases: moved.cases,
      conversations: moved.conversations.length,
      contacts: moved.contacts.length,
      messages: moved.messages.length,
      chatSessions: moved.chatSessions.length,
    },
    mergedBy: row.mergedBy,
    mergedAt: row.mergedAt.toISOString(),
    splitBy: row.splitBy,
    splitAt: row.splitAt?.toISOString() ?? null,
  };
}

export async function getMergeRow(
  db: Executor,
  tenantId: string,
  mergeId: string,
  options: { lock?: boolean } = {},
): Promise<MergeRow> {
  if (!/^[0-9a-f-]{36}$/i.test(mergeId)) throw mergeNotFound();
  const query = db
    .select()
    .from(customerMerges)
    .where(and(eq(customerMerges.tenantId, tenantId), eq(customerMerges.id, mergeId)));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw mergeNotFound();
  return row;
}

const mergeNotFound = () => new AppError('customer_merge_not_found', 'No such customer merge here');

/** Merges a customer took part in, as survivor or as the merged one, newest first. */
export async function listMerges(db: Executor, tenantId: string, customerId: string): Promise<MergeRow[]> {
  return db
    .select()
    .from(customerMerges)
    .where(
      and(
        eq(customerMerges.tenantId, tenantId),
        or(eq(customerMerges.survivorId, customerId), eq(customerMerges.mergedId, customerId)),
      ),
    )
    .orderBy(desc(customerMerges.mergedAt), desc(customerMerges.id))
    .limit(100);
}
