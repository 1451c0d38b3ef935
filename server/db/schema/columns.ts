import { timestamp, uuid } from 'drizzle-orm/pg-core';

/** Millisecond timestamps: JS Dates round-trip exactly, so keyset cursors stay exact. */
export const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
export const id = () => uuid('id').notNull().defaultRandom();
export const tenantId = () => uuid('tenant_id').notNull();
