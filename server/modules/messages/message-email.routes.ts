import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ErrorResponse, Uuid } from '../../../shared/api/common.ts';
import { AppError } from '../../errors.ts';
import type { AttachmentStore } from '../email/email.attachments.ts';
import {
  downloadHeaders,
  emailDocument,
  emailDocumentPolicy,
  findAttachment,
  findEmailHtml,
  listAttachments,
} from './message-email.ts';

const Params = Type.Object({ id: Uuid }, { additionalProperties: false });

export function messageEmailRoutes(app: FastifyInstance, store: AttachmentStore): void {
  app.get(
    '/api/v1/messages/:id/html',
    {
      config: { permission: 'cases.read' },
      schema: {
        tags: ['messages'],
        summary: "An email message's sanitised HTML as a sandboxed document (for an iframe)",
        params: Params,
        querystring: Type.Object(
          { images: Type.Optional(Type.Enum(['remote'], { description: 'Load remote images too' })) },
          { additionalProperties: false },
        ),
        response: { '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const remote = (request.query as { images?: string }).images === 'remote';
      const { ctx } = request;
      const found = await findEmailHtml(ctx.db, ctx.tenantId, id);
      if (!found?.html) throw new AppError('message_not_found', 'No email message with HTML here');
      const document = await emailDocument(
        found.html,
        await listAttachments(ctx.db, ctx.tenantId, id),
        store,
        remote,
      );
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', emailDocumentPolicy(remote))
        .header('x-frame-options', 'SAMEORIGIN')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'private, no-store')
        .send(document);
    },
  );
  app.get(
    '/api/v1/attachments/:id',
    {
      config: { permission: 'cases.read' },
      schema: {
        tags: ['messages'],
        summary: 'Download an attachment (always as a file, never rendered inline)',
        params: Params,
        response: { '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { ctx } = request;
      const row = await findAttachment(ctx.db, ctx.tenantId, id);
      if (!row) throw new AppError('attachment_not_found', 'No such attachment here');
      const bytes = await store.get(row.storageKey);
      return reply.headers(downloadHeaders(row)).send(bytes);
    },
  );
}
