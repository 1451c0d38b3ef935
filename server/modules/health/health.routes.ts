import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Database } from '../../db/client.ts';

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  database: Type.Union([Type.Literal('ok'), Type.Literal('unreachable')]),
  engine: Type.Union([Type.Literal('pglite'), Type.Literal('postgres')]),
  version: Type.String(),
});

export const version = '0.1.0';

/** Readiness: the database answers a query. 503 while it does not. */
export function healthRoutes(app: FastifyInstance, database: Database): void {
  app.get(
    '/api/v1/health',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness',
        security: [],
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      let ok = true;
      try {
        await Promise.race([
          database.db.execute(sql`select 1`),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ]);
      } catch {
        ok = false;
      }
      return reply.status(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'unavailable',
        database: ok ? 'ok' : 'unreachable',
        engine: database.engine,
        version,
      });
    },
  );
}
