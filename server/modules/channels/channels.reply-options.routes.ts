/**
 * GET /api/v1/cases/:id/reply-options — the composer's view of where a case can be answered on
 * a messaging platform and what each allows now, and where a reply goes by default (limits, WhatsApp's window and templates, X's
 * public or direct reply).
 */
import type { FastifyInstance } from 'fastify';
import { CaseRef } from '../../../shared/api/cases.ts';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { ReplyOptions } from '../../../shared/api/reply-options.ts';
import { getCaseRow } from '../cases/cases.queries.ts';
import { defaultReply } from '../messages/reply-default.ts';
import { replyTargets, toReplyOption } from './channels.reply-targets.ts';

export function replyOptionsRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/cases/:id/reply-options',
    {
      config: { permission: 'cases.read' },
      schema: {
        tags: ['messages'],
        summary: 'Where and how a reply on a messaging platform can go now',
        description:
          'Where a reply goes when the agent names no channel, and why; the WhatsApp, Messenger, Instagram, X and SMS channels the customer wrote on in this case, latest first: each one’s limits; WhatsApp’s 24-hour window and the approved templates that are the only replies once it has closed (`reply_window_closed` otherwise); X’s public reply to the customer’s latest post or a direct message.',
        params: CaseRef,
        response: { 200: ReplyOptions, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { db, tenantId, now } = request.ctx;
      const current = await getCaseRow(db, tenantId, id);
      const [targets, fallback] = await Promise.all([
        replyTargets(db, tenantId, current),
        defaultReply(db, tenantId, current),
      ]);
      return { default: fallback, items: targets.map((t) => toReplyOption(t, now())) };
    },
  );
}
