import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ErrorResponse, Uuid } from '../../../shared/api/common.ts';
import { QuarantineList, ReprocessResult } from '../../../shared/api/email.ts';
import type { RawMailStore } from './email.inbound.ts';
import { listQuarantine, reprocessInbound } from './email.quarantine.ts';

const Params = Type.Object({ id: Uuid }, { additionalProperties: false });

/** `kick` tells the inbound processor a message is pending again; `rawMail` holds large messages. */
export function emailRoutes(app: FastifyInstance, inbound: { kick(): void }, rawMail: RawMailStore): void {
  app.get(
    '/api/v1/email/quarantine',
    {
      config: { permission: 'email.quarantine' },
      schema: {
        tags: ['email'],
        summary:
          'Inbound mail kept in quarantine (unparseable, oversized or repeatedly failing), newest first',
        response: { 200: QuarantineList },
      },
    },
    async (request) => ({ items: await listQuarantine(request.ctx.db, rawMail, request.ctx.tenantId) }),
  );
  app.post(
    '/api/v1/email/quarantine/:id/reprocess',
    {
      config: { permission: 'email.quarantine' },
      schema: {
        tags: ['email'],
        summary: 'Process a quarantined email again (its attempts start over)',
        params: Params,
        response: { 200: ReprocessResult, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await reprocessInbound(request.ctx.db, request.ctx.tenantId, id);
      inbound.kick();
      return { id, status: 'pending' as const };
    },
  );
}
