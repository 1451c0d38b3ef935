import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { PasswordChange, Session, SignIn } from '../../../shared/api/directory.ts';
import type { App } from '../../app.ts';
import { AppError } from '../../errors.ts';
import { SESSION_COOKIE } from '../../http/auth.ts';
import { sha256 } from '../../lib/secrets.ts';
import { changePassword, describeSession, endSession, SESSION_DAYS, signIn } from './sessions.service.ts';

interface Options {
  secureCookies: boolean;
  loginLimit: number;
}

function userActor(request: FastifyRequest) {
  const { actor } = request.ctx;
  if (actor.type !== 'user' || !actor.sessionId)
    throw new AppError('forbidden', 'API tokens have no session');
  return { userId: actor.id, sessionId: actor.sessionId };
}

export function sessionsRoutes(app: App, options: Options): void {
  const setCookie = (reply: FastifyReply, token: string) =>
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
      maxAge: SESSION_DAYS * 24 * 3600,
    });

  app.post(
    '/api/v1/session',
    {
      config: {
        permission: 'public',
        rateLimit: { max: options.loginLimit, timeWindow: '5 minutes' },
      },
      schema: {
        tags: ['session'],
        summary: 'Sign in with organisation, email and password',
        security: [],
        body: SignIn,
        response: { 201: Session, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body as SignIn;
      const { token, tenantId, userId } = await signIn(app.database.db, body);
      setCookie(reply, token);
      return reply.status(201).send(await describeSession(app.database.db, tenantId, userId, sha256(token)));
    },
  );

  app.get(
    '/api/v1/session',
    {
      config: { permission: 'session.self' },
      schema: {
        tags: ['session'],
        summary: 'The signed-in user, organisation and CSRF token',
        response: { 200: Session },
      },
    },
    async (request) => {
      const { userId, sessionId } = userActor(request);
      return describeSession(request.ctx.db, request.ctx.tenantId, userId, sessionId);
    },
  );

  app.delete(
    '/api/v1/session',
    {
      config: { permission: 'session.self' },
      schema: { tags: ['session'], summary: 'Sign out', response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await endSession(request.ctx.db, userActor(request).sessionId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/v1/session/password',
    {
      config: { permission: 'session.self', rateLimit: { max: options.loginLimit, timeWindow: '5 minutes' } },
      schema: {
        tags: ['session'],
        summary: 'Change password; every other session is signed out',
        body: PasswordChange,
        response: { 200: Session, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { userId } = userActor(request);
      const { token } = await changePassword(
        request.ctx.db,
        request.ctx.tenantId,
        userId,
        request.body as PasswordChange,
      );
      setCookie(reply, token);
      return describeSession(request.ctx.db, request.ctx.tenantId, userId, sha256(token));
    },
  );
}
