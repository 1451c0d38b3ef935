import type { FastifyInstance } from 'fastify';
import { CaseRef, MessageInput, MessageResult } from '../../../shared/api/cases.ts';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { allows } from '../../../shared/domain/permissions.ts';
import { AppError } from '../../errors.ts';
import type { OutboxSender } from '../email/email.outbox.ts';
import { addMessage } from './add-message.ts';

export function messagesRoutes(app: FastifyInstance, outbox?: OutboxSender): void {
  app.post(
    '/api/v1/cases/:id/messages',
    {
      // Notes are open to specialists too; replies are checked below against messages.reply.
      config: { permission: 'messages.note' },
      schema: {
        tags: ['messages'],
        summary: 'Reply to the customer or add an internal note',
        params: CaseRef,
        body: MessageInput,
        response: { 201: MessageResult, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body as MessageInput;
      if (body.kind === 'reply' && !allows(request.ctx.actor.role, 'messages.reply')) {
        throw new AppError('forbidden', `The ${request.ctx.actor.role} role may not reply to customers`);
      }
      const { id } = request.params as { id: string };
      const result = await addMessage(request.ctx, id, body, { email: true });
      // Committed: the sender can take it now rather than at its next poll.
      if (result.message.delivery) outbox?.kick();
      return reply.status(201).send(result);
    },
  );
}
