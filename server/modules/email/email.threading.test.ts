/**
 * Threading hints we sign (SECURITY.md IN-04, MI-04): a customer's reply finds its case through
 * the reply address, our Message-ID or the subject tag; forged, truncated, other-secret and
 * other-tenant hints never match.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  base32,
  caseFromReferences,
  fromBase32,
  messageIdFor,
  readReplyToken,
  replyAddress,
  replyToken,
  subjectTag,
  subjectWithTag,
  tagFromSubject,
  tokenFromAddress,
  tokenFromMessageId,
} from './email.threading.ts';

const secret = 'a server secret of at least thirty-two characters';
const otherSecret = 'another server secret, also long enough to use';
const tenantId = '3f0c9d52-8a1e-4c6b-9f2d-5e7a1b3c4d5e';
const otherTenant = '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const caseId = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
const messageId = '0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a';
const ref = { tenantId, caseId };

/** The token with one character changed to another base32 digit. */
function flip(token: string, at: number): string {
  const c = token[at] === 'a' ? 'b' : 'a';
  return token.slice(0, at) + c + token.slice(at + 1);
}

describe('reply token', () => {
  test('round-trips to the case, compact and safe in a local part', () => {
    const token = replyToken(secret, ref);
    assert.match(token, /^[a-z2-7]{42}$/);
    assert.deepEqual(readReplyToken(secret, tenantId, token), ref);
    assert.equal(replyToken(secret, ref), token, 'the same case always gets the same token');
    assert.notEqual(replyToken(secret, { tenantId, caseId: messageId }), token);
  });

  test('is read whatever the case of its letters, since MTAs may fold local parts', () => {
    const token = replyToken(secret, ref);
    assert.deepEqual(readReplyToken(secret, tenantId, token.toUpperCase()), ref);
  });

  test('a changed character, a truncation, an extension, another secret or tenant: no case', () => {
    const token = replyToken(secret, ref);
    for (let i = 0; i < token.length; i++) {
      assert.equal(readReplyToken(secret, tenantId, flip(token, i)), null, `character ${i} changed`);
    }
    assert.equal(readReplyToken(secret, tenantId, token.slice(0, -1)), null);
    assert.equal(readReplyToken(secret, tenantId, token.slice(0, 32)), null);
    assert.equal(readReplyToken(secret, tenantId, `${token}a`), null);
    assert.equal(readReplyToken(secret, tenantId, ''), null);
    assert.equal(readReplyToken(otherSecret, tenantId, token), null);
    assert.equal(readReplyToken(secret, otherTenant, token), null);
    assert.equal(
      readReplyToken(secret, tenantId, replyToken(secret, { tenantId: otherTenant, caseId })),
      null,
    );
  });

  test('a non-canonical spelling of the same bytes (padding bits set) is refused', () => {
    const token = replyToken(secret, ref);
    // The last digit carries 3 data bits and 2 zero padding bits.
    const last = token.at(-1) as string;
    const padded = 'abcdefghijklmnopqrstuvwxyz234567'['abcdefghijklmnopqrstuvwxyz234567'.indexOf(last) | 1];
    assert.equal(readReplyToken(secret, tenantId, token.slice(0, -1) + padded), null);
  });

  test('a short secret is a configuration mistake, not a weak token', () => {
    assert.throws(() => replyToken('short', ref), /at least 16 bytes/);
    assert.deepEqual(readReplyToken(Buffer.from(secret), tenantId, replyToken(secret, ref)), ref);
  });

  test('base32 round-trips any bytes', () => {
    for (const size of [0, 1, 2, 3, 4, 5, 16, 26, 42]) {
      const bytes = Buffer.from(Array.from({ length: size }, (_, i) => (i * 37 + size) & 255));
      assert.deepEqual(fromBase32(base32(bytes)), bytes);
    }
    assert.equal(fromBase32('ab1c'), null, '1 is not a base32 digit');
  });
});

describe('reply address', () => {
  test('plus-addresses the channel address and threads back from what we received', () => {
    const address = replyAddress(secret, 'support@example.com', ref);
    assert.match(address, /^support\+[a-z2-7]{42}@example\.com$/);
    assert.ok((address.split('@')[0] as string).length <= 64);
    assert.deepEqual(tokenFromAddress(secret, tenantId, address), ref);
    assert.deepEqual(tokenFromAddress(secret, tenantId, `<${address.toUpperCase()}>`), ref);
  });

  test('a channel address that already has a tag keeps it; the token is the last tag', () => {
    const address = replyAddress(secret, 'support+eu@example.com', ref);
    assert.match(address, /^support\+eu\+[a-z2-7]{42}@example\.com$/);
    assert.deepEqual(tokenFromAddress(secret, tenantId, address), ref);
  });

  test('a local part that would pass 64 octets gets no token', () => {
    const channel = 'customer.service.department.emea@example.com';
    assert.equal(replyAddress(secret, channel, ref), channel);
  });

  test('plain, foreign-tagged, forged and other-tenant addresses name no case', () => {
    const token = replyToken(secret, ref);
    assert.equal(tokenFromAddress(secret, tenantId, 'support@example.com'), null);
    assert.equal(tokenFromAddress(secret, tenantId, 'support+billing@example.com'), null);
    assert.equal(tokenFromAddress(secret, tenantId, `support+${flip(token, 5)}@example.com`), null);
    assert.equal(tokenFromAddress(secret, otherTenant, `support+${token}@example.com`), null);
    assert.equal(tokenFromAddress(secret, tenantId, `support+${token}`), null, 'no domain');
  });
});

describe('Message-ID token', () => {
  const ours = { tenantId, caseId, messageId };

  test('our Message-ID names the case and the message, and is unique per message', () => {
    const id = messageIdFor(secret, ours, 'Mail.Example.com');
    assert.match(id, /^<[a-z2-7]{68}@mail\.example\.com>$/);
    assert.deepEqual(tokenFromMessageId(secret, tenantId, id), ours);
    assert.deepEqual(tokenFromMessageId(secret, tenantId, id.slice(1, -1)), ours, 'without brackets');
    assert.deepEqual(tokenFromMessageId(secret, tenantId, id.toUpperCase()), ours);
    const next = messageIdFor(secret, { ...ours, messageId: caseId }, 'mail.example.com');
    assert.notEqual(next, id);
  });

  test('right shape, wrong HMAC: not ours', () => {
    const id = messageIdFor(secret, ours, 'mail.example.com');
    const local = id.slice(1, id.indexOf('@'));
    assert.equal(tokenFromMessageId(secret, tenantId, `<${flip(local, 10)}@mail.example.com>`), null);
    assert.equal(tokenFromMessageId(secret, tenantId, `<${'a'.repeat(68)}@mail.example.com>`), null);
    assert.equal(tokenFromMessageId(otherSecret, tenantId, id), null);
    assert.equal(tokenFromMessageId(secret, otherTenant, id), null);
  });

  test('a reply token is not a Message-ID token, and the other way round', () => {
    const token = replyToken(secret, ref);
    assert.equal(tokenFromMessageId(secret, tenantId, `<${token}@mail.example.com>`), null);
    const id = messageIdFor(secret, ours, 'mail.example.com');
    assert.equal(readReplyToken(secret, tenantId, id.slice(1, id.indexOf('@'))), null);
  });

  test('the References search takes the newest valid id of ours and skips forgeries', () => {
    const first = messageIdFor(secret, ours, 'mail.example.com');
    const secondCase = 'f0e1d2c3-b4a5-4968-8776-655443322110';
    const second = messageIdFor(secret, { tenantId, caseId: secondCase, messageId }, 'mail.example.com');
    const forged = `<${flip(second.slice(1, second.indexOf('@')), 3)}@mail.example.com>`;
    assert.deepEqual(
      caseFromReferences(secret, tenantId, ['x@customer.example', first, 'y@customer.example']),
      ours,
    );
    assert.equal(caseFromReferences(secret, tenantId, [first, second])?.caseId, secondCase);
    assert.equal(caseFromReferences(secret, tenantId, [first, second, forged])?.caseId, secondCase);
    assert.equal(caseFromReferences(secret, tenantId, []), null);
  });

  test('a forged In-Reply-To (IN-04) and another tenant’s ids find no case', () => {
    const forged = `<${'b'.repeat(68)}@mail.example.com>`;
    assert.equal(caseFromReferences(secret, tenantId, ['root@customer.example', forged]), null);
    const theirs = messageIdFor(secret, { tenantId: otherTenant, caseId, messageId }, 'mail.example.com');
    assert.equal(caseFromReferences(secret, tenantId, [theirs]), null);
  });

  test('a bad domain or id is a programming error', () => {
    assert.throws(() => messageIdFor(secret, ours, 'bad domain>'), TypeError);
    assert.throws(() => messageIdFor(secret, { ...ours, caseId: '42' }, 'example.com'), TypeError);
  });
});

describe('subject tag', () => {
  test('is added once, after the reply prefix', () => {
    const tag = subjectTag(secret, tenantId, 1042);
    assert.match(tag, /^\[#1042-[a-z2-7]{5}\]$/);
    assert.equal(subjectWithTag(secret, tenantId, 1042, 'Printer is broken'), `${tag} Printer is broken`);
    assert.equal(
      subjectWithTag(secret, tenantId, 1042, 'Re: Printer is broken'),
      `Re: ${tag} Printer is broken`,
    );
    const once = subjectWithTag(secret, tenantId, 1042, 'Re: Printer is broken');
    assert.equal(subjectWithTag(secret, tenantId, 1042, once), once, 'never doubled');
    assert.equal(subjectWithTag(secret, tenantId, 1042, `Re: ${once}`), once, 'Re: Re: collapses');
    assert.equal(subjectWithTag(secret, tenantId, 1042, ''), tag);
  });

  test('a chain of prefixes in any language becomes one Re:, a forward stays a forward', () => {
    const tag = subjectTag(secret, tenantId, 7);
    assert.equal(subjectWithTag(secret, tenantId, 7, 'AW: RE: Re: Rechnung'), `Re: ${tag} Rechnung`);
    assert.equal(subjectWithTag(secret, tenantId, 7, 'Re[2]: SV: Faktura'), `Re: ${tag} Faktura`);
    assert.equal(subjectWithTag(secret, tenantId, 7, 'Fwd: Invoice'), `Fwd: ${tag} Invoice`);
    assert.equal(
      subjectWithTag(secret, tenantId, 7, 'Regarding your invoice'),
      `${tag} Regarding your invoice`,
    );
  });

  test('a bare tag of the same case is replaced by the signed one', () => {
    const tag = subjectTag(secret, tenantId, 1042);
    assert.equal(subjectWithTag(secret, tenantId, 1042, 'Re: [#1042] Printer'), `Re: ${tag} Printer`);
    assert.equal(subjectWithTag(secret, tenantId, 1042, 'Printer [#1042]'), `${tag} Printer`);
  });

  test('line breaks in the subject do not survive', () => {
    const tagged = subjectWithTag(secret, tenantId, 5, 'Hi\r\nBcc: evil@example.net');
    assert.doesNotMatch(tagged, /[\r\n]/);
  });

  test('reads back signed for its tenant; other tenant or a forged signature: ignored', () => {
    const tagged = subjectWithTag(secret, tenantId, 1042, 'Re: Printer');
    assert.deepEqual(tagFromSubject(secret, tenantId, tagged), { number: 1042, signed: true });
    assert.deepEqual(tagFromSubject(secret, tenantId, tagged.toUpperCase()), { number: 1042, signed: true });
    assert.equal(tagFromSubject(secret, otherTenant, tagged), null);
    assert.equal(tagFromSubject(otherSecret, tenantId, tagged), null);
    const theirs = subjectWithTag(secret, otherTenant, 1042, 'Printer');
    assert.equal(tagFromSubject(secret, tenantId, theirs), null, 'another tenant’s tag does not verify');
    const forged = tagged.replace(
      /-([a-z2-7]{5})\]/,
      (_, s: string) => `-${s === 'aaaaa' ? 'bbbbb' : 'aaaaa'}]`,
    );
    assert.equal(tagFromSubject(secret, tenantId, forged), null);
  });

  test('a bare tag is reported unsigned; a signed tag anywhere outranks it', () => {
    assert.deepEqual(tagFromSubject(secret, tenantId, 'Re: [#1042] Printer'), {
      number: 1042,
      signed: false,
    });
    const signed = subjectTag(secret, tenantId, 77);
    assert.deepEqual(tagFromSubject(secret, tenantId, `[#1042] about ${signed}`), {
      number: 77,
      signed: true,
    });
    assert.equal(tagFromSubject(secret, tenantId, 'Order #1042 is late'), null);
    assert.equal(tagFromSubject(secret, tenantId, '[#0] zero is no case number'), null);
  });

  test('a signature is bound to the number: moving it to another case fails', () => {
    const sig = subjectTag(secret, tenantId, 1042).slice(-6, -1);
    assert.equal(tagFromSubject(secret, tenantId, `[#1043-${sig}] Printer`), null);
  });
});
