/**
 * Where a case can be answered on a messaging platform: each platform channel its customer wrote
 * on in this case (contacts.attributes.channelId), who to send to there, and what the platform
 * allows now — WhatsApp's 24-hour customer-care window (from the customer's last message to that
 * number, on any of their cases), X's choice of a public reply (to their latest post here) or a DM.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { ReplyOption, ReplyTemplate } from '../../../shared/api/reply-options.ts';
import { templateParameters } from '../../../shared/domain/social-text.ts';
import { type Executor, rows } from '../../db/client.ts';
import { channels } from '../../db/schema/index.ts';
import type { ChannelRow } from './channels.queries.ts';
import { platformFor } from './platforms/index.ts';
import { WHATSAPP_WINDOW_HOURS } from './platforms/whatsapp.ts';
import { DM_MAX_LENGTH, TWEET_MAX_LENGTH, type Visibility } from './platforms/x.ts';

const HOUR = 3_600_000;

export interface ReplyTarget {
  channel: ChannelRow;
  /** The customer's address on the platform, from their latest message there; null when unknown. */
  recipient: string | null;
  /** Their latest message on this channel in this case. */
  lastInboundAt: Date;
  /** WhatsApp: when free-form replies to `recipient` stop being allowed. */
  windowClosesAt: Date | null;
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
      lastPostId: null,
      lastVisibility: null,
    };
    if (channel.type === 'whatsapp' && recipient) {
      target.windowClosesAt = await windowClosesAt(db, tenantId, current.customerId, channel.id, recipient);
    }
    if (channel.type === 'x') {
      target.lastVisibility = row.attributes.visibility === 'public' ? 'public' : 'direct';
      target.lastPostId = await lastPost(db, tenantId, current.id, channel.id);
    }
    targets.push(target);
  }
  return targets.sort((a, b) => b.lastInboundAt.getTime() - a.lastInboundAt.getTime());
}

/**
 * The end of WhatsApp's customer-care window with this number: 24 hours after the customer's
 * latest message to it from `recipient`, on any of their cases (cases_customer, then contacts_case).
 */
async function windowClosesAt(
  db: Executor,
  tenantId: string,
  customerId: string,
  channelId: string,
  recipient: string,
): Promise<Date | null> {
  const [row] = await rows<{ last: string | Date | null }>(
    db,
    sql`select max(ct.received_at) as last
        from cases c join contacts ct on ct.tenant_id = c.tenant_id and ct.case_id = c.id
        where c.tenant_id = ${tenantId} and c.customer_id = ${customerId}
          and ct.channel = 'whatsapp' and ct.attributes->>'channelId' = ${channelId}
          and ct.attributes->>'waId' = ${recipient.replace(/^\+/, '')}`,
  );
  return row?.last ? new Date(new Date(row.last).getTime() + WHATSAPP_WINDOW_HOURS * HOUR) : null;
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
          hours: limits.replyWindowHours ?? WHATSAPP_WINDOW_HOURS,
          open: target.windowClosesAt.getTime() > now.getTime(),
          closesAt: target.windowClosesAt.toISOString(),
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
