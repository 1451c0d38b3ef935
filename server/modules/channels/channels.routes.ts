import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Channel, ChannelInput, ChannelPatch } from '../../../shared/api/channels.ts';
import { ErrorResponse, Uuid } from '../../../shared/api/common.ts';
import { AppError } from '../../errors.ts';
import { findChannel, listChannels, toChannel } from './channels.queries.ts';
import { createChannel, updateChannel } from './channels.service.ts';

const Params = Type.Object({ id: Uuid }, { additionalProperties: false });

export function channelsRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/channels',
    {
      config: { permission: 'channels.read' },
      schema: {
        tags: ['channels'],
        summary: "This organisation's channels (email: the support address)",
        response: { 200: Type.Object({ items: Type.Array(Channel) }) },
      },
    },
    async (request) => ({
      items: (await listChannels(request.ctx.db, request.ctx.tenantId)).map(toChannel),
    }),
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
      const row = await findChannel(request.ctx.db, request.ctx.tenantId, id);
      if (!row) throw new AppError('channel_not_found', 'No such channel here');
      return toChannel(row);
    },
  );
  app.post(
    '/api/v1/channels',
    {
      config: { permission: 'channels.manage' },
      schema: {
        tags: ['channels'],
        summary: 'Add a channel (email: a support address)',
        body: ChannelInput,
        response: { 201: Channel, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const row = await createChannel(request.ctx.db, request.ctx.tenantId, request.body as ChannelInput);
      return reply.status(201).send(toChannel(row));
    },
  );
  app.patch(
    '/api/v1/channels/:id',
    {
      config: { permission: 'channels.manage' },
      schema: {
        tags: ['channels'],
        summary: 'Rename a channel, change its settings, turn it off or on',
        params: Params,
        body: ChannelPatch,
        response: { 200: Channel, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return toChannel(
        await updateChannel(request.ctx.db, request.ctx.tenantId, id, request.body as ChannelPatch),
      );
    },
  );
}
