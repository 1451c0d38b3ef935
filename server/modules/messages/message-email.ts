/**
 * Showing an email message safely: its sanitised HTML as a standalone document for a sandboxed
 * iframe (no scripts, no requests: inline `cid:` images are embedded, remote images stay off
 * until the agent asks), and its attachments (and a chat visitor's files) as downloads that no
 * browser will render.
 * SECURITY.md XS-01..03, SS-03.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { EmailDetails, MessageFile } from '../../../shared/api/cases.ts';
import type { Executor } from '../../db/client.ts';
import { attachments, emailMessages } from '../../db/schema/index.ts';
import type { AttachmentStore } from '../email/email.attachments.ts';

/** Inline images embedded into the document up to this size each; larger ones are left out. */
const MAX_INLINE_IMAGE = 2 * 1024 * 1024;
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Types a browser may show inline; everything else is served as application/octet-stream. */
const SAFE_TYPES = new Set([...INLINE_IMAGE_TYPES, 'application/pdf', 'text/plain']);

/** The email side of these messages (those that are emails), for the timeline: two queries. */
export async function emailDetailsByMessage(
  db: Executor,
  tenantId: string,
  messageIds: string[],
): Promise<Map<string, EmailDetails>> {
  if (messageIds.length === 0) return new Map();
  const emails = await db
    .select()
    .from(emailMessages)
    .where(and(eq(emailMessages.tenantId, tenantId), inArray(emailMessages.messageId, messageIds)));
  if (emails.length === 0) return new Map();
  const files = await db
    .select()
    .from(attachments)
    .where(
      and(
        eq(attachments.tenantId, tenantId),
        inArray(
          attachments.messageId,
          emails.map((e) => e.messageId),
        ),
      ),
    );
  const addresses = (value: unknown) =>
    (Array.isArray(value) ? value : []).map((a: { address?: string; name?: string }) => ({
      address: String(a.address ?? ''),
      name: String(a.name ?? ''),
    }));
  return new Map(
    emails.map((e) => [
      e.messageId,
      {
        subject: e.subject,
        fromAddress: e.fromAddress,
        fromName: e.fromName,
        to: addresses(e.to),
        cc: addresses(e.cc),
        automatic: e.automatic,
        hasHtml: e.html !== null,
        attachments: files
          .filter((f) => f.messageId === e.messageId)
          .map((f) => ({
            id: f.id,
            filename: cleanName(f.filename),
            contentType: f.contentType,
            size: f.size,
            inline: f.inline,
          })),
      },
    ]),
  );
}

/** The files of these (chat) messages, for the timeline: one query. */
export async function filesByMessage(
  db: Executor,
  tenantId: string,
  messageIds: string[],
): Promise<Map<string, MessageFile[]>> {
  const byMessage = new Map<string, MessageFile[]>();
  if (messageIds.length === 0) return byMessage;
  const files = await db
    .select()
    .from(attachments)
    .where(and(eq(attachments.tenantId, tenantId), inArray(attachments.messageId, messageIds)))
    .orderBy(attachments.createdAt);
  for (const f of files) {
    const list = byMessage.get(f.messageId) ?? [];
    list.push({ id: f.id, filename: cleanName(f.filename), contentType: f.contentType, size: f.size });
    byMessage.set(f.messageId, list);
  }
  return byMessage;
}

export async function findEmailHtml(db: Executor, tenantId: string, messageId: string) {
  const [row] = await db
    .select({ html: emailMessages.html })
    .from(emailMessages)
    .where(and(eq(emailMessages.tenantId, tenantId), eq(emailMessages.messageId, messageId)));
  return row ?? null;
}

export async function listAttachments(db: Executor, tenantId: string, messageId: string) {
  return db
    .select()
    .from(attachments)
    .where(and(eq(attachments.tenantId, tenantId), eq(attachments.messageId, messageId)));
}

export async function findAttachment(db: Executor, tenantId: string, id: string) {
  const [row] = await db
    .select()
    .from(attachments)
    .where(and(eq(attachments.tenantId, tenantId), eq(attachments.id, id)));
  return row ?? null;
}

/**
 * The document the iframe loads. `html` was sanitised at ingest (allowlist); remote images were
 * moved to `data-remote-src` then, and come back as `src` only when `remoteImages` is set.
 */
export async function emailDocument(
  html: string,
  inline: (typeof attachments.$inferSelect)[],
  store: AttachmentStore,
  remoteImages: boolean,
): Promise<string> {
  const byCid = new Map(inline.filter((a) => a.contentId).map((a) => [a.contentId!.toLowerCase(), a]));
  let body = html;
  const cids = [...new Set([...html.matchAll(/src="cid:([^"]+)"/gi)].map((m) => m[1]!))];
  for (const cid of cids) {
    const found = byCid.get(cid.toLowerCase());
    let replacement = '';
    if (found && INLINE_IMAGE_TYPES.has(found.contentType) && found.size <= MAX_INLINE_IMAGE) {
      const bytes = await store.get(found.storageKey).catch(() => null);
      if (bytes) replacement = `data:${found.contentType};base64,${bytes.toString('base64')}`;
    }
    body = body.replaceAll(
      `src="cid:${cid}"`,
      replacement ? `src="${replacement}"` : 'data-missing-image=""',
    );
  }
  if (remoteImages) body = body.replaceAll(' data-remote-src="', ' src="');
  return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank">
<style>body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:8px;color:#1a1b1e;overflow-wrap:anywhere}img{max-width:100%;height:auto}img[data-remote-src]{display:inline-block;min-width:16px;min-height:16px;outline:1px dashed #adb5bd}blockquote{margin:0 0 0 8px;padding-left:8px;border-left:2px solid #ced4da;color:#495057}</style>
</head><body>${body}</body></html>`;
}

/** The CSP of the iframe's document: a sandbox with no scripts, no requests but images asked for. */
export function emailDocumentPolicy(remoteImages: boolean): string {
  return [
    'sandbox allow-popups allow-popups-to-escape-sandbox',
    "default-src 'none'",
    `img-src data:${remoteImages ? ' https: http:' : ''}`,
    "style-src 'unsafe-inline'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
}

/** What an attachment is served as: an allowlisted type or octet-stream, never inline HTML/SVG. */
export function downloadHeaders(row: { filename: string; contentType: string }): Record<string, string> {
  const type = SAFE_TYPES.has(row.contentType.toLowerCase())
    ? row.contentType.toLowerCase()
    : 'application/octet-stream';
  return {
    'content-type': type,
    'content-disposition': `attachment; filename="${asciiName(row.filename)}"; filename*=UTF-8''${encodeURIComponent(cleanName(row.filename))}`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "sandbox; default-src 'none'",
    'cache-control': 'private, no-store',
  };
}

/** A filename as a label only: no path, no control or bidi characters, bounded. */
export function cleanName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = [...base]
    .filter((c) => !isHidden(c.codePointAt(0)!))
    .join('')
    .replace(/^\.+/, '')
    .trim()
    .slice(0, 200);
  return cleaned || 'attachment';
}

/** Control characters and the marks that reorder text (a name's right-to-left override). */
function isHidden(code: number): boolean {
  return (
    code < 0x20 ||
    code === 0x7f ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function asciiName(name: string): string {
  return cleanName(name)
    .replace(/[^\x20-\x7e]/g, '_')
    .replace(/["\\]/g, '_');
}
