/**
 * POST (and GET, for subscription handshakes) /webhooks/v1/channels/:channelId — where each
 * platform delivers a channel's inbound messages and status callbacks. Public: the platform's
 * signature over the raw bytes is the only credential, checked before anything is parsed or
 * stored; a missing one is 401, a wrong one 403, and a channel whose secret is not configured
 * refuses everything (fails closed, SECURITY.md WH-02). Bodies are kept as bytes (form-encoded
 * or JSON) under their own size limit; each channel is rate-limited.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { Type } from 'typebox';
import type { ErrorCode } from '../../../shared/api/errors.ts';
import type { Db } from '../../db/client.ts';
import { AppError } from '../../errors.ts';
import type { Bus } from '../../realtime/bus.ts';
import { platformChannel } from './channels.platform.ts';
import { type ChannelRow, findChannelAnyTenant } from './channels.queries.ts';
import { receiveWebhook, type WebhookDeps } from './channels.webhooks.ts';
import { platformFor } from './platforms/index.ts';
import { WebhookPayloadError, type WebhookRequest } from './platforms/platform.ts';

export interface WebhookRoutesOptions {
  db: Db;
  bus: Bus;
  registry: Registry;
  /** deriveKey(app secret, 'channel-secrets'): opens the channel's secrets. */
  secretKey: Buffer;
  /** RAPPORT_PUBLIC_URL: the server as platforms reach it; signatures over URLs use it. */
  publicUrl: string | null;
  /** Largest webhook body (default 256 KiB). */
  bodyLimit?: number;
  /** Deliveries per channel per minute (default 3,000). */
  perChannelPerMinute?: number;
  logCall?: WebhookDeps['logCall'];
}

const Params = Type.Object({ channelId: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CACHE_MS = 5_000;

const refusal: Record<'missing' | 'invalid' | 'not_configured', ErrorCode> = {
  missing: 'webhook_signature_missing',
  invalid: 'webhook_signature_invalid',
  not_configured: 'webhook_not_configured',
};

/**
 * Channel rows by id for a few seconds: a platform posting hundreds of messages a second costs
 * no lookup each. Every channel change's notice empties that tenant's entries on every node.
 */
function channelCache(db: Db, bus: Bus) {
  const cache = new Map<string, { row: ChannelRow | null; until: number }>();
  const forget = (tenantId: string) => {
    for (const [id, entry] of cache) if (!entry.row || entry.row.tenantId === tenantId) cache.delete(id);
  };
  const unsubscribe = bus.subscribe((notice) => {
    if (notice.type.startsWith('channel.')) forget(notice.tenantId);
  });
  return {
    forget,
    async get(id: string): Promise<ChannelRow | null> {
      const hit = cache.get(id);
      if (hit && hit.until > Date.now()) return hit.row;
      const row = UUID.test(id) ? await findChannelAnyTenant(db, id) : null;
      if (cache.size > 10_000) cache.clear();
      cache.set(id, { row, until: Date.now() + CACHE_MS });
      return row;
    },
    close: unsubscribe,
  };
}

function headersOf(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(request.headers)) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}

function queryOf(url: string): { raw: string; params: Record<string, string> } {
  const at = url.indexOf('?');
  const raw = at < 0 ? '' : url.slice(at);
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) if (!(k in params)) params[k] = v;
  return { raw, params };
}

/** Registers the webhook routes; `forget` drops a tenant's cached channels (this node, after a change). */
export function channelWebhookRoutes(
  app: FastifyInstance,
  options: WebhookRoutesOptions,
): { forget(tenantId: string): void } {
  const channels = channelCache(options.db, options.bus);
  app.addHook('onClose', async () => channels.close());
  const rejected = new Counter({
    name: 'rapport_webhooks_rejected_total',
    help: 'Webhook deliveries refused before anything was stored, by channel type and reason',
    labelNames: ['type', 'reason'] as const,
    registers: [options.registry],
  });
  const received = new Counter({
    name: 'rapport_webhooks_received_total',
    help: 'Verified webhook deliveries, by channel type',
    labelNames: ['type'] as const,
    registers: [options.registry],
  });

  async function prepare(request: FastifyRequest) {
    const { channelId } = request.params as { channelId: string };
    const row = await channels.get(channelId);
    const platform = row?.active ? platformFor(row.type) : null;
    if (!row || !platform) throw new AppError('channel_not_found', 'No such channel');
    const channel = platformChannel(row, options.secretKey, options.publicUrl);
    const query = queryOf(request.url);
    const base = channel.webhookUrl;
    const webhook: WebhookRequest = {
      method: request.method as 'GET' | 'POST',
      // The URL as the platform called it: configured scheme/host/path, the request's query.
      publicUrl: base === null ? null : base.includes('?') ? base : base + query.raw,
      query: query.params,
      headers: headersOf(request),
      rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    };
    return { row, platform, channel, webhook };
  }

  void app.register(async (scope) => {
    // The raw bytes are what platforms sign: no parser may turn them into anything else first.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      ['application/x-www-form-urlencoded', 'application/json'],
      { parseAs: 'buffer', bodyLimit: options.bodyLimit ?? 256 * 1024 },
      (_request, body, done) => done(null, body),
    );
    const config = {
      permission: 'public' as const,
      rateLimit: {
        max: options.perChannelPerMinute ?? 3_000,
        timeWindow: '1 minute',
        keyGenerator: (request: FastifyRequest) =>
          `webhook:${(request.params as { channelId: string }).channelId}`,
      },
    };
    scope.post(
      '/webhooks/v1/channels/:channelId',
      { config, schema: { hide: true, params: Params } },
      async (request, reply) => {
        const { row, platform, channel, webhook } = await prepare(request);
        const verdict = platform.verify(webhook, channel);
        if (!verdict.ok) {
          rejected.inc({ type: row.type, reason: verdict.reason });
          request.log.warn(
            { channelId: row.id, reason: verdict.reason },
            `webhook refused: ${verdict.message}`,
          );
          throw new AppError(refusal[verdict.reason], verdict.message);
        }
        let parsed: ReturnType<typeof platform.parse>;
        try {
          parsed = platform.parse(webhook, channel);
        } catch (err) {
          if (!(err instanceof WebhookPayloadError)) throw err;
          rejected.inc({ type: row.type, reason: 'payload' });
          throw new AppError(
            'webhook_payload_invalid',
            `The ${row.type} webhook cannot be read: ${err.message}`,
          );
        }
        received.inc({ type: row.type });
        await receiveWebhook({ db: options.db, log: request.log, logCall: options.logCall }, row, parsed);
        return reply.type(platform.acknowledge.contentType).send(platform.acknowledge.body);
      },
    );
    scope.get(
      '/webhooks/v1/channels/:channelId',
      { config, schema: { hide: true, params: Params } },
      async (request, reply) => {
        const { platform, channel, webhook } = await prepare(request);
        const answer = platform.handshake?.(webhook, channel) ?? null;
        if (!answer)
          throw new AppError('route_not_found', 'This channel takes no handshake: its platform POSTs');
        return reply.status(answer.status).type(answer.contentType).send(answer.body);
      },
    );
  });
  return { forget: channels.forget };
}
