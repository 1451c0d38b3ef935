/**
 * A file a visitor sends in the chat: one per upload, within CHAT_ATTACHMENT_MAX_BYTES, of an
 * allowed type whose bytes say the same (a "PNG" must start like one: SECURITY.md XS-03). The
 * bytes go to the attachment store first (durable, content-addressed), then the file is a
 * visitor message (a contact, idempotent on the client id) with an attachment row. Agents
 * download it through /api/v1/attachments/:id, the visitor through
 * /widget/v1/sessions/:id/attachments/:attachmentId, always as a file. An agent's files in the
 * chat pass the same checkChatFile (addMessage).
 */
import { and, eq, sql } from 'drizzle-orm';
import {
  CHAT_ATTACHMENT_MAX_BYTES,
  CHAT_ATTACHMENT_TYPES,
  type ChatMessage,
} from '../../../shared/api/chat.ts';
import { attachments } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import type { AttachmentStore } from '../email/email.attachments.ts';
import { cleanName } from '../messages/message-email.ts';
import { type ChatSessionRow, touchSession } from './chat.queries.ts';
import { type ChatDeps, sendVisitorMessage } from './chat.sessions.ts';

/** How each binary type begins; text/plain has no signature but must be UTF-8 without NUL. */
const SIGNATURES: Record<string, (b: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/gif': (b) => ['GIF87a', 'GIF89a'].includes(b.subarray(0, 6).toString('latin1')),
  'image/webp': (b) =>
    b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  'application/pdf': (b) => b.subarray(0, 5).toString('latin1') === '%PDF-',
  'text/plain': (b) => !b.includes(0) && Buffer.from(b.toString('utf8'), 'utf8').equals(b),
};

/** Refuses what may not be stored, before anything is. */
export function checkChatFile(contentType: string, bytes: Buffer): string {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (bytes.length === 0)
    throw new AppError('validation_failed', 'The file is empty', [{ path: 'body', message: 'is empty' }]);
  if (bytes.length > CHAT_ATTACHMENT_MAX_BYTES)
    throw new AppError(
      'payload_too_large',
      `Files in the chat are at most ${CHAT_ATTACHMENT_MAX_BYTES / 1024 / 1024} MB`,
    );
  if (!(CHAT_ATTACHMENT_TYPES as readonly string[]).includes(type))
    throw new AppError(
      'unsupported_media_type',
      `Send images (PNG, JPEG, GIF, WebP), PDF or plain text; not ${type.slice(0, 100) || 'this type'}`,
    );
  if (!SIGNATURES[type]!(bytes))
    throw new AppError('unsupported_media_type', `The file's contents are not ${type}`);
  return type;
}

export async function addVisitorFile(
  deps: Pick<ChatDeps, 'db' | 'log'> & { store: AttachmentStore },
  session: ChatSessionRow,
  input: { clientId: string; filename: string; contentType: string; bytes: Buffer },
): Promise<{ caseId: string; message: ChatMessage }> {
  const contentType = checkChatFile(input.contentType, input.bytes);
  const filename = cleanName(input.filename);
  const stored = await deps.store.put(input.bytes, { filename, contentType });
  const sent = await sendVisitorMessage(deps, session, {
    clientId: input.clientId,
    text: `Sent a file: ${filename}`,
  });
  const { tenantId } = session;
  const messageId = sent.message.id;
  // A retried upload finds its message; its file row is written once, also when two race.
  const id = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`chat-file:${messageId}`}, 0))`);
    const [existing] = await tx
      .select({ id: attachments.id })
      .from(attachments)
      .where(and(eq(attachments.tenantId, tenantId), eq(attachments.messageId, messageId)));
    if (existing) return existing.id;
    const [row] = await tx
      .insert(attachments)
      .values({
        tenantId,
        messageId,
        filename,
        contentType,
        size: stored.size,
        sha256: stored.sha256,
        storageKey: stored.key,
      })
      .returning({ id: attachments.id });
    return row!.id;
  });
  // Files are rare: touching each time keeps last_seen_at, which decides whether a chat continues.
  await touchSession(deps.db, tenantId, session.id, { caseId: sent.caseId, messageId });
  return {
    caseId: sent.caseId,
    message: { ...sent.message, attachments: [{ id, filename, size: stored.size, contentType }] },
  };
}
