/**
 * Where attachment bytes live. The database keeps what an attachment is (name, type, size,
 * checksum, storage key); a store keeps the bytes behind this interface, so an object store can
 * replace the file store later. The file store is content-addressed: the key is the sha256 of
 * the bytes, never a name the sender chose (SECURITY.md XS-03), and the same file sent twice is
 * kept once.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface AttachmentMeta {
  filename: string;
  contentType: string;
}

export interface StoredAttachment {
  /** What `get` takes back; opaque to callers. */
  key: string;
  sha256: string;
  size: number;
}

export interface AttachmentStore {
  put(bytes: Buffer, meta: AttachmentMeta): Promise<StoredAttachment>;
  /** The bytes stored under `key`; rejects when there are none. */
  get(key: string): Promise<Buffer>;
}

const KEY = /^sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/** `<dir>/<first two hex digits>/<sha256>`; written to a temporary file and renamed into place. */
export function createFileStore(dir: string): AttachmentStore {
  const root = path.resolve(dir);
  const fileOf = (key: string): string => {
    const match = KEY.exec(key);
    if (!match || !match[2]!.startsWith(match[1]!)) throw new Error('not an attachment key');
    return path.join(root, match[1]!, match[2]!);
  };
  return {
    async put(bytes) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = `sha256/${sha256.slice(0, 2)}/${sha256}`;
      const file = fileOf(key);
      const existing = await fs.stat(file).catch(() => null);
      if (existing?.size !== bytes.length) {
        await fs.mkdir(path.dirname(file), { recursive: true });
        // A crash mid-write leaves a temporary file, never a truncated attachment under its key.
        const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
        try {
          await fs.writeFile(temp, bytes, { mode: 0o600 });
          await fs.rename(temp, file);
        } catch (err) {
          await fs.rm(temp, { force: true });
          throw err;
        }
      }
      return { key, sha256, size: bytes.length };
    },
    async get(key) {
      return fs.readFile(fileOf(key));
    },
  };
}
