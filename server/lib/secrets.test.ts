import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveKey, openSecret, sealSecret } from './secrets.ts';

const key = deriveKey('a-server-secret-a-server-secret-0123', 'channel-secrets');

test('a sealed password opens with the same key and context, and holds no trace of the plaintext', () => {
  const password = 'Pässwörd with spaces & symbols';
  const sealed = sealSecret(key, password, 'channel:t1:c1');
  assert.match(sealed, /^v1\.[\w-]+\.[\w-]+$/);
  assert.ok(!sealed.includes('Pässwörd'));
  assert.ok(!Buffer.from(sealed).includes(Buffer.from(password)));
  assert.equal(openSecret(key, sealed, 'channel:t1:c1'), password);
});

test('sealing the same password twice gives different values (a fresh IV each time)', () => {
  assert.notEqual(sealSecret(key, 'same', 'ctx'), sealSecret(key, 'same', 'ctx'));
});

test('another key, another context (a copied row) or one changed byte does not open', () => {
  const sealed = sealSecret(key, 'hunter2', 'channel:t1:c1');
  const otherKey = deriveKey('another-secret-another-secret-012345', 'channel-secrets');
  assert.throws(() => openSecret(otherKey, sealed, 'channel:t1:c1'));
  assert.throws(() =>
    openSecret(deriveKey('a-server-secret-a-server-secret-0123', 'other'), sealed, 'channel:t1:c1'),
  );
  assert.throws(() => openSecret(key, sealed, 'channel:t2:c1'));
  const [v, iv, body] = sealed.split('.') as [string, string, string];
  const bytes = Buffer.from(body, 'base64url');
  bytes[0] = bytes[0]! ^ 1;
  assert.throws(() => openSecret(key, `${v}.${iv}.${bytes.toString('base64url')}`, 'channel:t1:c1'));
  for (const junk of ['', 'plaintext', 'v2.a.b', 'v1..', 'v1.AAAA.AA']) {
    assert.throws(() => openSecret(key, junk, 'channel:t1:c1'), junk);
  }
});
