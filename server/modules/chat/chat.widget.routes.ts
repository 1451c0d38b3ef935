/**
 * The web chat widget's public endpoints: /widget.js, /widget/v1/* (config, sessions, offline
 * messages, transcript, files) and the visitor WebSocket. No sign-in: the widget runs on the
 * tenant's own site, so these answer any origin (CORS `*`, never with credentials) and a
 * visitor proves a session with its token (`Authorization: Bearer`, or the socket's hello).
 * Rate-limited per IP (@fastify/rate-limit) and per tenant (SECURITY.md RL-02).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CHAT_ATTACHMENT_MAX_BYTES,
  CHAT_ATTACHMENT_TYPES,
  ChatAttachmentQuery,
  ChatAttachmentResult,
  type ChatChannelSettings,
  ChatFileRef,
  ChatSession,
  ChatSessionInput,
  ChatSessionRef,
  ChatTranscriptInput,
  ChatTranscriptResult,
  OfflineMessageInput,
  OfflineMessageResult,
  WidgetConfig,
  WidgetConfigQuery,
} from '../../../shared/api/chat.ts';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { isWithinHours } from '../../../shared/domain/business-hours.ts';
import type { App } from '../../app.ts';
import { AppError } from '../../errors.ts';
import type { Presence } from '../../realtime/presence.ts';
import type { AttachmentStore } from '../email/email.attachments.ts';
import type { RawMailStore } from '../email/email.inbound.ts';
import type { ThreadingSecret } from '../email/email.threading.ts';
import { downloadHeaders } from '../messages/message-email.ts';
import { addVisitorFile } from './chat.attachments.ts';
import { widgetBundle } from './chat.bundle.ts';
import { type ChatHub, createChatHub } from './chat.hub.ts';
import { type ChatLimits, defaultChatLimits, rateLimited, windowLimiter } from './chat.limits.ts';
import { findSessionFile } from './chat.queries.ts';
import {
  getChatChannel,
  resumeChatSession,
  startChatSession,
  submitOfflineMessage,
} from './chat.sessions.ts';
import { serveVisitorSocket } from './chat.socket.ts';
import { sendTranscript } from './chat.transcript.ts';

export interface ChatWidgetOptions {
  /** deriveKey(app secret, 'channel-secrets'): opens a channel's identity secret. */
  secretKey: Buffer;
  threadingSecret: ThreadingSecret;
  rawMail: RawMailStore;
  store: AttachmentStore;
  presence: Presence;
  /** The email outbox sender's kick, after a transcript is queued. */
  onMailQueued(): void;
  limits?: Partial<ChatLimits>;
}

const DEFAULT_COLOUR = '#1864ab';
const HOUR = 3_600_000;

function bearer(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice(7).trim() : '';
}

const meta = (request: FastifyRequest) => ({ userAgent: request.headers['user-agent'] });

/** Registers the widget's routes in their own scope; returns the hub of visitor sockets. */
export async function chatWidgetRoutes(app: App, options: ChatWidgetOptions): Promise<ChatHub> {
  const limits: ChatLimits = { ...defaultChatLimits, ...options.limits };
  const db = app.database.db;
  const deps = { db, log: app.log, secretKey: options.secretKey };
  const hub = createChatHub({ db, log: app.log, bus: app.bus });
  const tenantSessions = windowLimiter(limits.sessionsPerTenantPerHour, HOUR);
  const takeTenantSession = (tenantId: string) => {
    const r = tenantSessions.take(tenantId);
    if (!r.ok) throw rateLimited('new chats for this organisation', r.retryAfter);
  };
  const socketDeps = {
    ...deps,
    hub,
    limits,
    tenantMessages: windowLimiter(limits.messagesPerTenantPerMinute, 60_000),
    sessionMessages: windowLimiter(limits.messagesPerSessionPer10s, 10_000),
  };
  const perIp = (max: number) => ({ rateLimit: { max, timeWindow: '1 hour' } });

  app.get(
    '/widget.js',
    { config: { permission: 'public' }, schema: { hide: true } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const bundle = await widgetBundle();
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400, stale-while-revalidate=604800')
        .header('etag', bundle.etag)
        .header('vary', 'accept-encoding')
        .header('cross-origin-resource-policy', 'cross-origin')
        .header('access-control-allow-origin', '*');
      if (request.headers['if-none-match'] === bundle.etag) return reply.status(304).send();
      if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')))
        return reply.header('content-encoding', 'gzip').send(bundle.gzip);
      return reply.send(bundle.js);
    },
  );

  await app.register(async (scope: FastifyInstance) => {
    // Any site may embed the widget; nothing here rides on cookies.
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('access-control-allow-origin', '*');
      reply.header('cross-origin-resource-policy', 'cross-origin');
    });
    scope.options(
      '/widget/v1/*',
      { config: { permission: 'public' }, schema: { hide: true } },
      async (_request, reply) =>
        reply
          .status(204)
          .header('access-control-allow-methods', 'GET, POST')
          .header('access-control-allow-headers', 'content-type, authorization')
          .header('access-control-max-age', '86400')
          .send(),
    );

    scope.get(
      '/widget/v1/config',
      {
        config: { permission: 'public' },
        schema: {
          tags: ['widget'],
          summary: "A chat channel's public face: name, colour, greeting, and whether someone is there",
          security: [],
          querystring: WidgetConfigQuery,
          response: { 200: WidgetConfig, '4xx': ErrorResponse },
        },
      },
      async (request, reply) => {
        const { channel: id } = request.query as WidgetConfigQuery;
        const channel = await getChatChannel(db, id);
        const settings = channel.settings as ChatChannelSettings;
        const open = isWithinHours(settings.businessHours, new Date());
        const staffed = options.presence.usersOnline(channel.tenantId) > 0;
        reply.header('cache-control', 'no-store');
        return {
          channel: channel.id,
          name: channel.name,
          greeting: settings.greeting ?? null,
          colour: /^#[0-9a-fA-F]{6}$/.test(settings.colour ?? '') ? settings.colour! : DEFAULT_COLOUR,
          online: open && staffed,
          offlineReason: !open ? 'outside_hours' : staffed ? null : 'no_agent',
          attachments: { maxBytes: CHAT_ATTACHMENT_MAX_BYTES, types: [...CHAT_ATTACHMENT_TYPES] },
        };
      },
    );

    scope.post(
      '/widget/v1/sessions',
      {
        config: { permission: 'public', ...perIp(limits.sessionsPerIpPerHour) },
        schema: {
          tags: ['widget'],
          summary: 'Start a chat (pre-chat name and email; a signed identity for a signed-in visitor)',
          description:
            "`identity.userHash` is hex HMAC-SHA256 of `identity.userId` under the channel's identity secret: valid, the visitor is that customer; wrong, 401 `chat_identity_invalid`; sent to a channel without a secret, 403 `chat_identity_not_configured`. An email without a signed identity never joins an existing customer.",
          security: [],
          body: ChatSessionInput,
          response: { 201: ChatSession, '4xx': ErrorResponse },
        },
      },
      async (request, reply) => {
        const body = request.body as ChatSessionInput;
        const channel = await getChatChannel(db, body.channel);
        takeTenantSession(channel.tenantId);
        const { session, token } = await startChatSession(deps, channel, body, meta(request));
        return reply.status(201).send({
          id: session.id,
          token,
          name: session.visitorName,
          email: session.visitorEmail,
          verified: session.verifiedUserId !== null,
        });
      },
    );

    scope.post(
      '/widget/v1/offline-messages',
      {
        config: { permission: 'public', ...perIp(limits.sessionsPerIpPerHour) },
        schema: {
          tags: ['widget'],
          summary: 'Leave a message while nobody is there: answered by email',
          security: [],
          body: OfflineMessageInput,
          response: { 201: OfflineMessageResult, '4xx': ErrorResponse },
        },
      },
      async (request, reply) => {
        const body = request.body as OfflineMessageInput;
        const channel = await getChatChannel(db, body.channel);
        takeTenantSession(channel.tenantId);
        await submitOfflineMessage(deps, channel, body, meta(request));
        return reply.status(201).send({ received: true });
      },
    );

    scope.post(
      '/widget/v1/sessions/:id/transcript',
      {
        config: { permission: 'public', ...perIp(limits.transcriptsPerIpPerHour) },
        schema: {
          tags: ['widget'],
          summary:
            "Email the chat's transcript to the visitor's address (Authorization: Bearer <session token>)",
          security: [],
          params: ChatSessionRef,
          body: ChatTranscriptInput,
          response: { 202: ChatTranscriptResult, '4xx': ErrorResponse },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const { session } = await resumeChatSession(db, bearer(request), id);
        const { to } = await sendTranscript(
          {
            db,
            threadingSecret: options.threadingSecret,
            rawMail: options.rawMail,
            perRecipientPerDay: limits.transcriptsPerRecipientPerDay,
            onQueued: options.onMailQueued,
          },
          session,
          request.body as ChatTranscriptInput,
        );
        return reply.status(202).send({ to, queued: true });
      },
    );

    await scope.register(async (files: FastifyInstance) => {
      // The file is the body, as the browser has it: no multipart to parse, typed by its header.
      files.addContentTypeParser(
        '*',
        { parseAs: 'buffer', bodyLimit: CHAT_ATTACHMENT_MAX_BYTES },
        (_r, body, done) => done(null, body),
      );
      files.post(
        '/widget/v1/sessions/:id/attachments',
        {
          config: { permission: 'public', ...perIp(limits.filesPerIpPerHour) },
          onRequest: async (request) => {
            if (Number(request.headers['content-length'] ?? 0) > CHAT_ATTACHMENT_MAX_BYTES)
              throw new AppError(
                'payload_too_large',
                `Files in the chat are at most ${CHAT_ATTACHMENT_MAX_BYTES / 1048576} MB`,
              );
          },
          schema: {
            tags: ['widget'],
            summary:
              'Send a file in the chat: the body is the file, Content-Type its type (Authorization: Bearer <session token>)',
            security: [],
            params: ChatSessionRef,
            querystring: ChatAttachmentQuery,
            response: { 201: ChatAttachmentResult, '4xx': ErrorResponse },
          },
        },
        async (request, reply) => {
          const { id } = request.params as { id: string };
          const { name, clientId } = request.query as ChatAttachmentQuery;
          const { session } = await resumeChatSession(db, bearer(request), id);
          if (!Buffer.isBuffer(request.body))
            throw new AppError(
              'unsupported_media_type',
              'Send the file itself as the body, with its Content-Type',
            );
          const sent = await addVisitorFile({ ...deps, store: options.store }, session, {
            clientId,
            filename: name,
            contentType: String(request.headers['content-type'] ?? ''),
            bytes: request.body,
          });
          // The chat's open tabs show the file now, and follow the case it went to.
          hub.follow(session.id, sent.caseId);
          hub.toSession(session.id, { type: 'message', message: sent.message });
          return reply.status(201).send({ message: sent.message });
        },
      );
    });

    scope.get(
      '/widget/v1/sessions/:id/attachments/:attachmentId',
      {
        config: { permission: 'public', ...perIp(limits.downloadsPerIpPerHour) },
        schema: {
          tags: ['widget'],
          summary:
            "Download a file of the chat, either side's (Authorization: Bearer <session token>); always as a file",
          security: [],
          params: ChatFileRef,
          response: { '4xx': ErrorResponse },
        },
      },
      async (request, reply) => {
        const { id, attachmentId } = request.params as { id: string; attachmentId: string };
        const { session } = await resumeChatSession(db, bearer(request), id);
        // Only files on this session's own chat messages; anything else is as if it did not exist.
        const file = await findSessionFile(db, session, attachmentId);
        if (!file) throw new AppError('attachment_not_found', 'No such file in this chat');
        const bytes = await options.store.get(file.storageKey);
        return reply.headers(downloadHeaders(file)).send(bytes);
      },
    );

    scope.get(
      '/widget/v1/socket',
      { websocket: true, config: { permission: 'public' }, schema: { hide: true } },
      (socket) => serveVisitorSocket(socket, socketDeps),
    );
  });

  app.addHook('onClose', async () => hub.close());
  return hub;
}
