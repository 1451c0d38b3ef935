import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ErrorResponse, Uuid } from '../../../shared/api/common.ts';
import {
  OutboxList,
  OutboxListQuery,
  QuarantineList,
  ReprocessResult,
  RetryResult,
} from '../../../shared/api/email.ts';
import type { RawMailStore } from './email.inbound.ts';
import { listOutbound, retryOutbound } from './email.outbox-admin.ts';
import { listQuarantine, reprocessInbound } from './email.quarantine.ts';

const Params = Type.Object({ id: Uuid }, { additionalProperties: false });

export interface EmailRoutesOptions {
  /** Told when a quarantined message is pending again. */
  inbound: { kick(): void };
  /** Told when failed mail is queued again. */
  outbox: { kick(): void };
  /** Where large raw messages are kept. */
  rawMail: RawMailStore;
}

export function emailRoutes(app: FastifyInstance, { inbound, outbox, rawMail }: EmailRoutesOptions): void {
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
  app.get(
    '/api/v1/email/outbox',
    {
      config: { permission: 'email.outbox' },
      schema: {
        tags: ['email'],
        summary: 'Outbound mail in one status (failed by default), newest first, a page at a time',
        querystring: OutboxListQuery,
        response: { 200: OutboxList, '4xx': ErrorResponse },
      },
    },
    async (request) => listOutbound(request.ctx.db, request.ctx.tenantId, request.query as OutboxListQuery),
  );
  app.post(
    '/api/v1/email/outbox/:id/retry',
    {
      config: { permission: 'email.outbox' },
      schema: {
        tags: ['email'],
        summary: 'Send a failed email again: queued now, with a fresh series of attempts',
        params: Params,
        response: { 200: RetryResult, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await retryOutbound(request.ctx.db, request.ctx.tenantId, id);
      request.log.info({ outboxId: id, actorId: request.ctx.actor.id }, 'failed email queued again');
      outbox.kick();
      return { id, status: 'queued' as const };
    },
  );
}
