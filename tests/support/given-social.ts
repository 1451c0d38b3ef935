/**
 * Meta (WhatsApp, Messenger, Instagram) and X channels for tests: a row with its secrets sealed
 * as the API stores them, its webhook path, and the Graph / X API base the fakes listen on.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { App } from '../../server/app.ts';
import { rows, sql } from '../../server/db/client.ts';
import { channels, messageDeliveries, messages } from '../../server/db/schema/index.ts';
import { deriveKey } from '../../server/lib/secrets.ts';
import { sealChannelSecret } from '../../server/modules/channels/channels.secrets.ts';
import { ACCESS_TOKEN, APP_SECRET, GRAPH_VERSION, metaId, VERIFY_TOKEN } from './fake-meta.ts';
import { CONSUMER_SECRET, snowflake, X_ACCESS_TOKEN } from './fake-x.ts';
import type { GivenTenant } from './given.ts';
import * as given from './given.ts';
import { TEST_SECRET } from './test-app.ts';

export interface SocialChannelOptions {
  address?: string;
  /** Secrets by name; null leaves one out (an unconfigured channel). */
  secrets?: Record<string, string | null>;
  settings?: Record<string, unknown>;
  apiBaseUrl?: string;
  active?: boolean;
}

async function insertChannel(
  t: GivenTenant,
  type: 'whatsapp' | 'messenger' | 'instagram' | 'x',
  defaults: Record<string, string>,
  options: SocialChannelOptions,
) {
  const id = randomUUID();
  const key = deriveKey(TEST_SECRET, 'channel-secrets');
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...defaults, ...options.secrets })) {
    if (value) secrets[name] = sealChannelSecret(key, t.id, id, name, value);
  }
  const [row] = await t.app.database.db
    .insert(channels)
    .values({
      tenantId: t.id,
      id,
      type,
      name: `${type} ${randomUUID().slice(0, 6)}`,
      address: options.address ?? (type === 'x' ? snowflake() : metaId()),
      settings: {
        ...(options.apiBaseUrl ? { apiBaseUrl: options.apiBaseUrl } : {}),
        ...(options.apiBaseUrl && type !== 'x' ? { apiVersion: GRAPH_VERSION } : {}),
        ...options.settings,
      },
      secrets,
      active: options.active ?? true,
    })
    .returning();
  return { ...row!, address: row!.address!, path: `/webhooks/v1/channels/${id}` };
}

/** A WhatsApp, Messenger or Instagram channel with its app secret, verify token and access token. */
export const metaChannel = (
  t: GivenTenant,
  type: 'whatsapp' | 'messenger' | 'instagram',
  options: SocialChannelOptions = {},
) =>
  insertChannel(
    t,
    type,
    { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, accessToken: ACCESS_TOKEN },
    options,
  );

/** An X account channel with its consumer secret and access token. */
export const xChannel = (t: GivenTenant, options: SocialChannelOptions = {}) =>
  insertChannel(t, 'x', { consumerSecret: CONSUMER_SECRET, accessToken: X_ACCESS_TOKEN }, options);

/** The contact stored for a platform message id, with its message's text; undefined when none. */
export async function storedContact(app: App, t: GivenTenant, externalId: string) {
  const [row] = await rows<{ text: string; attributes: Record<string, unknown>; case_id: string }>(
    app.database.db,
    sql`select m.text, c.attributes, c.case_id from contacts c
        join messages m on m.tenant_id = c.tenant_id and m.id = c.message_id
        where c.tenant_id = ${t.id} and c.external_id = ${externalId}`,
  );
  return row;
}

/**
 * A reply already sent on a platform channel (the delivery sender's work): an outbound message
 * on a new case of a new customer and its delivery, status "sent", named by the platform's id.
 */
export async function outboundDelivery(
  app: App,
  t: GivenTenant,
  channel: { id: string; type: string },
  recipient: string,
  providerMessageId: string,
) {
  const db = app.database.db;
  const contact = await given.contact(t, {
    channel: 'api',
    from: { identity: `ext:${randomUUID()}` },
    text: 'hi',
  });
  const [message] = await db
    .insert(messages)
    .values({
      tenantId: t.id,
      caseId: contact.case.id,
      kind: 'outbound',
      channel: channel.type,
      text: 'On it',
    })
    .returning();
  const [delivery] = await db
    .insert(messageDeliveries)
    .values({
      tenantId: t.id,
      messageId: message!.id,
      channelId: channel.id,
      recipient,
      status: 'sent',
      providerMessageId,
      attempts: 1,
    })
    .returning();
  return { ...delivery!, providerMessageId };
}

export async function storedDelivery(app: App, t: GivenTenant, id: string) {
  const [row] = await app.database.db
    .select()
    .from(messageDeliveries)
    .where(and(eq(messageDeliveries.tenantId, t.id), eq(messageDeliveries.id, id)));
  return row!;
}
