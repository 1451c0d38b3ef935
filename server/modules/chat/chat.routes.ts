/**
 * What agents send the chat besides replies (which go through POST /api/v1/cases/:id/messages
 * and reach the visitor from their event): that they are typing. A notice, not an event: it is
 * shown for a moment and never part of the case's story.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { CaseRef } from '../../../shared/api/cases.ts';
import { AgentTyping } from '../../../shared/api/chat.ts';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { getCaseRow } from '../cases/cases.queries.ts';
import { findUserName } from './chat.queries.ts';

export function chatRoutes(app: FastifyInstance): void {
  app.post(
    '/api/v1/cases/:id/typing',
    {
      config: { permission: 'messages.reply' },
      schema: {
        tags: ['chat'],
        summary: "Tell the case's chat visitor that you are typing (or stopped)",
        params: CaseRef,
        body: AgentTyping,
        response: { 204: Type.Null(), '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { typing } = request.body as AgentTyping;
      const { db, tenantId, actor } = request.ctx;
      const current = await getCaseRow(db, tenantId, id);
      const name = actor.type === 'user' ? await findUserName(db, tenantId, actor.id) : null;
      const notice = JSON.stringify({
        tenantId,
        type: 'chat.agent_typing',
        caseId: current.id,
        eventId: 0,
        typing,
        name,
      });
      await db.execute(sql`select pg_notify('rapport_events', ${notice})`);
      return reply.status(204).send();
    },
  );
}
