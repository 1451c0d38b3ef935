import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/** A random, URL-safe secret with a readable prefix (`rpt_…` for API tokens). */
export function newSecret(prefix = '', bytes = 32): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A key for one purpose (`email-threading`, …) derived from the app's secret, so one leak stays one. */
export function deriveKey(appSecret: string, purpose: string): Buffer {
  return createHmac('sha256', appSecret).update(`rapport:${purpose}`).digest();
}

const SEAL_VERSION = 'v1';

/**
 * Encrypts a secret kept at rest (a mailbox password) with AES-256-GCM under `key` (32 bytes,
 * from deriveKey). `context` names where it belongs (tenant and row) and is authenticated, so a
 * sealed value copied to another row does not open. Returns `v1.<iv>.<ciphertext+tag>`, base64url.
 */
export function sealSecret(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${SEAL_VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** The plaintext of a sealSecret value; throws when the key, the context or the bytes differ. */
export function openSecret(key: Buffer, sealed: string, context: string): string {
  const [version, iv, body] = sealed.split('.');
  if (version !== SEAL_VERSION || !iv || !body) throw new Error('not a sealed secret');
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.length < 16) throw new Error('not a sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
    'utf8',
  );
}
