/**
 * Configuring channels. An email address can belong to one channel of one tenant only: inbound
 * mail is routed by it. An email channel may also poll an IMAP mailbox elsewhere; its password is
 * stored sealed and never shown. Every change records a channel event (IMAP pollers follow them).
 */
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import {
  type ChannelInput,
  type ChannelPatch,
  ChannelSettingsInput,
  type ChannelType,
} from '../../../shared/api/channels.ts';
import { type Actor, systemActor } from '../../context.ts';
import type { Executor } from '../../db/client.ts';
import { channels } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { recordEvents } from '../../events/publish.ts';
import { sqlState } from '../../lib/retry.ts';
import { parseEmail } from '../customers/customers.identity.ts';
import {
  normaliseImap,
  refuseSystemAddress,
  refuseUnreachableHost,
  sealImapPassword,
  storedImap,
} from './channels.imap.ts';
import type { ChannelRow } from './channels.queries.ts';
import { applySecrets } from './channels.secrets.ts';
import {
  channelAddress,
  checkSecrets,
  checkShape,
  mergeSettings,
  refuseUnreachableUrl,
} from './channels.types.ts';

export {
  type ImapConnection,
  imapConnection,
  imapMailboxKey,
  relayAddress,
  storedImap,
} from './channels.imap.ts';

export interface ChannelOptions {
  /** Seals IMAP passwords: deriveKey(app secret, 'channel-secrets'). Needed to set a mailbox. */
  secretKey?: Buffer;
  /** Addresses Rapport itself sends from besides channel addresses (the outbound relay's account). */
  systemAddresses?: readonly string[];
  /** Who made the change, for its event; the system by default (seeding, tests). */
  actor?: Actor;
}

const IMAP_HOST_PATH = 'body.settings.imap.host';

function secretKey(options: ChannelOptions): Buffer {
  if (!options.secretKey) throw new Error('createChannel/updateChannel: channel secrets need secretKey');
  return options.secretKey;
}

/** The IMAP host a write names, checked (SS-01, a DNS lookup) before the transaction. */
function imapHostOf(settings: unknown): string | null {
  const host = (settings as { imap?: { host?: unknown } } | undefined)?.imap?.host;
  return typeof host === 'string' ? host : null;
}

export async function createChannel(
  db: Executor,
  tenantId: string,
  input: ChannelInput,
  options: ChannelOptions = {},
): Promise<ChannelRow> {
  const id = randomUUID();
  const secretsInput = checkSecrets(input.type, input.secrets);
  let values: { address: string | null; settings: Record<string, unknown>; imapPassword: string | null };
  let secrets: Record<string, string> = {};
  if (input.type === 'email') {
    if (input.address === undefined) channelAddress('email', undefined);
    const address = emailAddress(input.address!);
    refuseSystemAddress(address, options.systemAddresses ?? [], 'body.address');
    const settingsInput = checkShape<ChannelSettingsInput>(
      ChannelSettingsInput,
      input.settings ?? {},
      'body.settings',
    );
    const host = imapHostOf(settingsInput);
    if (host) await refuseUnreachableHost(host, IMAP_HOST_PATH);
    values = { address, ...applySettings(tenantId, id, {}, null, settingsInput, options) };
  } else {
    await refuseUnreachableUrl(input.settings);
    values = {
      address: channelAddress(input.type, input.address),
      settings: mergeSettings(input.type, {}, input.settings as Record<string, unknown> | undefined),
      imapPassword: null,
    };
    if (secretsInput) secrets = applySecrets(secretKey(options), { tenantId, id }, {}, secretsInput);
  }
  const { address } = values;
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(channels)
        .values({ tenantId, id, type: input.type, name: input.name.trim(), ...values, secrets })
        .returning();
      await recordEvents(tx, tenantId, options.actor ?? systemActor, [
        { type: 'channel.created', data: { channelId: id } },
      ]);
      return row!;
    });
  } catch (err) {
    throw clash(err, input.name, address);
  }
}

export async function updateChannel(
  db: Executor,
  tenantId: string,
  id: string,
  patch: ChannelPatch,
  options: ChannelOptions = {},
): Promise<ChannelRow> {
  const host = imapHostOf(patch.settings);
  if (host) await refuseUnreachableHost(host, IMAP_HOST_PATH);
  await refuseUnreachableUrl(patch.settings);
  try {
    return await db.transaction(async (tx) => {
      // Locked: two concurrent changes must not each merge into the settings the other replaced.
      const [current] = await tx
        .select()
        .from(channels)
        .where(and(eq(channels.tenantId, tenantId), eq(channels.id, id)))
        .for('update');
      if (!current) throw new AppError('channel_not_found', 'No such channel here');
      const type = current.type as ChannelType;
      const currentSettings = current.settings as Record<string, unknown>;
      const secretsInput = checkSecrets(type, patch.secrets);
      if (type === 'email' && patch.address !== undefined) {
        throw new AppError(
          'validation_failed',
          'An email channel keeps its support address: add a channel instead',
          [{ path: 'body.address', message: 'cannot change on an email channel' }],
        );
      }
      const next =
        patch.settings === undefined
          ? null
          : type === 'email'
            ? applySettings(
                tenantId,
                id,
                currentSettings,
                current.imapPassword,
                checkShape<ChannelSettingsInput>(ChannelSettingsInput, patch.settings, 'body.settings'),
                options,
              )
            : {
                settings: mergeSettings(type, currentSettings, patch.settings as Record<string, unknown>),
                imapPassword: null,
              };
      const [row] = await tx
        .update(channels)
        .set({
          ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
          ...(patch.address !== undefined ? { address: channelAddress(type, patch.address) } : {}),
          ...(next ? { settings: next.settings, imapPassword: next.imapPassword } : {}),
          ...(secretsInput
            ? { secrets: applySecrets(secretKey(options), current, current.secrets, secretsInput) }
            : {}),
          ...(patch.active !== undefined ? { active: patch.active } : {}),
          updatedAt: sql`now()`,
        })
        .where(and(eq(channels.tenantId, tenantId), eq(channels.id, id)))
        .returning();
      // Secrets by name only: the event never carries a value.
      const changed = Object.keys(patch).flatMap((k) =>
        k === 'settings' || k === 'secrets' ? Object.keys(patch[k] ?? {}).map((s) => `${k}.${s}`) : [k],
      );
      await recordEvents(tx, tenantId, options.actor ?? systemActor, [
        { type: 'channel.updated', data: { channelId: id, changed } },
      ]);
      return row!;
    });
  } catch (err) {
    throw clash(err, patch.name ?? '', patch.address ?? null);
  }
}

/**
 * The settings to store: each part written replaces that part, `imap: null` removes the mailbox
 * (and its password). A new mailbox password is sealed to this channel's row.
 */
function applySettings(
  tenantId: string,
  channelId: string,
  current: Record<string, unknown>,
  currentPassword: string | null,
  input: ChannelSettingsInput | undefined,
  options: ChannelOptions,
): { settings: Record<string, unknown>; imapPassword: string | null } {
  const settings = { ...current };
  let imapPassword = currentPassword;
  if (input?.acknowledgement !== undefined) settings.acknowledgement = input.acknowledgement;
  if (input?.imap === null) {
    delete settings.imap;
    imapPassword = null;
  } else if (input?.imap !== undefined) {
    // A username that is an address names the mailbox: the same rule as a channel's address.
    if (input.imap.username.includes('@'))
      refuseSystemAddress(input.imap.username, options.systemAddresses ?? [], 'body.settings.imap.username');
    const { imap, password } = normaliseImap(input.imap, {
      imap: storedImap(current),
      passwordSet: currentPassword !== null,
    });
    settings.imap = imap;
    if (password !== null) {
      if (!options.secretKey)
        throw new Error('createChannel/updateChannel: an IMAP password needs secretKey');
      imapPassword = sealImapPassword(options.secretKey, tenantId, channelId, password);
    }
  }
  return { settings, imapPassword };
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
