/** Test helpers: raw messages written out by hand, where a composer would refuse the damage. */
import assert from 'node:assert/strict';
import { EmailRejectedError, type ParseOptions, parseEmail } from './email.parse.ts';

/** A raw message from header lines and a body, CRLF line endings, bytes as given (latin1). */
export function rawMail(headers: string[], body: string): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`, 'latin1');
}

/** The typed error parseEmail rejects `raw` with; fails the test when it parses instead. */
export async function rejection(raw: Buffer, options: ParseOptions = {}): Promise<EmailRejectedError> {
  try {
    await parseEmail(raw, options);
  } catch (err) {
    assert.ok(err instanceof EmailRejectedError, `expected EmailRejectedError, got ${err}`);
    return err;
  }
  assert.fail('expected the message to be rejected');
}

/** Base64 body lines for `bytes` bytes of a repeating 57-byte block (one 76-char line each). */
export function base64Lines(bytes: number): { body: string; content: () => Buffer } {
  const block = Buffer.from('Rapport test attachment block, fifty-seven bytes long!!\r\n');
  assert.equal(block.length, 57);
  const full = Math.floor(bytes / 57);
  const rest = block.subarray(0, bytes % 57);
  const body =
    `${block.toString('base64')}\r\n`.repeat(full) + (rest.length ? `${rest.toString('base64')}\r\n` : '');
  const content = () => Buffer.concat([Buffer.alloc(full * 57, block), rest]);
  return { body, content };
}
