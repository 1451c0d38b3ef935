/**
 * Size, depth and shape limits (SECURITY.md MI-02, MI-03): oversized or absurdly nested mail is
 * refused with a typed reason the caller quarantines by, within time and memory; big but
 * legitimate attachments parse with memory bounded; inline images and winmail.dat are kept.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import MailComposer from 'nodemailer/lib/mail-composer';
import { base64Lines, rawMail, rejection } from './email.fixtures.ts';
import { parseEmail } from './email.parse.ts';

const basic = [
  'From: Ada Example <ada@example.com>',
  'To: support@example.net',
  'Subject: Big',
  'MIME-Version: 1.0',
];

/** A message with one base64 attachment of `bytes` bytes. */
function withAttachment(bytes: number) {
  const { body, content } = base64Lines(bytes);
  const raw = rawMail(
    [...basic, 'Content-Type: multipart/mixed; boundary="b"'],
    '--b\nContent-Type: text/plain\n\nSee attachment.\n--b\nContent-Type: application/octet-stream\n' +
      `Content-Disposition: attachment; filename="data.bin"\nContent-Transfer-Encoding: base64\n\n${body}--b--\n`,
  );
  return { raw, content };
}

// A real garbage collection before measuring, so the baseline is not last test's garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('parseEmail: limits', () => {
  // First, so the process heap has not yet been grown by the other big messages.
  test('a 25 MB attachment parses whole while memory growth stays bounded', async () => {
    const size = 25 * 1000 * 1000;
    const { raw, content } = withAttachment(size);
    const expected = createHash('sha256').update(content()).digest('hex');
    gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const mail = await parseEmail(raw);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const growth = peak - before;
    console.log(
      `25 MB attachment (${raw.length} raw bytes): rss growth ${(growth / 1048576).toFixed(1)} MiB`,
    );
    assert.equal(mail.attachments.length, 1);
    const [file] = mail.attachments;
    assert.equal(file?.size, size);
    assert.equal(file?.content.length, size);
    assert.equal(file?.checksum, expected);
    assert.equal(file?.omitted, false);
    assert.ok(growth < 150 * 1024 * 1024, `rss grew ${growth} bytes`);
  });

  test('MIME nesting deeper than the limit is refused as mime_depth', async () => {
    const levels = 100;
    let body = 'deep down';
    for (let i = levels - 1; i >= 0; i--) {
      body = `--n${i}\nContent-Type: ${i === levels - 1 ? 'text/plain' : `multipart/mixed; boundary="n${i + 1}"`}\n\n${body}\n--n${i}--`;
    }
    const raw = rawMail([...basic, 'Content-Type: multipart/mixed; boundary="n0"'], body);
    assert.equal((await rejection(raw)).reason, 'mime_depth');
    // The same shape within the limit parses.
    const shallow = await parseEmail(raw, { maxMimeDepth: 200 });
    assert.equal(shallow.text, 'deep down');
  });

  test('5,000 MIME parts are refused as part_count', async () => {
    const parts = Array.from({ length: 5000 }, (_, i) => `--p\nContent-Type: text/plain\n\npart ${i}`).join(
      '\n',
    );
    const raw = rawMail([...basic, 'Content-Type: multipart/mixed; boundary="p"'], `${parts}\n--p--`);
    const started = performance.now();
    assert.equal((await rejection(raw)).reason, 'part_count');
    assert.ok(performance.now() - started < 5000, 'refused quickly');
  });

  test('decoded content over the limit is refused as decoded_size', async () => {
    const { raw } = withAttachment(2 * 1024 * 1024);
    assert.equal((await rejection(raw, { maxDecodedBytes: 1024 * 1024 })).reason, 'decoded_size');
  });

  test('a 60 MB message is refused under the default limits, early and within memory', async () => {
    const { raw } = withAttachment(60 * 1000 * 1000);
    gc();
    const before = process.memoryUsage().rss;
    const started = performance.now();
    assert.equal((await rejection(raw)).reason, 'decoded_size');
    assert.ok(performance.now() - started < 15_000, 'refused within the time budget');
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'memory stayed bounded');
  });

  test('an attachment over maxAttachmentBytes is listed with size and checksum, content omitted', async () => {
    const { raw, content } = withAttachment(2 * 1024 * 1024);
    const mail = await parseEmail(raw, { maxAttachmentBytes: 1024 * 1024 });
    const [file] = mail.attachments;
    assert.equal(file?.omitted, true);
    assert.equal(file?.content.length, 0);
    assert.equal(file?.size, 2 * 1024 * 1024);
    assert.equal(file?.checksum, createHash('sha256').update(content()).digest('hex'));
    assert.ok(mail.problems.some((p) => p.includes('data.bin') && p.includes('content not kept')));
    assert.equal(mail.text, 'See attachment.');
  });

  test('a parse that overruns its deadline is refused as timeout', async () => {
    const { raw } = withAttachment(20 * 1000 * 1000);
    assert.equal((await rejection(raw, { timeoutMs: 1 })).reason, 'timeout');
  });

  test('a single 20 MB line of HTML: raw kept whole, sanitised copy truncated, in time', async () => {
    const html = `<p>${'<b>bold</b> and <i>text</i> '.repeat((20 * 1024 * 1024) / 28)}</p>`;
    const raw = rawMail([...basic, 'Content-Type: text/html; charset=utf-8'], html);
    const started = performance.now();
    const mail = await parseEmail(raw);
    const took = performance.now() - started;
    console.log(`20 MB HTML line parsed in ${Math.round(took)} ms`);
    assert.equal(mail.rawHtml?.length, html.length);
    assert.ok((mail.html?.length ?? 0) <= 2.2 * 1024 * 1024);
    assert.ok(mail.problems.some((p) => p.includes('truncated')));
    assert.ok(mail.text.startsWith('bold and text bold and text'));
    assert.ok(took < 20_000, `took ${took} ms`);
  });

  test('many HTML parts share one sanitising budget', async () => {
    const part = `<p>${'word '.repeat(200_000)}</p>`; // 1 MB each
    const parts = Array.from({ length: 10 }, () => `--h\nContent-Type: text/html\n\n${part}`).join('\n');
    const raw = rawMail([...basic, 'Content-Type: multipart/mixed; boundary="h"'], `${parts}\n--h--`);
    const started = performance.now();
    const mail = await parseEmail(raw);
    assert.ok(performance.now() - started < 10_000);
    assert.ok((mail.html?.length ?? 0) < 2.5 * 1024 * 1024, `sanitised ${mail.html?.length} chars`);
    assert.equal(mail.rawHtml?.length, 10 * part.length + 9);
    assert.equal(mail.problems.filter((p) => p.includes('truncated')).length, 1);
  });

  test('HTML nested 200,000 levels deep is flattened to text instead of stalling the parser', async () => {
    const html = `${'<div>'.repeat(200_000)}deep &amp; nested${'</div>'.repeat(200_000)}`;
    const started = performance.now();
    const mail = await parseEmail(rawMail([...basic, 'Content-Type: text/html; charset=utf-8'], html));
    assert.ok(performance.now() - started < 5000);
    assert.equal(mail.text, 'deep & nested');
    assert.equal(mail.html, '<p>deep &amp; nested</p>');
    assert.ok(mail.problems.some((p) => p.includes('nested deeper')));
  });
});

describe('parseEmail: inline images and special attachments', () => {
  test('an inline cid: image beside a normal attachment', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const raw = await new MailComposer({
      from: 'ada@example.com',
      to: 'support@example.net',
      subject: 'Screenshot',
      html: '<p>See the error:</p><img src="cid:shot@ada" alt="error dialog"><p>Thanks</p>',
      attachments: [
        { filename: 'shot.png', content: png, contentType: 'image/png', cid: 'shot@ada' },
        { filename: 'log.txt', content: 'ERROR 42', contentType: 'text/plain' },
      ],
    })
      .compile()
      .build();
    const mail = await parseEmail(raw);
    const shot = mail.attachments.find((a) => a.filename === 'shot.png');
    const log = mail.attachments.find((a) => a.filename === 'log.txt');
    assert.equal(shot?.contentId, 'shot@ada');
    assert.equal(shot?.inline, true);
    assert.deepEqual(shot?.content, png);
    assert.equal(log?.inline, false);
    assert.equal(log?.content.toString(), 'ERROR 42');
    assert.ok(mail.html?.includes('<img src="cid:shot@ada" alt="error dialog" />'), mail.html ?? '');
    assert.equal(mail.text, 'See the error:\n\nThanks');
  });

  test('winmail.dat is kept as an attachment and flagged tnef', async () => {
    const tnef = Buffer.from([0x78, 0x9f, 0x3e, 0x22, 0x01, 0x00, 0x01, 0x06, 0x90, 0x08, 0x00]);
    const raw = rawMail(
      [...basic, 'Content-Type: multipart/mixed; boundary="w"'],
      '--w\nContent-Type: text/plain\n\nSee attached.\n--w\nContent-Type: application/ms-tnef; name="winmail.dat"\n' +
        `Content-Disposition: attachment; filename="winmail.dat"\nContent-Transfer-Encoding: base64\n\n${tnef.toString('base64')}\n--w--`,
    );
    const mail = await parseEmail(raw);
    const [file] = mail.attachments;
    assert.equal(file?.filename, 'winmail.dat');
    assert.equal(file?.contentType, 'application/ms-tnef');
    assert.equal(file?.tnef, true);
    assert.deepEqual(file?.content, tnef);
  });

  test('hostile filenames lose path separators, control and bidi characters', async () => {
    const raw = rawMail(
      [...basic, 'Content-Type: multipart/mixed; boundary="f"'],
      '--f\nContent-Type: application/octet-stream\n' +
        "Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fetc%2Finvoice%E2%80%AEfdp.exe\n\nx\n--f--",
    );
    const mail = await parseEmail(raw);
    assert.equal(mail.attachments[0]?.filename, '_.._etc_invoicefdp.exe');
  });
});
