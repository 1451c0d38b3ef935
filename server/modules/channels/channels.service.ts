/**
 * Configuring channels. An email address can belong to one channel of one tenant only: inbound
 * mail is routed by it.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { ChannelInput, ChannelPatch } from '../../../shared/api/channels.ts';
import type { Executor } from '../../db/client.ts';
import { channels } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { sqlState } from '../../lib/retry.ts';
import { parseEmail } from '../customers/customers.identity.ts';
import { type ChannelRow, findChannel } from './channels.queries.ts';

export async function createChannel(
  db: Executor,
  tenantId: string,
  input: ChannelInput,
): Promise<ChannelRow> {
  const address = emailAddress(input.address);
  try {
    const [row] = await db
      .insert(channels)
      .values({
        tenantId,
        type: input.type,
        name: input.name.trim(),
        address,
        settings: input.settings ?? {},
      })
      .returning();
    return row!;
  } catch (err) {
    throw clash(err, input.name, address);
  }
}

export async function updateChannel(
  db: Executor,
  tenantId: string,
  id: string,
  patch: ChannelPatch,
): Promise<ChannelRow> {
  if (!(await findChannel(db, tenantId, id))) throw new AppError('channel_not_found', 'No such channel here');
  try {
    const [row] = await db
      .update(channels)
      .set({
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        ...(patch.settings !== undefined ? { settings: patch.settings } : {}),
        ...(patch.active !== undefined ? { active: patch.active } : {}),
        updatedAt: sql`now()`,
      })
      .where(and(eq(channels.tenantId, tenantId), eq(channels.id, id)))
      .returning();
    return row!;
  } catch (err) {
    throw clash(err, patch.name ?? '', null);
  }
}

function emailAddress(raw: string): string {
  try {
    return parseEmail(raw).value;
  } catch {
    throw new AppError('validation_failed', `"${raw}" is not an email address`, [
      { path: 'body.address', message: 'must be an email address' },
    ]);
  }
}

function clash(err: unknown, name: string, address: string | null): unknown {
  if (sqlState(err) !== '23505') return err;
  const message = String((err as { cause?: { message?: string } }).cause?.message ?? err);
  return message.includes('channels_address')
    ? new AppError(
        'conflict',
        `The address ${address} is already a channel (here or in another organisation)`,
      )
    : new AppError('conflict', `A channel named "${name}" already exists here`);
}
