import assert from 'node:assert/strict';
import { test } from 'node:test';
import { smsSegments } from './sms.ts';

test('plain text is one SMS up to 160 characters, then 153 a segment', () => {
  assert.deepEqual(smsSegments(''), { encoding: 'GSM-7', units: 0, segments: 0, remaining: 160 });
  assert.equal(smsSegments('a'.repeat(160)).segments, 1);
  assert.equal(smsSegments('a'.repeat(161)).segments, 2);
  assert.equal(smsSegments('a'.repeat(306)).segments, 2);
  assert.equal(smsSegments('a'.repeat(307)).segments, 3);
  assert.equal(smsSegments('a'.repeat(150)).remaining, 10);
});

test('extension characters count twice; any other character makes the text Unicode, 70 a message', () => {
  assert.equal(smsSegments('€'.repeat(80)).units, 160);
  assert.equal(smsSegments('€'.repeat(81)).segments, 2);
  const unicode = smsSegments(`Thanks ${'x'.repeat(60)} 🙂`);
  assert.equal(unicode.encoding, 'UCS-2');
  assert.equal(unicode.segments, 1);
  assert.equal(smsSegments('ł'.repeat(71)).segments, 2);
  assert.equal(smsSegments('ł'.repeat(134)).segments, 2);
  assert.equal(smsSegments('ł'.repeat(135)).segments, 3);
});
