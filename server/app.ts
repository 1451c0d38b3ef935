/**
 * Builds the HTTP application: plugins, auth, every module's routes and realtime. Never listens (main.ts does), so tests drive it with `app.inject`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { Permission } from '../shared/domain/permissions.ts';
import type { Database } from './db/client.ts';
import { registerAuth } from './http/auth.ts';
import { registerErrorHandling } from './http/errors.ts';
import { type Metrics, registerMetrics } from './http/metrics.ts';
import { deriveKey } from './lib/secrets.ts';
import { casesRoutes } from './modules/cases/cases.routes.ts';
import { channelsRoutes } from './modules/channels/channels.routes.ts';
import { contactsRoutes } from './modules/contacts/contacts.routes.ts';
import { customersRoutes } from './modules/customers/customers.routes.ts';
import { directoryRoutes } from './modules/directory/directory.routes.ts';
import { createFileStore } from './modules/email/email.attachments.ts';
import type { RawMailStore } from './modules/email/email.inbound.ts';
import { createOutboxSender, type OutboxSender, useThreadingSecret } from './modules/email/email.outbox.ts';
import { createInboundProcessor, type InboundProcessor } from './modules/email/email.process.ts';
import { emailRoutes } from './modules/email/email.routes.ts';
import { healthRoutes, version } from './modules/health/health.routes.ts';
import { messageEmailRoutes } from './modules/messages/message-email.routes.ts';
import { messagesRoutes } from './modules/messages/messages.routes.ts';
import { sessionsRoutes } from './modules/sessions/sessions.routes.ts';
import { type Bus, createBus } from './realtime/bus.ts';
import { realtimeRoutes } from './realtime/realtime.routes.ts';

export interface AppOptions {
  database: Database;
  /** Signs cookies; tests pass a fixed one. */
  secret: string;
  secureCookies?: boolean;
  loginLimit?: number;
  logger?: boolean | { level: string };
  /** Built web assets; served when present. */
  webRoot?: string;
  /** The relay outgoing email is handed to (smtp://…); null or absent keeps it queued. */
  smtpOutboundUrl?: string | null;
  /**
   * Where attachment bytes are kept: default `<dataDir>/attachments` for the embedded database,
   * a temporary directory for one in memory (main.ts passes the data directory's on PostgreSQL).
   */
  attachmentsDir?: string;
  /**
   * Where raw inbound messages over RAW_ROW_MAX_BYTES are kept: default `<dataDir>/mail`, a
   * temporary directory for a database in memory (main.ts passes the data directory's).
   */
  mailDir?: string;
}

/** One registered route as declared; the tenant-walk and permission tests iterate over these. */
export interface RouteEntry {
  method: string;
  url: string;
  permission: Permission | null;
  websocket: boolean;
}

export interface App extends FastifyInstance {
  routeTable: RouteEntry[];
  bus: Bus;
  metrics: Metrics;
  database: Database;
  emailOutbox: OutboxSender;
  /** Turns stored inbound mail into contacts; `kick()` after storing one. */
  emailInbound: InboundProcessor;
  /** The raw mail store; the SMTP listener (and IMAP) store large messages in it. */
  rawMail: RawMailStore;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MAX_BODY = 1024 * 1024;

export async function buildApp(options: AppOptions): Promise<App> {
  const { database } = options;
  const bus = await createBus(database);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: MAX_BODY,
    trustProxy: false,
    // No type coercion: a JSON body with a number where a string belongs is a 400, not a guess.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
  }) as unknown as App;

  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    // Fail closed: an API route that names no permission is a programming error, caught at start.
    if (route.url.startsWith('/api/') && !route.config?.permission) {
      throw new Error(`${route.url} declares no permission (config.permission)`);
    }
    for (const method of [route.method].flat()) {
      // Fastify adds a HEAD twin for every GET, with the same hooks and handler.
      if (method === 'HEAD' && routeTable.some((r) => r.method === 'GET' && r.url === route.url)) continue;
      routeTable.push({
        method,
        url: route.url,
        permission: route.config?.permission ?? null,
        websocket: route.websocket === true,
      });
    }
  });

  registerErrorHandling(app);
  // Bodies are JSON only: any other media type is a 415 rather than a string that fails validation.
  app.removeContentTypeParser('text/plain');
  // Query strings and params are text: convert them to their schema's types (limit=20 → 20).
  app.addHook('preValidation', async (request) => {
    const { schema } = request.routeOptions;
    if (schema?.querystring) request.query = Value.Convert(schema.querystring as TSchema, request.query);
    if (schema?.params) request.params = Value.Convert(schema.params as TSchema, request.params);
  });
  await app.register(cookie, { secret: options.secret });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  // Limits are per route (sign-in); the store is per node until a shared one is configured.
  await app.register(rateLimit, { global: false });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Rapport API',
        version,
        description:
          'One case per problem across every channel. Authenticate with `Authorization: Bearer <token>` (see `rapport token create`) or a session cookie plus `x-csrf-token` on writes. Errors are `{ error: { code, message, details? } }`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  const metrics = registerMetrics(app, database);
  app.decorate('bus', bus);
  app.decorate('metrics', metrics);
  app.decorate('database', database);
  registerAuth(app, database.db, bus);
  useThreadingSecret(deriveKey(options.secret, 'email-threading'));
  const emailOutbox = createOutboxSender({
    db: database.db,
    log: app.log,
    url: options.smtpOutboundUrl ?? null,
  });
  app.decorate('emailOutbox', emailOutbox);
  app.addHook('onReady', async () => emailOutbox.start());

  healthRoutes(app, database);
  sessionsRoutes(app, {
    secureCookies: options.secureCookies ?? false,
    loginLimit: options.loginLimit ?? 10,
  });
  contactsRoutes(app, metrics);
  casesRoutes(app);
  messagesRoutes(app, emailOutbox);
  customersRoutes(app);
  directoryRoutes(app);
  channelsRoutes(app);
  const attachmentsDir =
    options.attachmentsDir ??
    (database.dataDir
      ? path.join(database.dataDir, 'attachments')
      : fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-attachments-')));
  const attachmentStore = createFileStore(attachmentsDir);
  const mailDir =
    options.mailDir ??
    (database.dataDir
      ? path.join(database.dataDir, 'mail')
      : fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-mail-')));
  const rawMail = createFileStore(mailDir);
  app.decorate('rawMail', rawMail);
  const emailInbound = createInboundProcessor({
    db: database.db,
    log: app.log,
    secret: deriveKey(options.secret, 'email-threading'),
    store: attachmentStore,
    rawMail,
    onMailQueued: () => emailOutbox.kick(),
  });
  app.decorate('emailInbound', emailInbound);
  emailRoutes(app, emailInbound, rawMail);
  messageEmailRoutes(app, attachmentStore);
  app.addHook('onReady', async () => emailInbound.start());
  realtimeRoutes(app, database.db, bus);
  app.get('/api/v1/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  const webRoot = options.webRoot ?? path.join(root, 'dist', 'web');
  if (fs.existsSync(path.join(webRoot, 'index.html'))) {
    await app.register(fastifyStatic, { root: webRoot, wildcard: false, index: false });
    // Client-side routes (/cases/1042, /inbox/mine) all load the app shell.
    app.get('/*', { config: { permission: 'public' }, schema: { hide: true } }, async (request, reply) => {
      if (request.url.startsWith('/api/')) {
        return reply
          .status(404)
          .send({ error: { code: 'route_not_found', message: `No route ${request.url}` } });
      }
      const file = request.url.split('?')[0]!.slice(1);
      if (file && fs.existsSync(path.join(webRoot, file)) && !file.includes('..'))
        return reply.sendFile(file);
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    });
  }

  app.addHook('onClose', async () => {
    await emailOutbox.stop();
    await emailInbound.stop();
    await bus.close();
  });
  return app;
}
