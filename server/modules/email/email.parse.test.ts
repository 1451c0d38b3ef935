/**
 * parseEmail on well-formed, malformed and oversized mail (SECURITY.md group I): fields come out
 * right, broken headers become `problems` instead of exceptions, charsets fall back sensibly,
 * NUL bytes never reach a string, and only limit-breaking or non-email input throws, typed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import MailComposer from 'nodemailer/lib/mail-composer';
import { rawMail, rejection } from './email.fixtures.ts';
import { type ParsedEmail, parseEmail } from './email.parse.ts';

const basic = ['From: Ada Example <ada@example.com>', 'To: support@example.net', 'Subject: Hello'];

describe('parseEmail: a well-formed message', () => {
  test('every field, from a message nodemailer composed', async () => {
    const pdf = Buffer.from('%PDF-1.4 fictional invoice');
    const raw = await new MailComposer({
      from: '"Ada Example" <Ada.Example@Example.COM>',
      replyTo: 'Billing Desk <billing@example.com>',
      to: ['support@example.net', 'Second Desk <desk2@example.net>'],
      cc: 'Carla Copy <carla@example.org>',
      subject: 'Invoice 2024-117 is wrong',
      messageId: '<reply-2@mail.example.com>',
      inReplyTo: '<first@rapport.example>',
      references: ['<root@rapport.example>', '<first@rapport.example>'],
      date: new Date('2024-06-04T10:15:00Z'),
      text: 'Hello,\n\nthe invoice lists two seats; we have one.\n\nAda',
      html: '<p>Hello,</p><p>the invoice lists <b>two</b> seats; we have one.</p><p>Ada</p>',
      attachments: [{ filename: 'invoice.pdf', content: pdf, contentType: 'application/pdf' }],
    })
      .compile()
      .build();
    const mail = await parseEmail(raw);
    assert.equal(mail.messageId, 'reply-2@mail.example.com');
    assert.equal(mail.inReplyTo, 'first@rapport.example');
    assert.deepEqual(mail.references, ['root@rapport.example', 'first@rapport.example']);
    assert.deepEqual(mail.from, { address: 'ada.example@example.com', name: 'Ada Example' });
    assert.deepEqual(mail.replyTo, { address: 'billing@example.com', name: 'Billing Desk' });
    assert.deepEqual(mail.to, [
      { address: 'support@example.net', name: '' },
      { address: 'desk2@example.net', name: 'Second Desk' },
    ]);
    assert.deepEqual(mail.cc, [{ address: 'carla@example.org', name: 'Carla Copy' }]);
    assert.equal(mail.subject, 'Invoice 2024-117 is wrong');
    assert.equal(mail.date?.toISOString(), '2024-06-04T10:15:00.000Z');
    assert.equal(mail.text, 'Hello,\n\nthe invoice lists two seats; we have one.\n\nAda');
    assert.equal(mail.html, '<p>Hello,</p><p>the invoice lists <b>two</b> seats; we have one.</p><p>Ada</p>');
    assert.equal(mail.automatic, null);
    assert.deepEqual(mail.problems, []);
    assert.equal(mail.attachments.length, 1);
    const [file] = mail.attachments;
    assert.equal(file?.filename, 'invoice.pdf');
    assert.equal(file?.contentType, 'application/pdf');
    assert.equal(file?.inline, false);
    assert.deepEqual(file?.content, pdf);
    assert.equal(file?.size, pdf.length);
    assert.equal(file?.checksum, createHash('sha256').update(pdf).digest('hex'));
    assert.equal(mail.contentHash, createHash('sha256').update(raw).digest('hex'));
  });

  test('an HTML-only message gets a readable text rendering', async () => {
    const raw = rawMail(
      [...basic, 'Content-Type: text/html; charset=utf-8'],
      '<html><head><title>Ignore me</title><style>p{color:red}</style></head><body>' +
        '<h1>Order&nbsp;#42</h1><p>First line<br>second line</p><ul><li>one</li><li>two</li></ul></body></html>',
    );
    const mail = await parseEmail(raw);
    assert.equal(mail.text, 'Order #42\n\nFirst line\nsecond line\n\n- one\n- two');
    assert.ok(mail.rawHtml?.includes('<title>Ignore me</title>'));
  });
});

describe('parseEmail: encoded words and charsets', () => {
  test('RFC 2047 subjects and names in UTF-8, ISO-8859-1 and ISO-2022-JP', async () => {
    const utf8 = await parseEmail(
      rawMail(
        ['From: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?= <koeln@example.com>', 'To: a@example.net'],
        'x',
      ).subarray(0),
    );
    assert.equal(utf8.from?.name, 'Grüße aus Köln');
    const latin1 = await parseEmail(
      rawMail(
        [
          'From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <jm@example.de>',
          'Subject: =?iso-8859-1?Q?Stra=DFe_=E4ndern?=',
        ],
        'x',
      ),
    );
    assert.equal(latin1.from?.name, 'Jürgen Müller');
    assert.equal(latin1.subject, 'Straße ändern');
    const japanese = await parseEmail(
      rawMail(
        [
          'From: =?ISO-2022-JP?B?GyRCOzNFREJATzobKEI=?= <yamada@example.jp>',
          'Subject: =?ISO-2022-JP?B?GyRCJCpMZCQkOWckbyQ7GyhC?=',
          'Content-Type: text/plain; charset=ISO-2022-JP',
        ],
        '\x1b$B$3$s$K$A$O!"CmJ8$K$D$$$F<ALd$,$"$j$^$9!#\x1b(B',
      ),
    );
    assert.equal(japanese.from?.name, '山田太郎');
    assert.equal(japanese.subject, 'お問い合わせ');
    assert.equal(japanese.text, 'こんにちは、注文について質問があります。');
  });

  test('8-bit text without a declared charset is read as windows-1252', async () => {
    const mail = await parseEmail(rawMail([...basic], 'Gr\xfc\xdfe, die Rechnung \xfcber 20 \x80 fehlt.'));
    assert.equal(mail.text, 'Grüße, die Rechnung über 20 € fehlt.');
    assert.ok(
      mail.problems.some((p) => p.includes('windows-1252')),
      mail.problems.join('; '),
    );
  });

  test('a part that claims UTF-8 but carries Latin-1 bytes is read as windows-1252', async () => {
    const mail = await parseEmail(
      rawMail(
        [...basic, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'],
        'K\xf6ln',
      ),
    );
    assert.equal(mail.text, 'Köln');
  });

  test('raw 8-bit Latin-1 in a header is read as windows-1252, raw UTF-8 as UTF-8', async () => {
    const latin = await parseEmail(
      rawMail(['From: J\xfcrgen <j@example.de>', 'Subject: M\xe4rz-Abrechnung'], 'x'),
    );
    assert.equal(latin.from?.name, 'Jürgen');
    assert.equal(latin.subject, 'März-Abrechnung');
    const utf8 = await parseEmail(
      rawMail(['From: J\xc3\xbcrgen <j@example.de>', 'Subject: M\xc3\xa4rz'], 'x'),
    );
    assert.equal(utf8.subject, 'März');
  });

  test('NUL bytes never reach a string (Postgres text rejects them)', async () => {
    const raw = rawMail(
      [
        'From: =?UTF-8?Q?Nu=00ll?= <nul@example.com>',
        'Subject: =?UTF-8?Q?a=00b?=',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
      ],
      [
        '--b',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>be\x00fore</p>',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'plain\x00text',
        '--b',
        'Content-Type: application/octet-stream',
        'Content-Disposition: attachment; filename="=?UTF-8?Q?ev=00il.txt?="',
        '',
        'data',
        '--b--',
      ].join('\n'),
    );
    const mail = await parseEmail(raw);
    const strings = JSON.stringify({
      ...mail,
      attachments: mail.attachments.map((a) => ({ ...a, content: '' })),
    });
    assert.ok(!strings.includes('\\u0000'), 'a NUL survived');
    assert.equal(mail.subject, 'ab');
    assert.equal(mail.from?.name, 'Null');
    assert.ok(mail.text.includes('plaintext'));
    assert.equal(mail.attachments[0]?.filename, 'evil.txt');
  });
});

describe('parseEmail: malformed headers become problems, not exceptions', () => {
  const keeps = (mail: ParsedEmail) => {
    assert.equal(mail.text, 'still here');
  };

  test('no From: sender is null, or taken from Reply-To when there is one', async () => {
    const none = await parseEmail(rawMail(['To: a@example.net', 'Subject: x'], 'still here'));
    assert.equal(none.from, null);
    assert.ok(none.problems.includes('no From header'));
    keeps(none);
    const viaReplyTo = await parseEmail(
      rawMail(['Reply-To: <back@example.org>', 'Subject: x'], 'still here'),
    );
    assert.equal(viaReplyTo.from?.address, 'back@example.org');
    assert.ok(viaReplyTo.problems.includes('sender taken from Reply-To'));
  });

  test('no Date and an impossible Date are null, not "now"', async () => {
    const none = await parseEmail(rawMail(basic, 'still here'));
    assert.equal(none.date, null);
    assert.ok(none.problems.includes('no Date header'));
    const bad = await parseEmail(rawMail([...basic, 'Date: Mon, 32 Foo 2024 29:61:00 +0200'], 'still here'));
    assert.equal(bad.date, null);
    assert.ok(bad.problems.includes('unparseable Date header'));
    keeps(bad);
  });

  test('a broken Reply-To is dropped and noted', async () => {
    const mail = await parseEmail(rawMail([...basic, 'Reply-To: <<>>@@, "unterminated'], 'still here'));
    assert.equal(mail.replyTo, null);
    assert.ok(mail.problems.includes('unparseable Reply-To header'));
    assert.equal(mail.from?.address, 'ada@example.com');
    keeps(mail);
  });

  test('To as a bare string yields no recipients and a problem', async () => {
    const mail = await parseEmail(
      rawMail(['From: ada@example.com', 'To: Support Team', 'Subject: x'], 'still here'),
    );
    assert.deepEqual(mail.to, []);
    assert.ok(mail.problems.includes('unparseable To header'));
    keeps(mail);
  });

  test('two From headers: the first with a usable address wins', async () => {
    const mail = await parseEmail(
      rawMail(['From: [??????]', 'From: Real Sender <real@example.com>'], 'still here'),
    );
    assert.equal(mail.from?.address, 'real@example.com');
    assert.ok(mail.problems.includes('more than one From header'));
  });

  test('no Message-ID: null, and the content hash is the stable dedupe key', async () => {
    const raw = rawMail(basic, 'still here');
    const [a, b] = [await parseEmail(raw), await parseEmail(Buffer.from(raw))];
    assert.equal(a.messageId, null);
    assert.equal(a.contentHash, b.contentHash);
    assert.match(a.contentHash, /^[0-9a-f]{64}$/);
  });

  test('an encoded CR/LF cannot break the subject into lines', async () => {
    const mail = await parseEmail(
      rawMail(['From: a@example.com', 'Subject: =?UTF-8?Q?Hi=0D=0ABcc:_x@evil.test?='], ''),
    );
    assert.equal(mail.subject, 'Hi Bcc: x@evil.test');
  });

  test('a References header with thousands of ids keeps the root and the latest 99', async () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `<m${i}@example.com>`);
    const mail = await parseEmail(rawMail([...basic, `References: ${ids.join('\r\n ')}`], 'x'));
    assert.equal(mail.references.length, 100);
    assert.equal(mail.references[0], 'm0@example.com');
    assert.equal(mail.references[99], 'm4999@example.com');
  });

  test('a message cut off inside a part header still parses (found by the mutated-corpus run)', async () => {
    const raw = rawMail(
      [...basic, 'Content-Type: multipart/mixed; boundary="b"'],
      '--b\nContent-Type: text/plain\n\nstill here\n--b\nContent-Description: Delivery report\nContent-Type: ',
    );
    const mail = await parseEmail(raw);
    assert.equal(mail.text, 'still here');
    assert.equal(mail.attachments[0]?.contentType, 'application/octet-stream');
  });

  test('input that is not an email at all is rejected as not_email', async () => {
    assert.equal((await rejection(Buffer.alloc(0))).reason, 'not_email');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    assert.equal((await rejection(png)).reason, 'not_email');
  });
});
