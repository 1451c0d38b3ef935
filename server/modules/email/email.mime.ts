/**
 * Runs mailparser's streaming MailParser over one raw message under hard limits (MIME depth,
 * part count, transfer-decoded bytes, header size, wall time) and hands back what email.parse.ts
 * assembles a ParsedEmail from: the MIME tree with each text part's decoded string, the
 * undecoded bytes of text parts whose charset may be missing or wrong, and the attachments
 * (content kept up to a per-attachment cap, checksummed in full as it streams past).
 *
 * It reaches into three MailParser internals of the pinned version (createNode, tree,
 * hasFailed); the parser tests fail loudly if an upgrade moves them.
 */
import type { Transform } from 'node:stream';
import { type AttachmentStream, type HeaderLines, MailParser } from 'mailparser';

export type RejectReason =
  | 'not_email'
  | 'mime_depth'
  | 'part_count'
  | 'decoded_size'
  | 'header_size'
  | 'timeout'
  | 'unparseable';

/** Thrown only for input the caller should quarantine whole, with `reason` as the cause. */
export class EmailRejectedError extends Error {
  readonly reason: RejectReason;
  constructor(reason: RejectReason, message: string) {
    super(message);
    this.name = 'EmailRejectedError';
    this.reason = reason;
  }
}

export interface MimeLimits {
  /** Nesting of multipart containers; real mail stays under ten. */
  maxMimeDepth: number;
  /** MIME parts in the whole message. */
  maxParts: number;
  /** Transfer-decoded bytes of all parts together. */
  maxDecodedBytes: number;
  /** Content kept per attachment; bigger ones are listed with size and checksum, content omitted. */
  maxAttachmentBytes: number;
  /** Header block of any one part. */
  maxHeaderBytes: number;
  /** Wall time for the MIME pass. */
  timeoutMs: number;
}

export const DEFAULT_LIMITS: MimeLimits = {
  maxMimeDepth: 30,
  maxParts: 1000,
  maxDecodedBytes: 50 * 1024 * 1024,
  maxAttachmentBytes: 25 * 1024 * 1024,
  maxHeaderBytes: 1024 * 1024,
  timeoutMs: 30_000,
};

/** The mailsplit node MailParser builds a tree node from (only the fields used here). */
interface SplitNode {
  contentType?: string | false;
  disposition?: string | false;
  charset?: string | false;
  multipart?: string | false;
  parentNode?: SplitNode | false | null;
  getDecoder(): Transform;
}

/** A node of MailParser's MIME tree. */
export interface MimeNode {
  node: SplitNode;
  contentType?: string;
  charset?: string;
  headers: Map<string, unknown>;
  children: MimeNode[];
  isAttachment?: boolean;
  textContent?: string;
}

interface ParserInternals {
  createNode(node: SplitNode): MimeNode;
  tree: MimeNode | false;
  hasFailed: boolean;
}

export interface CollectedAttachment {
  stream: AttachmentStream;
  /** Empty when the attachment was over maxAttachmentBytes. */
  content: Buffer;
  omitted: boolean;
}

export interface MimeResult {
  tree: MimeNode | null;
  headerLines: HeaderLines;
  attachments: CollectedAttachment[];
  /** Undecoded bytes of text parts declared utf-8/us-ascii, unknown or undeclared. */
  textBytes: Map<SplitNode, Buffer>;
}

/** Charsets whose decoding is worth re-checking: undeclared, UTF-8/ASCII, or unknown. */
export function charsetMayBeWrong(charset: string | false | undefined): boolean {
  const name = (charset || '').toLowerCase().replace(/[^a-z0-9]/g, '');
  if (['', 'utf8', 'usascii', 'ascii'].includes(name)) return true;
  try {
    new TextDecoder(charset || 'utf-8');
    return false;
  } catch {
    return true;
  }
}

function mapParserError(err: Error & { code?: string }): EmailRejectedError {
  if (err instanceof EmailRejectedError) return err;
  if (err.code === 'EMAXLEN' && /child nodes/i.test(err.message)) {
    return new EmailRejectedError('part_count', 'too many MIME parts');
  }
  if (err.code === 'EMAXLEN')
    return new EmailRejectedError('header_size', `header block too large: ${err.message}`);
  return new EmailRejectedError('unparseable', `MIME parser failed: ${err.message}`);
}

const FEED_BYTES = 64 * 1024;

export function parseMime(raw: Buffer, limits: MimeLimits): Promise<MimeResult> {
  return new Promise((resolve, reject) => {
    const parser = new MailParser({
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
      keepDeliveryStatus: true,
      // A message/rfc822 part (forward as attachment, a bounce's returned mail) stays one
      // attachment instead of having its text merged into this message's body.
      ignoreEmbedded: true,
      checksumAlgo: 'sha256',
      maxHeadSize: limits.maxHeaderBytes,
      maxChildNodes: limits.maxParts + 1,
    });
    const inner = parser as unknown as ParserInternals;
    const attachments: CollectedAttachment[] = [];
    const textChunks = new Map<SplitNode, Buffer[]>();
    let settled = false;
    let parts = 0;
    let decoded = 0;

    const timer = setTimeout(
      () => fail(new EmailRejectedError('timeout', `MIME parsing took over ${limits.timeoutMs} ms`)),
      limits.timeoutMs,
    );
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Stops MailParser's read loop; the stalled streams are garbage once we let go of them.
      inner.hasFailed = true;
      reject(mapParserError(err));
    }

    const createNode = inner.createNode.bind(parser);
    inner.createNode = (node: SplitNode) => {
      parts++;
      let depth = 0;
      for (let p = node.parentNode; p; p = p.parentNode) depth++;
      if (parts > limits.maxParts)
        fail(new EmailRejectedError('part_count', `more than ${limits.maxParts} MIME parts`));
      if (depth > limits.maxMimeDepth) {
        fail(
          new EmailRejectedError('mime_depth', `MIME parts nested deeper than ${limits.maxMimeDepth} levels`),
        );
      }
      const isText = !node.multipart && /^text\/(?:plain|html)$/i.test(node.contentType || '');
      const keep: Buffer[] | null =
        isText && node.disposition !== 'attachment' && charsetMayBeWrong(node.charset) ? [] : null;
      if (keep) textChunks.set(node, keep);
      const getDecoder = node.getDecoder.bind(node);
      // Count transfer-decoded bytes as the decoder produces them, so an oversized message is
      // refused while it is being decoded rather than after it has filled memory.
      node.getDecoder = () => {
        const decoder = getDecoder();
        const push = decoder.push.bind(decoder);
        decoder.push = (chunk: unknown, encoding?: BufferEncoding) => {
          if (Buffer.isBuffer(chunk)) {
            decoded += chunk.length;
            if (decoded > limits.maxDecodedBytes) {
              fail(
                new EmailRejectedError(
                  'decoded_size',
                  `decoded content over ${limits.maxDecodedBytes} bytes`,
                ),
              );
            }
            keep?.push(chunk);
          }
          return push(chunk, encoding);
        };
        return decoder;
      };
      return createNode(node);
    };

    function collect(stream: AttachmentStream, done: () => void): void {
      const chunks: Buffer[] = [];
      let size = 0;
      let omitted = false;
      stream.content.on('readable', () => {
        for (
          let chunk = stream.content.read() as Buffer | null;
          chunk !== null;
          chunk = stream.content.read()
        ) {
          if (omitted) continue;
          if (size + chunk.length > limits.maxAttachmentBytes) {
            omitted = true;
            chunks.length = 0;
          } else {
            chunks.push(chunk);
            size += chunk.length;
          }
        }
      });
      stream.content.once('end', () => {
        attachments.push({
          stream,
          content: omitted ? Buffer.alloc(0) : Buffer.concat(chunks, size),
          omitted,
        });
        stream.release?.();
        done();
      });
    }

    let reading = false;
    function pump(): void {
      reading = true;
      for (let data = parser.read(); data !== null && !settled; data = parser.read()) {
        if (data.type === 'attachment') {
          collect(data, pump);
          return;
        }
      }
      reading = false;
    }

    parser.on('readable', () => {
      if (!reading) pump();
    });
    parser.on('error', (err: Error) => fail(err));
    parser.on('end', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const textBytes = new Map<SplitNode, Buffer>();
      for (const [node, chunks] of textChunks) textBytes.set(node, Buffer.concat(chunks));
      resolve({
        tree: inner.tree || null,
        headerLines: parser.headerLines || [],
        attachments,
        textBytes,
      });
    });
    // Fed in slices with backpressure: one write of the whole message would have the splitter
    // copy all of it at once, and a refused message would still be split to its end.
    let offset = 0;
    const feed = () => {
      while (!settled && offset < raw.length) {
        const slice = raw.subarray(offset, offset + FEED_BYTES);
        offset += FEED_BYTES;
        if (!parser.write(slice)) {
          parser.once('drain', feed);
          return;
        }
      }
      if (!settled) parser.end();
    };
    feed();
  });
}
