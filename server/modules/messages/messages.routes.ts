import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { CaseRef, MessageForm, MessageInput, MessageResult } from '../../../shared/api/cases.ts';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { allows } from '../../../shared/domain/permissions.ts';
import { AppError } from '../../errors.ts';
import type { AttachmentStore } from '../email/email.attachments.ts';
import type { MailKeys } from '../email/email.reply.ts';
import { addMessage, type Upload } from './add-message.ts';
import { type FormPart, readReplyForm, uploadLimits } from './message-uploads.ts';

export interface MessagesRoutesOptions {
  /** Told when a reply was queued, so it goes out now rather than at the next poll. */
  outbox: { kick(): void };
  /** The same for a reply on a messaging platform (SMS, WhatsApp, …). */
  platforms: { kick(): void };
  email: MailKeys;
  /** Where the files of a reply are kept. */
  store: AttachmentStore;
}

export function messagesRoutes(app: FastifyInstance, options: MessagesRoutesOptions): void {
  const uploads = new WeakMap<object, Upload[]>();
  // Multipart is read by this route only: no other route takes a form.
  void app.register(async (scope) => {
    await scope.register(multipart, { limits: uploadLimits, throwFileSizeLimit: false });
    scope.post(
      '/api/v1/cases/:id/messages',
      {
        // Notes are open to specialists too; replies are checked below against messages.reply.
        config: { permission: 'messages.note' },
        schema: {
          tags: ['messages'],
          summary: 'Reply to the customer or add an internal note',
          description:
            'JSON, or multipart/form-data with the same fields plus files: a reply by email, or in the chat (images, PDF or plain text whose bytes match their type, as the widget takes).',
          params: CaseRef,
          body: {
            content: {
              'application/json': { schema: MessageInput },
              'multipart/form-data': { schema: MessageForm },
            },
          },
          response: { 201: MessageResult, '4xx': ErrorResponse },
        },
        // The form is read here, after sign-in and before the schema checks its fields.
        preValidation: async (request) => {
          if (!request.isMultipart()) return;
          const form = await readReplyForm(
            request.parts({ limits: uploadLimits }) as AsyncIterable<FormPart>,
          );
          request.body = form.fields;
          uploads.set(request, form.files);
        },
      },
      async (request, reply) => {
        const body = request.body as MessageInput;
        if (body.kind === 'reply' && !allows(request.ctx.actor.role, 'messages.reply')) {
          throw new AppError('forbidden', `The ${request.ctx.actor.role} role may not reply to customers`);
        }
        const { id } = request.params as { id: string };
        const result = await addMessage(request.ctx, id, body, {
          email: options.email,
          store: options.store,
          files: uploads.get(request) ?? [],
          deliveries: true,
        });
        // Committed: the sender can take it now rather than at its next poll.
        if (result.message.delivery) {
          if (result.message.channel === 'email') options.outbox.kick();
          else options.platforms.kick();
        }
        return reply.status(201).send(result);
      },
    );
  });
}
