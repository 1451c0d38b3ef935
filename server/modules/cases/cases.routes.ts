import type { FastifyInstance } from 'fastify';
import {
  Badges,
  Case,
  CaseList,
  CaseListQuery,
  CaseRef,
  CaseUpdate,
  Timeline,
} from '../../../shared/api/cases.ts';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { AppError } from '../../errors.ts';
import { teamIdsOf } from '../directory/directory.service.ts';
import { readBadges } from './cases.counters.ts';
import { getCaseRow, listCases, toCase } from './cases.queries.ts';
import { getTimeline } from './cases.timeline.ts';
import { updateCase } from './update-case.ts';

export function casesRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/cases',
    {
      config: { permission: 'cases.read' },
      schema: {
        tags: ['cases'],
        summary: 'List cases, newest activity first, with keyset pagination',
        querystring: CaseListQuery,
        response: { 200: CaseList, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const query = request.query as CaseListQuery;
      const { ctx } = request;
      let owner: string | null | undefined;
      if (query.owner === 'me') {
        if (ctx.actor.type !== 'user')
          throw new AppError('validation_failed', 'owner=me needs a signed-in user');
        owner = ctx.actor.id;
      } else if (query.owner === 'none') owner = null;
      else owner = query.owner;
      return listCases(ctx.db, ctx.tenantId, { ...query, owner });
    },
  );

  app.get(
    '/api/v1/inbox/counts',
    {
      config: { permission: 'cases.read' },
      schema: {
        tags: ['cases'],
        summary: 'Badge counts of the inbox views: mine, my teams, unassigned, all open',
        response: { 200: Badges },
      },
    },
    async (request) => {
      const { ctx } = request;
      const userId = ctx.actor.type === 'user' ? ctx.actor.id : null;
      const teams = userId ? await teamIdsOf(ctx.db, ctx.tenantId, userId) : [];
      return readBadges(ctx.db, ctx.tenantId, userId, teams);
    },
  );

  app.get(
    '/api/v1/cases/:id',
    {
      config: { permission: 'cases.read' },
      schema: {
        tags: ['cases'],
        summary: 'One case, by id or number',
        params: CaseRef,
        response: { 200: Case, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return toCase(await getCaseRow(request.ctx.db, request.ctx.tenantId, id));
    },
  );

  app.patch(
    '/api/v1/cases/:id',
    {
      config: { permission: 'cases.update' },
      schema: {
        tags: ['cases'],
        summary: 'Change owner, team, status, priority, reason, tags or subject',
        params: CaseRef,
        body: CaseUpdate,
        response: { 200: Case, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return updateCase(request.ctx, id, request.body as CaseUpdate);
    },
  );

  app.get(
    '/api/v1/cases/:id/timeline',
    {
      config: { permission: 'cases.read' },
      schema: {
        tags: ['cases'],
        summary: 'Every contact, reply, note and change on the case, in order',
        params: CaseRef,
        response: { 200: Timeline, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return { items: await getTimeline(request.ctx.db, request.ctx.tenantId, id) };
    },
  );
}
