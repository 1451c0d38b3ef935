/** Maps every failure to `{ error: { code, message, details? } }`; no stack traces leave the server. */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ErrorCode } from '../../shared/api/errors.ts';
import { AppError } from '../errors.ts';

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(
    (err: FastifyError & { validation?: AjvError[]; validationContext?: string }, request, reply) => {
      const appError = toAppError(err);
      if (appError.status >= 500) request.log.error({ err }, 'request failed');
      const headers = (err as { headers?: Record<string, string> }).headers;
      if (headers?.['retry-after']) reply.header('retry-after', headers['retry-after']);
      return reply.status(appError.status).send({
        error: {
          code: appError.code,
          message: appError.message,
          ...(appError.details ? { details: appError.details } : {}),
        },
      });
    },
  );
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: { code: 'route_not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` },
    }),
  );
}

function toAppError(err: FastifyError & { validation?: AjvError[]; validationContext?: string }): AppError {
  if (err instanceof AppError) return err;
  if (err.validation) {
    const where = err.validationContext ?? 'body';
    const details = err.validation.map((v) => {
      const base = `${where}${v.instancePath.replaceAll('/', '.')}`;
      if (v.keyword === 'additionalProperties') {
        const field = String(v.params.additionalProperty);
        return { path: `${base}.${field}`, message: `unknown field "${field}"` };
      }
      if (v.keyword === 'required') {
        const field = String(v.params.missingProperty);
        return { path: `${base}.${field}`, message: 'is required' };
      }
      return { path: base, message: v.message ?? 'is invalid' };
    });
    const unknown = err.validation.find((v) => v.keyword === 'additionalProperties');
    const code: ErrorCode = unknown ? 'unknown_field' : 'validation_failed';
    const first = details[0];
    const message = first ? `${first.path} ${first.message}` : 'The request is invalid';
    return new AppError(code, message, details);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_json', 'The body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // Limits differ by route (1 MiB for the API, 256 KiB for platform webhooks).
      return new AppError('payload_too_large', 'The body is larger than this endpoint accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Send the body as application/json');
  }
  if (err.statusCode === 429)
    return new AppError('rate_limited', err.message || 'Too many requests; try again later');
  if (err.statusCode === 400 && err.message?.includes('JSON'))
    return new AppError('invalid_json', 'The body is not valid JSON');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('validation_failed', err.message);
  }
  if (isDatabaseDown(err))
    return new AppError('database_unavailable', 'The database is unreachable; try again shortly');
  return new AppError('internal_error', 'Something went wrong on our side; it has been logged');
}

function isDatabaseDown(err: { code?: string; message?: string }): boolean {
  return ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '08006', '08001'].includes(err.code ?? '');
}
