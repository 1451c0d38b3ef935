/**
 * Builds the HTTP application: plugins, auth, every module's routes and realtime. Never listens (main.ts does), so tests drive it with `app.inject`.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { Permission } from '../shared/domain/permissions.ts';
import type { Database } from './db/client.ts';
import { registerAuth } from './http/auth.ts';
import { registerErrorHandling } from './http/errors.ts';
import { type Metrics, registerMetrics } from './http/metrics.ts';
import { deriveKey } from './lib/secrets.ts';
import { callsRoutes } from './modules/calls/calls.routes.ts';
import { casesRoutes } from './modules/cases/cases.routes.ts';
import { replyOptionsRoutes } from './modules/channels/channels.reply-options.routes.ts';
import { channelsRoutes } from './modules/channels/channels.routes.ts';
import { createDeliverySender, type DeliverySender } from './modules/channels/channels.sender.ts';
import { relayAddress } from './modules/channels/channels.service.ts';
import type { ChatLimits } from './modules/chat/chat.limits.ts';
import { chatRoutes } from './modules/chat/chat.routes.ts';
import { chatWidgetRoutes } from './modules/chat/chat.widget.routes.ts';
import { contactsRoutes } from './modules/contacts/contacts.routes.ts';
import { customersRoutes } from './modules/customers/customers.routes.ts';
import { directoryRoutes } from './modules/directory/directory.routes.ts';
import { createFileStore } from './modules/email/email.attachments.ts';
import { createImapChannels, type ImapChannels } from './modules/email/email.imap-channels.ts';
import type { RawMailStore } from './modules/email/email.inbound.ts';
import { createInboundProcessor, type InboundProcessor } from './modules/email/email.process.ts';
import { emailRoutes } from './modules/email/email.routes.ts';
import { createOutboxSender, type OutboxSender } from './modules/email/email.sender.ts';
import { healthRoutes, version } from './modules/health/health.routes.ts';
import { messageEmailRoutes } from './modules/messages/message-email.routes.ts';
import { messagesRoutes } from './modules/messages/messages.routes.ts';
import { sessionsRoutes } from './modules/sessions/sessions.routes.ts';
import { type Bus, createBus } from './realtime/bus.ts';
import { createPresence } from './realtime/presence.ts';
import { realtimeRoutes } from './realtime/realtime.routes.ts';

export interface AppOptions {
  database: Database;
  /** Signs cookies; tests pass a fixed one. */
  secret: string;
  secureCookies?: boolean;
  loginLimit?: number;
  /** `stream`: where the JSON log lines go instead of stdout (tests read them). */
  logger?: boolean | { level: string; stream?: { write(line: string): void } };
  /** Built web assets; served when present. */
  webRoot?: string;
  /** The relay outgoing email is handed to (smtp://…); null or absent keeps it queued. */
  smtpOutboundUrl?: string | null;
  /** RAPPORT_PUBLIC_URL: the server as messaging platforms reach it; channel webhook URLs use it. */
  publicUrl?: string | null;
  /** Platform webhooks: deliveries per channel per minute (3,000), largest body (256 KiB). */
  webhooks?: { perChannelPerMinute?: number; bodyLimit?: number };
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
  /**
   * Polling the IMAP mailboxes of email channels (on by default); false leaves them unpolled.
   * `pollMs`: pause between rounds of a mailbox (RAPPORT_IMAP_POLL_SECONDS; 60 s);
   * `maxMessageBytes`: larger messages are quarantined unfetched (the SMTP limit; 30 MiB);
   * `nodeId`: this node in mailbox leases (main.ts: host name and port; random by default).
   */
  imap?:
    | false
    | {
        pollMs?: number;
        maxMessageBytes?: number;
        nodeId?: string;
        reconcileMs?: number;
        leaseMs?: number;
        backoff?: { initialMs?: number; maxMs?: number };
      };
  /** The chat widget's rate limits (chat.limits.ts defaults); tests and benches lower or raise them. */
  chat?: { limits?: Partial<ChatLimits> };
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
  /** Sends replies on messaging platforms (SMS, WhatsApp, …); `drain()` in tests. */
  channelDeliveries: DeliverySender;
  /** Turns stored inbound mail into contacts; `kick()` after storing one. */
  emailInbound: InboundProcessor;
  /** The raw mail store; the SMTP listener (and IMAP) store large messages in it. */
  rawMail: RawMailStore;
  /** The IMAP pollers of channel mailboxes (null when turned off). */
  imapChannels: ImapChannels | null;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MAX_BODY = 1024 * 1024;

export async function buildApp(options: AppOptions): Promise<App> {
  const { database } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: MAX_BODY,
    trustProxy: false,
    // No type coercion: a JSON body with a number where a string belongs is a 400, not a guess.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
  }) as unknown as App;
  const bus = await createBus(database, app.log);

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
  // Security headers, built once: the Fastify plugin rebuilt helmet's middleware on every request.
  const securityHeaders = helmet({
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
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, () => done());
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

  const metrics = registerMetrics(app, database, bus);
  app.decorate('bus', bus);
  app.decorate('metrics', metrics);
  app.decorate('database', database);
  registerAuth(app, database.db, bus);
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
  // Signs every reply token, Message-ID and subject tag, inbound and outbound.
  const threadingKey = deriveKey(options.secret, 'email-threading');
  const emailOutbox = createOutboxSender({
    db: database.db,
    log: app.log,
    url: options.smtpOutboundUrl ?? null,
    rawMail,
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
  callsRoutes(app);
  const channelDeliveries = createDeliverySender({
    db: database.db,
    log: app.log,
    secretKey: deriveKey(options.secret, 'channel-secrets'),
    publicUrl: options.publicUrl ?? null,
  });
  app.decorate('channelDeliveries', channelDeliveries);
  app.addHook('onReady', async () => channelDeliveries.start());
  messagesRoutes(app, {
    outbox: emailOutbox,
    platforms: channelDeliveries,
    email: { secret: threadingKey, rawMail },
    store: attachmentStore,
  });
  replyOptionsRoutes(app);
  customersRoutes(app);
  directoryRoutes(app);
  const channelSecrets = deriveKey(options.secret, 'channel-secrets');
  const relay = relayAddress(options.smtpOutboundUrl);
  channelsRoutes(app, {
    secretKey: channelSecrets,
    systemAddresses: relay ? [relay] : [],
    db: database.db,
    bus,
    registry: metrics.registry,
    publicUrl: options.publicUrl ?? null,
    webhooks: options.webhooks,
  });
  const emailInbound = createInboundProcessor({
    db: database.db,
    log: app.log,
    secret: threadingKey,
    store: attachmentStore,
    rawMail,
    onMailQueued: () => emailOutbox.kick(),
    onAcknowledgementSuppressed: () => metrics.acknowledgementsSuppressed.inc(),
  });
  app.decorate('emailInbound', emailInbound);
  emailRoutes(app, { inbound: emailInbound, outbox: emailOutbox, rawMail });
  messageEmailRoutes(app, attachmentStore);
  app.addHook('onReady', async () => emailInbound.start());
  const imapChannels =
    options.imap === false
      ? null
      : createImapChannels({
          db: database.db,
          rawMail,
          secretKey: channelSecrets,
          log: app.log,
          bus,
          nodeId: options.imap?.nodeId ?? `node-${randomUUID()}`,
          intervalMs: options.imap?.pollMs ?? 60_000,
          maxMessageBytes: options.imap?.maxMessageBytes ?? 30 * 1024 * 1024,
          reconcileMs: options.imap?.reconcileMs,
          leaseMs: options.imap?.leaseMs,
          backoff: options.imap?.backoff,
          onStored: () => emailInbound.kick(),
        });
  app.decorate('imapChannels', imapChannels);
  app.addHook('onReady', async () => imapChannels?.start());
  // Who is signed in, across nodes: the chat widget offers live chat only while someone is.
  const presence = createPresence(bus, `node-${randomUUID()}`);
  await chatWidgetRoutes(app, {
    secretKey: channelSecrets,
    threadingSecret: threadingKey,
    rawMail,
    store: attachmentStore,
    presence,
    onMailQueued: () => emailOutbox.kick(),
    limits: options.chat?.limits,
  });
  chatRoutes(app);
  realtimeRoutes(app, database.db, bus, presence);
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
    await imapChannels?.stop();
    await emailOutbox.stop();
    await channelDeliveries.stop();
    await emailInbound.stop();
    presence.close();
    await bus.close();
  });
  return app;
}
