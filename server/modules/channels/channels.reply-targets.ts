/**
 * Where a case can be answered on a messaging platform: each platform channel its customer wrote
 * on in this case (contacts.attributes.channelId), who to send to there, and what the platform
 * allows now — the 24-hour window of WhatsApp, Messenger and Instagram (from the customer's last
 * message to that account, on any of their cases; Messenger and Instagram then take a reply tagged
 * HUMAN_AGENT for 7 days), X's choice of a public reply (to their latest post here) or a DM.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { ReplyOption, ReplyTemplate } from '../../../shared/api/reply-options.ts';
import { templateParameters } from '../../../shared/domain/social-text.ts';
import { type Executor, rows } from '../../db/client.ts';
import { channels } from '../../db/schema/index.ts';
import type { ChannelRow } from './channels.queries.ts';
import { platformFor } from './platforms/index.ts';
import { HUMAN_AGENT_HOURS } from './platforms/meta.ts';
import { DM_MAX_LENGTH, TWEET_MAX_LENGTH, type Visibility } from './platforms/x.ts';

const HOUR = 3_600_000;

export interface ReplyTarget {
  channel: ChannelRow;
  /** The customer's address on the platform, from their latest message there; null when unknown. */
  recipient: string | null;
  /** Their latest message on this channel in this case. */
  lastInboundAt: Date;
  /** WhatsApp, Messenger, Instagram: when free-form replies to `recipient` stop being allowed. */
  windowClosesAt: Date | null;
  /** Messenger, Instagram: until when a reply after the window may go tagged HUMAN_AGENT. */
  humanAgentUntil: Date | null;
  /** X: the post a public reply answers (their latest public one here), and how they last wrote. */
  lastPostId: string | null;
  lastVisibility: Visibility | null;
}

interface LatestRow {
  channel_id: string;
  attributes: Record<string, unknown>;
  received_at: string | Date;
}

/** The customer's address in a contact's attributes, as each adapter records it. */
function recipientOf(type: string, attributes: Record<string, unknown>): string | null {
  if (type === 'whatsapp' && typeof attributes.waId === 'string') return `+${attributes.waId}`;
  return typeof attributes.from === 'string' ? attributes.from : null;
}

/** The platform channels of a case, latest contact first (the default place for a reply). */
export async function replyTargets(
  db: Executor,
  tenantId: string,
  current: { id: string; customerId: string },
): Promise<ReplyTarget[]> {
  // contacts_case (tenant_id, case_id, received_at): a case's few contacts.
  const latest = await rows<LatestRow>(
    db,
    sql`select distinct on (attributes->>'channelId') attributes->>'channelId' as channel_id, attributes, received_at
        from contacts
        where tenant_id = ${tenantId} and case_id = ${current.id} and attributes ? 'channelId'
        order by attributes->>'channelId', received_at desc`,
  );
  const ids = latest.map((r) => r.channel_id).filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (ids.length === 0) return [];
  const found = await db
    .select()
    .from(channels)
    .where(and(eq(channels.tenantId, tenantId), inArray(channels.id, ids), eq(channels.active, true)));
  const targets: ReplyTarget[] = [];
  for (const row of latest) {
    const channel = found.find((c) => c.id === row.channel_id);
    if (!channel || !platformFor(channel.type)?.replyLimits) continue;
    const recipient = recipientOf(channel.type, row.attributes);
    const target: ReplyTarget = {
      channel,
      recipient,
      lastInboundAt: new Date(row.received_at),
      windowClosesAt: null,
      humanAgentUntil: null,
      lastPostId: null,
      lastVisibility: null,
    };
    if (recipient && channel.type in addressKey) {
      const last = await lastMessageFrom(db, tenantId, current.customerId, channel, recipient);
      const hours = platformFor(channel.type)!.replyLimits!.replyWindowHours!;
      target.windowClosesAt = last && new Date(last.getTime() + hours * HOUR);
      if (channel.type !== 'whatsapp')
        target.humanAgentUntil = last && new Date(last.getTime() + HUMAN_AGENT_HOURS * HOUR);
    }
    if (channel.type === 'x') {
      target.lastVisibility = row.attributes.visibility === 'public' ? 'public' : 'direct';
      target.lastPostId = await lastPost(db, tenantId, current.id, channel.id);
    }
    targets.push(target);
  }
  return targets.sort((a, b) => b.lastInboundAt.getTime() - a.lastInboundAt.getTime());
}

/** Where a windowed platform's contacts keep the customer's address (recipientOf, without WhatsApp's +). */
const addressKey: Record<string, string> = { whatsapp: 'waId', messenger: 'from', instagram: 'from' };

/**
 * The customer's latest message to this channel from `recipient`, on any of their cases
 * (cases_customer, then contacts_case): a platform's reply window runs from it.
 */
async function lastMessageFrom(
  db: Executor,
  tenantId: string,
  customerId: string,
  channel: ChannelRow,
  recipient: string,
): Promise<Date | null> {
  const address = channel.type === 'whatsapp' ? recipient.replace(/^\+/, '') : recipient;
  const [row] = await rows<{ last: string | Date | null }>(
    db,
    sql`select max(ct.received_at) as last
        from cases c join contacts ct on ct.tenant_id = c.tenant_id and ct.case_id = c.id
        where c.tenant_id = ${tenantId} and c.customer_id = ${customerId}
          and ct.channel = ${channel.type} and ct.attributes->>'channelId' = ${channel.id}
          and ct.attributes->>${addressKey[channel.type]!} = ${address}`,
  );
  return row?.last ? new Date(row.last) : null;
}

/** The customer's latest public post in this case on this X account: what a public reply answers. */
async function lastPost(db: Executor, tenantId: string, caseId: string, channelId: string) {
  const [row] = await rows<{ tweet_id: string }>(
    db,
    sql`select attributes->>'tweetId' as tweet_id from contacts
        where tenant_id = ${tenantId} and case_id = ${caseId} and attributes->>'channelId' = ${channelId}
          and attributes->>'visibility' = 'public' and attributes ? 'tweetId'
        order by received_at desc limit 1`,
  );
  return row?.tweet_id ?? null;
}

/** X: whether each message the customer sent on this case was a public post or a DM, by message id. */
export async function inboundVisibilities(db: Executor, tenantId: string, caseId: string) {
  const list = await rows<{ message_id: string; visibility: string }>(
    db,
    sql`select message_id, attributes->>'visibility' as visibility from contacts
        where tenant_id = ${tenantId} and case_id = ${caseId} and channel = 'x' and attributes ? 'visibility'`,
  );
  return new Map(list.map((r) => [r.message_id, r.visibility]));
}

export function channelTemplates(channel: ChannelRow): ReplyTemplate[] {
  if (channel.type !== 'whatsapp') return [];
  const list = ((channel.settings as { templates?: unknown }).templates ?? []) as {
    name: string;
    language: string;
    text: string;
  }[];
  return list.map((t) => ({ ...t, parameters: templateParameters(t.text) }));
}

/** A target as the composer is shown it (GET /api/v1/cases/{id}/reply-options). */
export function toReplyOption(target: ReplyTarget, now: Date): ReplyOption {
  const { channel } = target;
  const limits = platformFor(channel.type)!.replyLimits!;
  const x = channel.type === 'x';
  return {
    channelId: channel.id,
    type: channel.type as ReplyOption['type'],
    name: channel.name,
    recipient: target.recipient,
    lastInboundAt: target.lastInboundAt.toISOString(),
    limits,
    window: target.windowClosesAt
      ? {
          hours: limits.replyWindowHours!,
          open: target.windowClosesAt.getTime() > now.getTime(),
          closesAt: target.windowClosesAt.toISOString(),
          ...(target.humanAgentUntil ? { humanAgentUntil: target.humanAgentUntil.toISOString() } : {}),
        }
      : null,
    templates: channelTemplates(channel),
    visibilities: x
      ? [
          ...(target.lastPostId
            ? [
                {
                  visibility: 'public' as const,
                  maxLength: TWEET_MAX_LENGTH,
                  inReplyToPostId: target.lastPostId,
                },
              ]
            : []),
          { visibility: 'direct' as const, maxLength: DM_MAX_LENGTH },
        ]
      : [],
    defaultVisibility: x ? (target.lastPostId ? target.lastVisibility : 'direct') : null,
  };
}
