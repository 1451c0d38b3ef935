/**
 * What the chat module reads and writes: chat channels as the public widget finds them (by id,
 * before anyone names a tenant), chat sessions by resume token, and a session's messages in the
 * widget's shape. Every query past the channel lookup is scoped by tenant.
 */
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { ChatAgent, ChatMessage } from '../../../shared/api/chat.ts';
import { type Executor, rows } from '../../db/client.ts';
import { channels, chatSessions } from '../../db/schema/index.ts';

export type ChatChannelRow = typeof channels.$inferSelect;
export type ChatSessionRow = typeof chatSessions.$inferSelect;

/** A session not used for this long no longer resumes: the widget starts a new one. */
export const SESSION_IDLE_DAYS = 30;

/** The active chat channel with this id, in whichever tenant holds it. */
export async function findChatChannel(db: Executor, channelId: string): Promise<ChatChannelRow | null> {
  const [row] = await db
    .select()
    .from(channels)
    .where(and(eq(channels.id, channelId), eq(channels.type, 'chat'), eq(channels.active, true)));
  return row ?? null;
}

export async function insertChatSession(db: Executor, values: typeof chatSessions.$inferInsert) {
  const [row] = await db.insert(chatSessions).values(values).returning();
  return row!;
}

/** A live session by its token's hash: not ended, used within SESSION_IDLE_DAYS, channel active. */
export async function findSessionByToken(db: Executor, tokenHash: string, id?: string) {
  const [row] = await db
    .select({ session: chatSessions, channel: channels })
    .from(chatSessions)
    .innerJoin(
      channels,
      and(eq(channels.tenantId, chatSessions.tenantId), eq(channels.id, chatSessions.channelId)),
    )
    .where(
      and(
        eq(chatSessions.tokenHash, tokenHash),
        ...(id ? [eq(chatSessions.id, id)] : []),
        isNull(chatSessions.endedAt),
        eq(channels.active, true),
        gt(
          sql`coalesce(${chatSessions.lastSeenAt}, ${chatSessions.createdAt})`,
          sql`now() - make_interval(days => ${SESSION_IDLE_DAYS})`,
        ),
      ),
    );
  return row ?? null;
}

/** Follows the case the session's latest message joined, and marks the session as used. */
export async function touchSession(
  db: Executor,
  tenantId: string,
  id: string,
  where: { caseId: string; messageId: string } | null,
) {
  await db.execute(
    where
      ? sql`update chat_sessions s set case_id = ${where.caseId}, last_seen_at = now(),
              conversation_id = (select conversation_id from messages
                                 where tenant_id = ${tenantId} and id = ${where.messageId})
            where s.tenant_id = ${tenantId} and s.id = ${id}`
      : sql`update chat_sessions set last_seen_at = now() where tenant_id = ${tenantId} and id = ${id}`,
  );
}

/** Whether a chat contact with this external id was stored already. */
export async function hasChatContact(db: Executor, tenantId: string, externalId: string): Promise<boolean> {
  const [row] = await rows<{ id: string }>(
    db,
    sql`select id from contacts where tenant_id = ${tenantId} and channel = 'chat' and external_id = ${externalId}`,
  );
  return row !== undefined;
}

/** Only URLs a browser may load as an image without running anything. */
export function safeAvatar(url: string | null): string | null {
  if (!url) return null;
  return /^(https?:\/\/|\/(?!\/)|data:image\/(png|jpeg|gif|webp);)/i.test(url) ? url : null;
}

interface MessageRow {
  id: string;
  case_id: string;
  kind: string;
  channel: string;
  text: string;
  created_at: string | Date;
  display_name: string | null;
  avatar_url: string | null;
  external_id: string | null;
  files: ChatMessage['attachments'] | string | null;
}

const MESSAGE_COLUMNS = sql`m.id, m.case_id, m.kind, m.channel, m.text, m.created_at, u.display_name, u.avatar_url,
  c.external_id,
  (select json_agg(json_build_object('id', a.id, 'filename', a.filename, 'size', a.size, 'contentType', a.content_type)
                   order by a.created_at)
     from attachments a where a.tenant_id = m.tenant_id and a.message_id = m.id) as files`;
const MESSAGE_JOINS = sql`left join users u on u.tenant_id = m.tenant_id and u.id = m.author_user_id
  left join contacts c on c.tenant_id = m.tenant_id and c.case_id = m.case_id and c.message_id = m.id`;

/** The contact's external id of a widget message: `<session id>:<client id>`. */
export const chatExternalId = (sessionId: string, clientId: string) => `${sessionId}:${clientId}`;

function toChatMessage(row: MessageRow): ChatMessage {
  const files = typeof row.files === 'string' ? JSON.parse(row.files) : (row.files ?? []);
  return {
    id: row.id,
    from: row.kind === 'inbound' ? 'visitor' : 'agent',
    text: row.text,
    at: new Date(row.created_at).toISOString(),
    clientId: row.kind === 'inbound' && row.external_id ? (row.external_id.split(':').at(-1) ?? null) : null,
    author:
      row.kind === 'outbound' && row.display_name
        ? { name: row.display_name, avatarUrl: safeAvatar(row.avatar_url) }
        : null,
    attachments: files,
  };
}

/** The chat message an event announced (contact.received, message.replied), with its case; else null. */
export async function findMessageOfEvent(
  db: Executor,
  tenantId: string,
  eventId: number,
): Promise<{ caseId: string; message: ChatMessage } | null> {
  const [row] = await rows<MessageRow>(
    db,
    sql`select ${MESSAGE_COLUMNS} from events e
        join messages m on m.tenant_id = e.tenant_id and m.id = (e.data->>'messageId')::uuid
        ${MESSAGE_JOINS}
        where e.id = ${eventId} and e.tenant_id = ${tenantId}
          and m.channel = 'chat' and m.kind in ('inbound', 'outbound')`,
  );
  return row ? { caseId: row.case_id, message: toChatMessage(row) } : null;
}

export async function findChatMessage(db: Executor, tenantId: string, messageId: string) {
  const [row] = await rows<MessageRow>(
    db,
    sql`select ${MESSAGE_COLUMNS} from messages m ${MESSAGE_JOINS}
        where m.tenant_id = ${tenantId} and m.id = ${messageId}`,
  );
  return row ? toChatMessage(row) : null;
}

type SessionScope = Pick<ChatSessionRow, 'tenantId' | 'customerId' | 'caseId' | 'createdAt'>;

/**
 * Whether message `m` is one of the session's chat messages: both ways, on the cases its
 * customer had since the session began (a resolved case followed by a new one keeps the whole
 * chat). Notes never. The widget shows these, and downloads only their files.
 */
function ofSession(session: SessionScope) {
  const since = session.createdAt.toISOString();
  return sql`m.tenant_id = ${session.tenantId} and m.channel = 'chat' and m.kind in ('inbound', 'outbound')
    and m.created_at >= ${since}
    and m.case_id in (select id from cases where tenant_id = ${session.tenantId}
                        and (customer_id = ${session.customerId} and updated_at >= ${since}
                             or id = ${session.caseId}))`;
}

/** The session's chat messages, oldest first. */
export async function listSessionMessages(
  db: Executor,
  session: SessionScope,
  limit = 500,
): Promise<ChatMessage[]> {
  const list = await rows<MessageRow>(
    db,
    sql`select ${MESSAGE_COLUMNS} from messages m ${MESSAGE_JOINS}
        where ${ofSession(session)}
        order by m.created_at desc, m.id desc limit ${limit}`,
  );
  return list.reverse().map(toChatMessage);
}

/** A file on one of the session's messages, as the visitor may download it; else null. */
export async function findSessionFile(db: Executor, session: SessionScope, attachmentId: string) {
  const [row] = await rows<{ filename: string; content_type: string; storage_key: string }>(
    db,
    sql`select a.filename, a.content_type, a.storage_key from attachments a
        join messages m on m.tenant_id = a.tenant_id and m.id = a.message_id
        where a.tenant_id = ${session.tenantId} and a.id = ${attachmentId} and ${ofSession(session)}`,
  );
  return row ? { filename: row.filename, contentType: row.content_type, storageKey: row.storage_key } : null;
}

/** The case's owner as the visitor sees them (name and photo); null while it has none. */
export async function findCaseOwner(
  db: Executor,
  tenantId: string,
  caseId: string,
): Promise<ChatAgent | null> {
  const [row] = await rows<{ display_name: string; avatar_url: string | null }>(
    db,
    sql`select u.display_name, u.avatar_url from cases c
        join users u on u.tenant_id = c.tenant_id and u.id = c.owner_id
        where c.tenant_id = ${tenantId} and c.id = ${caseId}`,
  );
  return row ? { name: row.display_name, avatarUrl: safeAvatar(row.avatar_url) } : null;
}

/** The tenant's first active email channel with an address: where mail from the chat comes from. */
export async function findEmailChannel(db: Executor, tenantId: string) {
  const [row] = await db
    .select()
    .from(channels)
    .where(
      and(
        eq(channels.tenantId, tenantId),
        eq(channels.type, 'email'),
        eq(channels.active, true),
        sql`${channels.address} is not null`,
      ),
    )
    .orderBy(asc(channels.createdAt))
    .limit(1);
  return row ?? null;
}

export async function findCaseNumber(db: Executor, tenantId: string, caseId: string): Promise<number | null> {
  const [row] = await rows<{ number: number }>(
    db,
    sql`select number from cases where tenant_id = ${tenantId} and id = ${caseId}`,
  );
  return row?.number ?? null;
}

/** Mail of `kind` queued to `recipient` in the last `hours`, counted under a lock on the pair. */
export async function countRecentMail(
  db: Executor,
  tenantId: string,
  recipient: string,
  kind: string,
  hours: number,
) {
  await db.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`${kind}:${tenantId}:${recipient}`}, 0))`,
  );
  const [row] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from email_outbox
        where tenant_id = ${tenantId} and recipient = ${recipient} and kind = ${kind}
          and created_at > now() - make_interval(hours => ${hours})`,
  );
  return row?.n ?? 0;
}

/** The display name of a staff user (who is typing). */
export async function findUserName(db: Executor, tenantId: string, userId: string): Promise<string | null> {
  const [row] = await rows<{ display_name: string }>(
    db,
    sql`select display_name from users where tenant_id = ${tenantId} and id = ${userId}`,
  );
  return row?.display_name ?? null;
}
