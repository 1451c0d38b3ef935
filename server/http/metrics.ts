/**
 * Prometheus metrics at GET /metrics: request latency, contacts ingested and the intake's batch
 * sizes, acknowledgements the per-recipient cap held back (a likely mail loop, SECURITY.md
 * EL-03), how full the database's notification queue is (realtime notices waiting for a
 * slow listener), and how many other nodes share the database's realtime bus.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Database, rows, sql } from '../db/client.ts';
import { intakeQueue } from '../modules/contacts/intake-queue.ts';
import type { Bus } from '../realtime/bus.ts';

export interface Metrics {
  registry: Registry;
  contactsIngested: Counter<'channel' | 'result'>;
  acknowledgementsSuppressed: Counter;
}

export function registerMetrics(app: FastifyInstance, database: Database, bus: Bus): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const latency = new Histogram({
    name: 'rapport_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const contactsIngested = new Counter({
    name: 'rapport_contacts_ingested_total',
    help: 'Contacts accepted by the intake, by channel and result (new_case, repeat, duplicate)',
    labelNames: ['channel', 'result'] as const,
    registers: [registry],
  });
  const acknowledgementsSuppressed = new Counter({
    name: 'rapport_email_acknowledgements_suppressed_total',
    help: 'New-case acknowledgements not sent because the recipient had one within 24 h (possible mail loop)',
    registers: [registry],
  });
  // How well the intake's group commit works: batches of 1 under load mean a commit per contact.
  const batchSize = new Histogram({
    name: 'rapport_intake_batch_size',
    help: 'Contacts per intake batch (one transaction and one commit each)',
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [registry],
  });
  const stopBatches = intakeQueue(database.db, app.log).onBatch((size) => batchSize.observe(size));
  app.addHook('onClose', async () => stopBatches());
  new Gauge({
    name: 'rapport_notification_queue_usage_ratio',
    help: 'Share of the database notification queue in use (at 1, writes that notify fail)',
    registers: [registry],
    async collect() {
      const [row] = await rows<{ usage: number }>(
        database.db,
        sql`select pg_notification_queue_usage() as usage`,
      );
      this.set(Number(row?.usage ?? 0));
    },
  });
  new Gauge({
    name: 'rapport_bus_other_nodes',
    help: 'Other app nodes listening on this database; the intake sends its realtime notices to them by NOTIFY',
    registers: [registry],
    collect() {
      this.set(bus.otherNodes());
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route || route === '/metrics') return;
    latency.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get(
    '/metrics',
    { config: { permission: 'public' }, schema: { hide: true } },
    async (_request, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
  return { registry, contactsIngested, acknowledgementsSuppressed };
}
