/**
 * A visitor's chat: starting a session (pre-chat name and email, optionally a signed identity),
 * resuming it by token, each message through the intake as a contact on channel 'chat', and the
 * offline form.
 *
 * Who the visitor is: a valid signed identity makes them the customer with that external id
 * (verified). Everyone else is a new customer whose only identity is the session's chat visitor
 * id: an email typed into a form is a claim, kept on the session (and on the offline form, added
 * to the new customer only when nobody has it yet), never a key into an existing customer.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ChatMessage, ChatSessionInput, OfflineMessageInput } from '../../../shared/api/chat.ts';
import { type Ctx, systemActor } from '../../context.ts';
import type { Db, Executor } from '../../db/client.ts';
import { AppError } from '../../errors.ts';
import { newSecret, sha256 } from '../../lib/secrets.ts';
import { receiveContact } from '../contacts/receive-contact.ts';
import { createCustomer, findOrCreateCustomer, preferChannelIfUnset } from '../customers/create-customer.ts';
import { type ParsedIdentity, parseEmail } from '../customers/customers.identity.ts';
import { verifySignedIdentity } from './chat.identity.ts';
import {
  type ChatChannelRow,
  type ChatSessionRow,
  chatExternalId,
  findChatChannel,
  findSessionByToken,
  hasChatContact,
  insertChatSession,
  touchSession,
} from './chat.queries.ts';

export interface ChatDeps {
  db: Db;
  log: FastifyBaseLogger;
  /** deriveKey(app secret, 'channel-secrets'): opens channels.secrets. */
  secretKey: Buffer;
}

/** What the browser told us besides the form, kept for the agent's information. */
export interface VisitorMeta {
  page?: string;
  userAgent?: string;
}

export async function getChatChannel(db: Executor, channelId: string): Promise<ChatChannelRow> {
  const channel = await findChatChannel(db, channelId);
  if (!channel) throw new AppError('channel_not_found', 'No such chat here');
  return channel;
}

function visitorEmail(raw: string | undefined, path: string): string | null {
  if (raw === undefined) return null;
  try {
    return parseEmail(raw).value;
  } catch {
    throw new AppError('validation_failed', `"${raw.slice(0, 80)}" is not an email address`, [
      { path, message: 'must be an email address' },
    ]);
  }
}

/** The identity a session's messages arrive with: the signed external id, else the visitor id. */
export function sessionIdentity(session: Pick<ChatSessionRow, 'id' | 'verifiedUserId'>): ParsedIdentity {
  return session.verifiedUserId
    ? { kind: 'external', platform: '', value: session.verifiedUserId }
    : { kind: 'chat', platform: '', value: session.id };
}

const attributes = (meta: VisitorMeta) => ({
  ...(meta.page ? { page: meta.page.slice(0, 2000) } : {}),
  ...(meta.userAgent ? { userAgent: meta.userAgent.slice(0, 400) } : {}),
});

/**
 * The customer a new session belongs to, in the caller's transaction: the signed-in one, or a
 * new customer holding the visitor id (plus the email only when `emailIfFree` and nobody has it).
 */
async function sessionCustomer(
  tx: Executor,
  channel: ChatChannelRow,
  sessionId: string,
  visitor: { name: string | null; email: string | null; userId: string | null },
  options: { emailIfFree?: boolean; preferredChannel?: string } = {},
): Promise<string> {
  if (visitor.userId) {
    const identity: ParsedIdentity = { kind: 'external', platform: '', value: visitor.userId };
    return (await findOrCreateCustomer(tx, channel.tenantId, identity, visitor.name, systemActor)).id;
  }
  const email = options.emailIfFree && visitor.email ? visitor.email : null;
  const { id } = await createCustomer(
    tx,
    channel.tenantId,
    {
      name: visitor.name,
      preferredChannel: options.preferredChannel ?? null,
      identities: [
        { kind: 'chat', platform: '', value: sessionId, verified: true },
        ...(email
          ? [{ kind: 'email' as const, platform: '', value: email, verified: false, ifFree: true }]
          : []),
      ],
    },
    systemActor,
  );
  return id;
}

/** Starts a session; the token is returned once, only its SHA-256 is stored. */
export async function startChatSession(
  deps: ChatDeps,
  channel: ChatChannelRow,
  input: ChatSessionInput,
  meta: VisitorMeta,
) {
  const email = visitorEmail(input.email, 'body.email');
  const userId = input.identity
    ? verifySignedIdentity(deps.secretKey, channel, input.identity, deps.log)
    : null;
  const name = input.name?.trim() || null;
  const id = randomUUID();
  const token = newSecret('wcs_');
  const session = await deps.db.transaction(async (tx) => {
    const customerId = await sessionCustomer(tx, channel, id, { name, email, userId });
    return insertChatSession(tx, {
      tenantId: channel.tenantId,
      id,
      channelId: channel.id,
      customerId,
      tokenHash: sha256(token),
      visitorName: name,
      visitorEmail: email,
      verifiedUserId: userId,
      attributes: attributes({ ...meta, page: input.page ?? meta.page }),
    });
  });
  return { session, token };
}

/** A live session by token (and id, when the route names one); 404 otherwise, whatever the reason. */
export async function resumeChatSession(db: Executor, token: string, id?: string) {
  const found = token ? await findSessionByToken(db, sha256(token), id) : null;
  if (!found) throw new AppError('chat_session_not_found', 'No such chat session, or it has ended');
  return found;
}

/**
 * How long a chat may fall silent and still be the same contact. A session's first line is a
 * contact; its further lines continue it on the same case (not repeats), unless the visitor
 * comes back to the session after this long, or the case was resolved meanwhile.
 */
export const CHAT_CONTACT_IDLE_MS = 30 * 60_000;

/** Whether a visitor's next line continues the contact their session already made. */
export function continuesContact(session: Pick<ChatSessionRow, 'caseId' | 'lastSeenAt'>, now: Date): boolean {
  return (
    session.caseId !== null &&
    session.lastSeenAt !== null &&
    now.getTime() - session.lastSeenAt.getTime() < CHAT_CONTACT_IDLE_MS
  );
}

/**
 * One visitor message through the intake on channel 'chat', idempotent on the widget's client
 * id: a resend after a lost acknowledgement returns the stored message.
 */
export async function sendVisitorMessage(
  deps: Pick<ChatDeps, 'db' | 'log'>,
  session: ChatSessionRow,
  input: { clientId: string; text: string },
): Promise<{ caseId: string; message: ChatMessage; duplicate: boolean }> {
  const ctx: Ctx = {
    tenantId: session.tenantId,
    actor: systemActor,
    db: deps.db,
    log: deps.log,
    now: () => new Date(),
  };
  const identity = sessionIdentity(session);
  const continuation = continuesContact(session, ctx.now());
  const result = await receiveContact(
    ctx,
    {
      channel: 'chat',
      from: { identity: identity.value, ...(session.visitorName ? { name: session.visitorName } : {}) },
      text: input.text,
      externalId: chatExternalId(session.id, input.clientId),
      // What the visitor typed before the chat, unverified: for the agent's information only.
      attributes: {
        chatSessionId: session.id,
        channelId: session.channelId,
        ...(session.visitorEmail ? { visitorEmail: session.visitorEmail } : {}),
      },
    },
    continuation ? { identity, caseId: session.caseId!, continuation } : { identity },
  );
  return {
    caseId: result.case.id,
    duplicate: result.duplicate,
    message: {
      id: result.contact.messageId,
      from: 'visitor',
      text: input.text.replaceAll('\u0000', ''),
      at: result.contact.receivedAt,
      clientId: input.clientId,
      author: null,
      attachments: [],
    },
  };
}

/**
 * The offline form: the message becomes a contact on channel 'chat' and the customer prefers
 * email, so the answer goes there. Idempotent on the form's client id.
 */
export async function submitOfflineMessage(
  deps: ChatDeps,
  channel: ChatChannelRow,
  input: OfflineMessageInput,
  meta: VisitorMeta,
) {
  const email = visitorEmail(input.email, 'body.email')!;
  const userId = input.identity
    ? verifySignedIdentity(deps.secretKey, channel, input.identity, deps.log)
    : null;
  const externalId = `offline:${channel.id}:${input.clientId}`;
  if (await hasChatContact(deps.db, channel.tenantId, externalId)) return { duplicate: true };

  const name = input.name?.trim() || null;
  const id = randomUUID();
  const session = await deps.db.transaction(async (tx) => {
    const customerId = await sessionCustomer(
      tx,
      channel,
      id,
      { name, email, userId },
      { emailIfFree: true, preferredChannel: 'email' },
    );
    if (userId) await preferChannelIfUnset(tx, channel.tenantId, customerId, 'email');
    return insertChatSession(tx, {
      tenantId: channel.tenantId,
      id,
      channelId: channel.id,
      customerId,
      tokenHash: sha256(newSecret()),
      visitorName: name,
      visitorEmail: email,
      verifiedUserId: userId,
      attributes: { ...attributes({ ...meta, page: input.page ?? meta.page }), offline: true },
      endedAt: new Date(),
    });
  });
  const identity = sessionIdentity(session);
  const ctx: Ctx = {
    tenantId: channel.tenantId,
    actor: systemActor,
    db: deps.db,
    log: deps.log,
    now: () => new Date(),
  };
  const result = await receiveContact(
    ctx,
    {
      channel: 'chat',
      from: { identity: identity.value, ...(name ? { name } : {}) },
      text: input.text,
      externalId,
      attributes: { chatSessionId: id, channelId: channel.id, offline: true, replyTo: email },
    },
    { identity },
  );
  await touchSession(deps.db, channel.tenantId, id, {
    caseId: result.case.id,
    messageId: result.contact.messageId,
  });
  return { duplicate: result.duplicate };
}
