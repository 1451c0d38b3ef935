import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Team, User } from '../../../shared/api/directory.ts';
import { listTeams, listUsers } from './directory.service.ts';

export function directoryRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/users',
    {
      config: { permission: 'directory.read' },
      schema: {
        tags: ['directory'],
        summary: 'Staff of this organisation',
        response: { 200: Type.Object({ items: Type.Array(User) }) },
      },
    },
    async (request) => ({ items: await listUsers(request.ctx.db, request.ctx.tenantId) }),
  );
  app.get(
    '/api/v1/teams',
    {
      config: { permission: 'directory.read' },
      schema: {
        tags: ['directory'],
        summary: 'Teams of this organisation',
        response: { 200: Type.Object({ items: Type.Array(Team) }) },
      },
    },
    async (request) => ({ items: await listTeams(request.ctx.db, request.ctx.tenantId) }),
  );
}
