/**
 * What a verified webhook delivery does: each inbound message becomes a contact through the
 * intake (idempotent on the platform's message id, so a redelivery or a concurrent duplicate
 * stores one message), with what the platform says about its sender kept on their identity in
 * the same transaction; each status callback moves its delivery on, each finished call is logged.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Channel } from '../../../shared/domain/channels.ts';
import { systemActor } from '../../context.ts';
import type { Db } from '../../db/client.ts';
import { receiveContact } from '../contacts/receive-contact.ts';
import { applyStatus } from './channels.deliveries.ts';
import type { ChannelRow } from './channels.queries.ts';
import type { CallRecord, ParsedWebhook } from './platforms/platform.ts';

export interface WebhookOutcome {
  created: number;
  duplicates: number;
  statuses: number;
  calls: number;
}

export interface WebhookDeps {
  db: Db;
  log: FastifyBaseLogger;
  /** Logs a finished call reported by the telephony platform (the phone channel). */
  logCall?: (channel: ChannelRow, call: CallRecord) => Promise<boolean>;
}

const TEXT_MAX = 200_000;

export async function receiveWebhook(deps: WebhookDeps, channel: ChannelRow, parsed: ParsedWebhook) {
  const outcome: WebhookOutcome = { created: 0, duplicates: 0, statuses: 0, calls: 0 };
  const ctx = {
    tenantId: channel.tenantId,
    actor: systemActor,
    db: deps.db,
    log: deps.log,
    now: () => new Date(),
  };
  for (const c of parsed.contacts) {
    const result = await receiveContact(
      ctx,
      {
        channel: channel.type as Channel,
        from: { identity: c.identity, ...(c.name ? { name: c.name.slice(0, 200) } : {}) },
        text: c.text.slice(0, TEXT_MAX),
        externalId: c.externalId,
        ...(c.receivedAt ? { receivedAt: c.receivedAt } : {}),
        // Which of the tenant's channels it came in on and from whom: replies go back the same way.
        attributes: { from: c.identity, ...c.attributes, channelId: channel.id },
      },
      c.attributes.profile ? { profile: c.attributes.profile } : {},
    );
    if (result.duplicate) outcome.duplicates++;
    else outcome.created++;
  }
  for (const s of parsed.statuses) {
    if (await applyStatus(deps.db, channel, s)) outcome.statuses++;
  }
  for (const call of parsed.calls) {
    if (deps.logCall && (await deps.logCall(channel, call))) outcome.calls++;
  }
  return outcome;
}
