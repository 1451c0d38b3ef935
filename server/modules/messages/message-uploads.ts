/**
 * A reply sent as multipart/form-data: its fields as text parts (`kind`, `text`, `channel`,
 * checked afterwards by the same schema as a JSON reply) and up to MAX_ATTACHMENTS files under
 * `files`. The limits are enforced while reading, before anything is stored: a file over
 * MAX_ATTACHMENT_BYTES is 413 attachment_too_large, more than MAX_ATTACHMENTS_TOTAL_BYTES in
 * all is 413 attachments_too_large, an extra file is 400 too_many_attachments.
 *
 * After a refusal the rest of the upload is still read (and dropped), so the client, which is
 * usually still sending, gets the answer instead of a reset connection.
 */
import {
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS,
  MAX_ATTACHMENTS_TOTAL_BYTES,
} from '../../../shared/domain/attachments.ts';
import { AppError } from '../../errors.ts';
import type { Upload } from './add-message.ts';

/** The multipart parser's part, as far as this reader needs it. */
export type FormPart =
  | { type: 'field'; fieldname: string; value: unknown }
  | {
      type: 'file';
      fieldname: string;
      filename: string;
      mimetype: string;
      file: AsyncIterable<Buffer> & { truncated?: boolean; resume(): unknown };
    };

/** Parser limits (busboy's names); files over fileSize arrive truncated rather than failing. */
export const uploadLimits = {
  fileSize: MAX_ATTACHMENT_BYTES,
  files: MAX_ATTACHMENTS,
  fields: 10,
  fieldSize: 512 * 1024,
  parts: MAX_ATTACHMENTS + 10,
  headerPairs: 50,
};

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
const MIB = 1024 * 1024;

/** The type a browser named, when it is a plain type/subtype; anything else is just bytes. */
function contentType(mimetype: string): string {
  const type = (mimetype ?? '').split(';')[0]!.trim().toLowerCase();
  return CONTENT_TYPE.test(type) ? type : 'application/octet-stream';
}

/** The parser's own failures as the API's errors. */
function parserFailure(err: unknown): AppError {
  const code = (err as { code?: string }).code;
  if (code === 'FST_FILES_LIMIT') {
    return new AppError('too_many_attachments', `At most ${MAX_ATTACHMENTS} files can go with one reply`, [
      { path: 'body.files', message: `at most ${MAX_ATTACHMENTS} files` },
    ]);
  }
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') {
    return new AppError('validation_failed', 'The form has more parts than a reply can have');
  }
  return new AppError('invalid_multipart', 'The body is not a readable multipart/form-data form');
}

async function drain(stream: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of stream) {
  }
}

/** Reads the whole form: the fields for the schema, the files once every limit held. */
export async function readReplyForm(
  parts: AsyncIterable<FormPart>,
): Promise<{ fields: Record<string, unknown>; files: Upload[] }> {
  const fields: Record<string, unknown> = {};
  const files: Upload[] = [];
  let total = 0;
  let refused: AppError | null = null;
  try {
    for await (const part of parts) {
      if (part.type === 'field') {
        // A repeated field becomes a list, which the schema refuses like any wrong type.
        const seen = fields[part.fieldname];
        fields[part.fieldname] =
          seen === undefined ? part.value : [...(Array.isArray(seen) ? seen : [seen]), part.value];
        continue;
      }
      const index = files.length;
      if (refused || part.fieldname !== 'files') {
        await drain(part.file);
        refused ??= new AppError('unknown_field', `Files go under "files", not "${part.fieldname}"`, [
          { path: `body.${part.fieldname}`, message: 'unknown file field' },
        ]);
        continue;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of part.file) {
        size += chunk.length;
        if (total + size <= MAX_ATTACHMENTS_TOTAL_BYTES) chunks.push(chunk);
      }
      const path = `body.files[${index}]`;
      if (part.file.truncated) {
        refused = new AppError(
          'attachment_too_large',
          `“${part.filename}” is larger than ${MAX_ATTACHMENT_BYTES / MIB} MB, the most one file can be`,
          [{ path, message: `over ${MAX_ATTACHMENT_BYTES / MIB} MB` }],
        );
        continue;
      }
      total += size;
      if (total > MAX_ATTACHMENTS_TOTAL_BYTES) {
        refused = new AppError(
          'attachments_too_large',
          `The files come to more than ${MAX_ATTACHMENTS_TOTAL_BYTES / MIB} MB, the most one reply can carry`,
          [{ path: 'body.files', message: `over ${MAX_ATTACHMENTS_TOTAL_BYTES / MIB} MB in all` }],
        );
        continue;
      }
      // What a browser sends for a file input left empty.
      if (size === 0 && part.filename === '') continue;
      files.push({
        filename: part.filename,
        contentType: contentType(part.mimetype),
        content: Buffer.concat(chunks),
      });
    }
  } catch (err) {
    throw refused ?? parserFailure(err);
  }
  if (refused) throw refused;
  return { fields, files };
}
