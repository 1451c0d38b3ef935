/**
 * Where attachment bytes live. The database keeps what an attachment is (name, type, size,
 * checksum, storage key); a store keeps the bytes behind this interface, so an object store can
 * replace the file store later. The file store is content-addressed: the key is the sha256 of
 * the bytes, never a name the sender chose (SECURITY.md XS-03), and the same file sent twice is
 * kept once. The same store, in a directory of its own, keeps large raw inbound messages.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
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

/**
 * Bytes kept by content, without a name (the raw mail store). `put` resolves once the bytes are
 * durable (on disk, under their key), so a row may point at them.
 */
export interface ContentStore {
  put(bytes: Buffer): Promise<StoredAttachment>;
  /** The bytes stored under `key`; rejects when there are none. */
  get(key: string): Promise<Buffer>;
  /** At most the first `length` bytes stored under `key` (a header block without the body). */
  head(key: string, length: number): Promise<Buffer>;
}

export type FileStore = AttachmentStore & ContentStore;

const KEY = /^sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/** The sha256 (hex) of `bytes`: their key in a content-addressed store. */
export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Flushes a file or directory to disk; a platform that cannot sync a directory (Windows) skips it. */
async function fsyncPath(target: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await fs.open(target, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'EPERM') return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw err;
  } finally {
    await handle.close();
  }
}

/**
 * `<dir>/<first two hex digits>/<sha256>`. Durable when `put` resolves: written to a temporary
 * file, fsynced, renamed into place, and the directory fsynced (with any directory just created),
 * so a crash never leaves a truncated file under a key nor loses one a row already names.
 */
export function createFileStore(dir: string): FileStore {
  const root = path.resolve(dir);
  const fileOf = (key: string): string => {
    const match = KEY.exec(key);
    if (!match || !match[2]!.startsWith(match[1]!)) throw new Error('not a content store key');
    return path.join(root, match[1]!, match[2]!);
  };
  return {
    async put(bytes) {
      const sha256 = sha256Hex(bytes);
      const key = `sha256/${sha256.slice(0, 2)}/${sha256}`;
      const file = fileOf(key);
      const shard = path.dirname(file);
      const existing = await fs.stat(file).catch(() => null);
      if (existing?.size === bytes.length) {
        // Already there (a retry, the same file twice): make sure it is on disk, not only cached.
        await fsyncPath(file);
        await fsyncPath(shard);
        return { key, sha256, size: bytes.length };
      }
      const created = await fs.mkdir(shard, { recursive: true });
      // A crash mid-write leaves a temporary file, never a truncated one under its key.
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        const handle = await fs.open(temp, 'w', 0o600);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(temp, file);
      } catch (err) {
        await fs.rm(temp, { force: true });
        throw err;
      }
      await fsyncPath(shard);
      // New directories are entries in their parents: sync those up to the first one created.
      if (created !== undefined) {
        for (let d = shard; d.length >= created.length && d !== path.dirname(d); d = path.dirname(d)) {
          await fsyncPath(path.dirname(d));
        }
      }
      return { key, sha256, size: bytes.length };
    },
    async get(key) {
      return fs.readFile(fileOf(key));
    },
    async head(key, length) {
      const handle = await fs.open(fileOf(key), 'r');
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, 0);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}
