import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Channel, ChannelInput, ChannelPatch } from '../../../shared/api/channels.ts';
import { ErrorResponse, Uuid } from '../../../shared/api/common.ts';
import { AppError } from '../../errors.ts';
import { logReportedCall } from '../calls/calls.service.ts';
import { channelViews, findChannel, listChannels } from './channels.queries.ts';
import { type ChannelOptions, createChannel, updateChannel } from './channels.service.ts';
import { channelWebhookRoutes, type WebhookRoutesOptions } from './channels.webhooks.routes.ts';

const Params = Type.Object({ id: Uuid }, { additionalProperties: false });

export interface ChannelsRoutesOptions {
  /** Seals IMAP mailbox passwords (deriveKey(app secret, 'channel-secrets')). */
  secretKey: Buffer;
  /** Addresses Rapport sends its own mail from, never accepted as inbound mailboxes (EL-04). */
  systemAddresses: readonly string[];
  db: WebhookRoutesOptions['db'];
  bus: WebhookRoutesOptions['bus'];
  registry: WebhookRoutesOptions['registry'];
  /** RAPPORT_PUBLIC_URL: channel webhook URLs and Twilio signatures are built on it. */
  publicUrl: string | null;
  webhooks?: { perChannelPerMinute?: number; bodyLimit?: number };
}

export function channelsRoutes(app: FastifyInstance, routeOptions: ChannelsRoutesOptions): void {
  const { secretKey, systemAddresses, publicUrl } = routeOptions;
  const options = (actor: ChannelOptions['actor']): ChannelOptions => ({ secretKey, systemAddresses, actor });
  // This node forgets its cached channels at once; the others on the change's notice.
  const webhooks = channelWebhookRoutes(app, {
    db: routeOptions.db,
    bus: routeOptions.bus,
    registry: routeOptions.registry,
    secretKey,
    publicUrl: routeOptions.publicUrl,
    ...routeOptions.webhooks,
    // The phone channel: Twilio Voice reports a finished call, which is logged as a contact.
    logCall: (channel, call) => logReportedCall(routeOptions.db, app.log, channel, call),
  });
  app.get(
    '/api/v1/channels',
    {
      config: { permission: 'channels.read' },
      schema: {
        tags: ['channels'],
        summary: "This organisation's channels (email: the support address, a polled IMAP mailbox)",
        response: { 200: Type.Object({ items: Type.Array(Channel) }) },
      },
    },
    async (request) => {
      const { db, tenantId } = request.ctx;
      return { items: await channelViews(db, tenantId, await listChannels(db, tenantId), publicUrl) };
    },
  );
  app.get(
    '/api/v1/channels/:id',
    {
      config: { permission: 'channels.read' },
      schema: {
        tags: ['channels'],
        summary: 'One channel',
        params: Params,
        response: { 200: Channel, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { db, tenantId } = request.ctx;
      const row = await findChannel(db, tenantId, id);
      if (!row) throw new AppError('channel_not_found', 'No such channel here');
      return (await channelViews(db, tenantId, [row], publicUrl))[0];
    },
  );
  app.post(
    '/api/v1/channels',
    {
      config: { permission: 'channels.manage' },
      schema: {
        tags: ['channels'],
        summary:
          'Add a channel: an email address, a chat widget, an SMS or phone number, a messaging account',
        description:
          'Settings and secrets are checked against the type (see the fields’ descriptions). Secrets and an IMAP mailbox password are write-only: stored encrypted, shown only as `secretsSet` and `passwordSet`. Platform channels answer with the `webhookUrl` to paste into the platform. Addresses machines or Rapport send from are refused as inbound mailboxes (`system_address_refused`).',
        body: ChannelInput,
        response: { 201: Channel, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { db, tenantId, actor } = request.ctx;
      const row = await createChannel(db, tenantId, request.body as ChannelInput, options(actor));
      return reply.status(201).send((await channelViews(db, tenantId, [row], publicUrl))[0]);
    },
  );
  app.patch(
    '/api/v1/channels/:id',
    {
      config: { permission: 'channels.manage' },
      schema: {
        tags: ['channels'],
        summary: 'Rename a channel, change its settings or secrets, turn it off or on',
        description:
          'Email: each settings part given replaces that part; `settings.imap: null` stops polling; the IMAP password may be left out to keep the stored one while host, port, security and username stay the same (`imap_password_required` otherwise). Other types: each settings field given replaces that field (null removes it); each secret given replaces that secret (null removes it), the others are kept.',
        params: Params,
        body: ChannelPatch,
        response: { 200: Channel, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { db, tenantId, actor } = request.ctx;
      const row = await updateChannel(db, tenantId, id, request.body as ChannelPatch, options(actor));
      webhooks.forget(tenantId);
      return (await channelViews(db, tenantId, [row], publicUrl))[0];
    },
  );
}
