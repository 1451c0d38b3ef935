/**
 * Outbound mail as a receiving mail client reads it: composed, then parsed back by mailparser
 * and by our own parseEmail. Header injection (SECURITY.md IN-02) is either refused with a
 * ComposeError code or encoded so that the parsed message has exactly the intended recipients
 * and one Subject; automatic mail carries its RFC 3834 markers (EL-05).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AddressObject, simpleParser } from 'mailparser';
import {
  ComposeError,
  type ComposeErrorCode,
  type ComposeInput,
  composeEmail,
  MAX_REFERENCES,
} from './email.compose.ts';
import { parseEmail } from './email.parse.ts';

const base: ComposeInput = {
  from: { address: 'support@northwind.example', name: 'Sam Taylor via Northwind Broadband' },
  to: [{ address: 'ada@example.org', name: 'Ada Lovelace' }],
  subject: 'Re: Router keeps dropping',
  text: 'Hello Ada,\n\nplease restart the router.',
  messageId: '<m1@mail.northwind.example>',
  date: new Date('2024-06-04T10:15:00Z'),
};

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  return [field ?? []].flat().flatMap((o) => o.value.map((a) => a.address ?? ''));
}

/** Unfolded header lines of the root part. */
function headerLines(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return head.replace(/\r\n[ \t]/g, ' ').split('\r\n');
}

function count(raw: Buffer, name: string): number {
  return headerLines(raw).filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).length;
}

async function refused(input: ComposeInput, code: ComposeErrorCode, field?: string) {
  await assert.rejects(composeEmail(input), (err: unknown) => {
    assert.ok(err instanceof ComposeError, `expected a ComposeError, got ${err}`);
    assert.equal(err.code, code);
    if (field !== undefined) assert.equal(err.field, field);
    return true;
  });
}

describe('composeEmail: a reply as the customer’s mail client reads it', () => {
  test('headers, both parts, signature, attachments and threading survive the round trip', async () => {
    const pdf = Buffer.from('%PDF-1.4 fictional invoice');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const composed = await composeEmail({
      ...base,
      to: [
        { address: 'ada@example.org', name: 'Ada Lovelace' },
        { address: 'bob@example.org', name: 'Bøb Ünicode' },
      ],
      cc: [{ address: 'carla@example.net' }],
      replyTo: { address: 'support+token@northwind.example', name: 'Northwind Broadband' },
      subject: 'Re: Router keeps dropping — überall',
      html: '<html><body><p>Hello Ada,</p><p>please restart the router.</p><img src="cid:chart@rapport"></body></html>',
      signature: 'Sam Taylor\nNorthwind <Broadband> & Co',
      inReplyTo: 'c1@example.org',
      references: ['<root@northwind.example>', '<c1@example.org>'],
      attachments: [
        { filename: 'invoice.pdf', contentType: 'application/pdf', content: pdf },
        { filename: 'chart.png', contentType: 'image/png', content: png, cid: 'chart@rapport' },
      ],
      headers: { 'Content-Language': 'en' },
    });
    assert.equal(composed.messageId, '<m1@mail.northwind.example>');
    assert.deepEqual(composed.envelope, {
      from: 'support@northwind.example',
      to: ['ada@example.org', 'bob@example.org', 'carla@example.net'],
    });

    const mail = await simpleParser(composed.raw);
    assert.equal(mail.from?.value[0]?.name, 'Sam Taylor via Northwind Broadband');
    assert.equal(mail.from?.value[0]?.address, 'support@northwind.example');
    assert.deepEqual(addresses(mail.to), ['ada@example.org', 'bob@example.org']);
    assert.equal([mail.to].flat()[0]?.value[1]?.name, 'Bøb Ünicode');
    assert.deepEqual(addresses(mail.cc), ['carla@example.net']);
    assert.deepEqual(addresses(mail.replyTo), ['support+token@northwind.example']);
    assert.equal(mail.subject, 'Re: Router keeps dropping — überall');
    assert.equal(mail.messageId, '<m1@mail.northwind.example>');
    assert.equal(mail.inReplyTo, '<c1@example.org>');
    assert.deepEqual(mail.references, ['<root@northwind.example>', '<c1@example.org>']);
    assert.equal(mail.date?.toISOString(), '2024-06-04T10:15:00.000Z');
    assert.equal(mail.headers.get('content-language'), 'en');
    assert.equal(mail.headers.get('auto-submitted'), undefined, 'a person’s reply is not automatic');
    assert.equal(
      mail.text,
      'Hello Ada,\n\nplease restart the router.\n\n-- \nSam Taylor\nNorthwind <Broadband> & Co\n',
    );
    assert.ok(
      String(mail.html).includes('<p>Sam Taylor<br>Northwind &lt;Broadband&gt; &amp; Co</p></div>\n</body>'),
    );
    const file = mail.attachments.find((a) => a.filename === 'invoice.pdf');
    const image = mail.attachments.find((a) => a.filename === 'chart.png');
    assert.equal(file?.filename, 'invoice.pdf');
    assert.deepEqual(file?.content, pdf);
    assert.equal(image?.contentType, 'image/png');
    assert.equal(image?.cid, 'chart@rapport');
    assert.deepEqual(image?.content, png);

    const ours = await parseEmail(composed.raw);
    assert.deepEqual(ours.from, {
      address: 'support@northwind.example',
      name: 'Sam Taylor via Northwind Broadband',
    });
    assert.deepEqual(
      ours.to.map((a) => a.address),
      ['ada@example.org', 'bob@example.org'],
    );
    assert.equal(ours.subject, 'Re: Router keeps dropping — überall');
    assert.equal(ours.messageId, 'm1@mail.northwind.example');
    assert.equal(ours.inReplyTo, 'c1@example.org');
    assert.deepEqual(ours.references, ['root@northwind.example', 'c1@example.org']);
    assert.equal(ours.visibleText, 'Hello Ada,\n\nplease restart the router.', 'the signature folds away');
    assert.deepEqual(ours.attachments.map((a) => [a.filename, a.inline]).sort(), [
      ['chart.png', true],
      ['invoice.pdf', false],
    ]);
    assert.deepEqual(ours.problems, []);
    assert.equal(ours.automatic, null);
  });

  test('without HTML, the HTML part is the escaped text with its paragraphs and line breaks', async () => {
    const composed = await composeEmail({
      ...base,
      text: 'Dear <script>alert(1)</script> & co,\nsecond line\n\nnew paragraph',
      signature: 'Sam <sam@northwind.example>',
    });
    const mail = await simpleParser(composed.raw);
    const body = mail.html ? mail.html.slice(mail.html.indexOf('<body>')) : '';
    assert.ok(
      body.includes(
        '<p>Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; co,<br>second line</p>\n<p>new paragraph</p>',
      ),
    );
    assert.ok(body.includes('<p>Sam &lt;sam@northwind.example&gt;</p>'));
    assert.doesNotMatch(mail.html || '', /<script/);
    assert.equal(
      mail.text,
      'Dear <script>alert(1)</script> & co,\nsecond line\n\nnew paragraph\n\n-- \nSam <sam@northwind.example>\n',
    );
  });

  test('References keep the thread root and the newest ids, end with In-Reply-To, once each', async () => {
    const refs = Array.from({ length: 60 }, (_, i) => `<r${i}@example.org>`);
    const composed = await composeEmail({
      ...base,
      inReplyTo: '<parent@example.org>',
      references: [...refs, '<r59@example.org>', 'not an id', '<bad\u0001@example.org>'],
    });
    const mail = await simpleParser(composed.raw);
    const kept = [mail.references].flat();
    assert.equal(kept.length, MAX_REFERENCES);
    assert.equal(kept[0], '<r0@example.org>');
    // The root, then the newest: r42…r59 and the parent.
    assert.deepEqual(kept.slice(1, 3), ['<r42@example.org>', '<r43@example.org>']);
    assert.equal(kept.at(-1), '<parent@example.org>');
    assert.equal(new Set(kept).size, kept.length);
    assert.ok(headerLines(composed.raw).every((l) => l.length < 998));
  });

  test('automatic mail says so, and our own parser classifies it as automatic', async () => {
    for (const automatic of ['auto-replied', 'auto-generated'] as const) {
      const composed = await composeEmail({ ...base, automatic });
      const mail = await simpleParser(composed.raw);
      assert.equal(mail.headers.get('auto-submitted'), automatic);
      assert.equal(mail.headers.get('x-auto-response-suppress'), 'All');
      const ours = await parseEmail(composed.raw);
      assert.equal(ours.automatic?.kind, 'auto_reply');
    }
  });

  test('each recipient once; an international domain goes out as an A-label', async () => {
    const composed = await composeEmail({
      ...base,
      to: [
        { address: 'ada@example.org' },
        { address: 'Ada@Example.org' },
        { address: 'juergen@münchen.example' },
      ],
      cc: [{ address: 'ada@example.org', name: 'Ada again' }],
    });
    assert.deepEqual(composed.envelope.to, ['ada@example.org', 'juergen@xn--mnchen-3ya.example']);
    assert.ok(
      headerLines(composed.raw).includes(
        'To: ada@example.org, Ada@example.org, juergen@xn--mnchen-3ya.example',
      ),
    );
  });

  test('no recipient, too many, or a bad Message-ID: refused', async () => {
    await refused({ ...base, to: [] }, 'no_recipients');
    const many = Array.from({ length: 101 }, (_, i) => ({ address: `c${i}@example.org` }));
    await refused({ ...base, to: many }, 'too_many_recipients');
    await refused({ ...base, messageId: 'no-at-sign' }, 'invalid_message_id');
    await refused(
      { ...base, messageId: '<m1@example.org>\r\nBcc: evil@attacker.example' },
      'invalid_message_id',
    );
  });
});

describe('composeEmail: header injection (IN-02)', () => {
  const evil = 'evil@attacker.example';

  /** Parsed by both parsers: exactly the intended recipients, one Subject, no Bcc. */
  async function onlyIntended(input: ComposeInput) {
    const composed = await composeEmail(input);
    const intendedTo = input.to.map((a) => a.address);
    const intendedCc = (input.cc ?? []).map((a) => a.address);
    assert.deepEqual(composed.envelope.to, [...new Set([...intendedTo, ...intendedCc])]);
    const mail = await simpleParser(composed.raw);
    assert.deepEqual(addresses(mail.to), intendedTo);
    assert.deepEqual(addresses(mail.cc), intendedCc);
    assert.deepEqual(addresses(mail.bcc), []);
    assert.deepEqual(addresses(mail.from), [input.from.address]);
    assert.deepEqual(addresses(mail.replyTo), input.replyTo ? [input.replyTo.address] : []);
    const ours = await parseEmail(composed.raw);
    assert.deepEqual(
      ours.to.map((a) => a.address),
      intendedTo,
    );
    assert.deepEqual(
      ours.cc.map((a) => a.address),
      intendedCc,
    );
    assert.equal(count(composed.raw, 'subject'), 1);
    assert.equal(count(composed.raw, 'bcc'), 0);
    assert.equal(count(composed.raw, 'to'), 1);
    return { mail, ours, composed };
  }

  const hostileAddresses = [
    `ada@example.org\r\nBcc: ${evil}`,
    `ada@example.org\nBcc: ${evil}`,
    `ada@example.org, ${evil}`,
    `ada@example.org; ${evil}`,
    `ada@example.org>, <${evil}`,
    `"ada@example.org, ${evil}"@example.org`,
    `Ada <ada@example.org>`,
    `list: ada@example.org, ${evil};`,
    `ada@example.org\0${evil}`,
    `ada\t@example.org`,
    'ada @example.org',
    'ada@example.org (comment)',
    'ada@[127.0.0.1]',
    'ada@localhost',
    'ada@exa_mple.org',
    '.ada@example.org',
    `${'a'.repeat(65)}@example.org`,
  ];

  test('an address that is not plain local@domain is refused, wherever it is used', async () => {
    for (const address of hostileAddresses) {
      await refused({ ...base, to: [{ address }] }, 'invalid_address', 'to[0].address');
      await refused({ ...base, cc: [{ address }] }, 'invalid_address', 'cc[0].address');
      await refused({ ...base, from: { address } }, 'invalid_address', 'from.address');
      await refused({ ...base, replyTo: { address } }, 'invalid_address', 'replyTo.address');
    }
  });

  test('line breaks, tabs and NULs in display names are flattened, not obeyed', async () => {
    for (const name of [
      `Ada\r\nBcc: ${evil}`,
      `Ada\nTo: ${evil}`,
      `Ada\r\n\r\n<h1>body</h1>`,
      `Ada\tLovelace\0\r\nCc: ${evil}`,
    ]) {
      const { mail, ours } = await onlyIntended({
        ...base,
        from: { ...base.from, name },
        to: [{ address: 'ada@example.org', name }],
        replyTo: { address: 'support@northwind.example', name },
      });
      const flat = name
        .replace(/[\r\n\t]+/g, ' ')
        .replace(/\0/g, '')
        .replace(/ {2,}/g, ' ');
      assert.equal(mail.from?.value[0]?.name, flat);
      assert.equal(ours.to[0]?.name, flat);
    }
  });

  test('a comma, a quote or an address inside a display name stays inside the name', async () => {
    for (const name of [
      `Ada, ${evil}`,
      `Ada" <${evil}>, "x`,
      `Ada \\" , ${evil}`,
      `<${evil}>`,
      `Ada; ${evil}`,
    ]) {
      const { mail, ours } = await onlyIntended({ ...base, to: [{ address: 'ada@example.org', name }] });
      assert.equal([mail.to].flat()[0]?.value[0]?.name, name);
      assert.equal(ours.to[0]?.name, name);
    }
  });

  test('an encoded word in a display name is one name of one recipient, shown as written', async () => {
    // "x, evil@attacker.example" and "x\r\nBcc: evil@attacker.example", pre-encoded by the sender.
    for (const payload of [`x, ${evil}`, `x\r\nBcc: ${evil}`]) {
      const name = `=?utf-8?B?${Buffer.from(payload).toString('base64')}?=`;
      for (const shown of [name, `Ada ${name}`]) {
        const { mail, ours } = await onlyIntended({
          ...base,
          from: { ...base.from, name: shown },
          to: [{ address: 'ada@example.org', name: shown }],
        });
        assert.equal(
          [mail.to].flat()[0]?.value[0]?.name,
          shown,
          'a client decodes it once: the literal text',
        );
        assert.equal(mail.from?.value[0]?.name, shown);
        // parseEmail decodes header words twice (the line, then the name), so it shows the payload
        // flattened; still one recipient, which onlyIntended checked.
        assert.equal(ours.to.length, 1);
        assert.doesNotMatch(ours.to[0]?.name ?? '', /[\r\n]/);
      }
    }
  });

  test('a subject with line breaks, NULs or encoded words is one Subject, read as written', async () => {
    const cases: [string, string][] = [
      [`Hello\r\nBcc: ${evil}`, `Hello Bcc: ${evil}`],
      [`Hello\r\n\r\nInjected body`, 'Hello Injected body'],
      [`Hello\nTo: ${evil}\r\nCc: ${evil}`, `Hello To: ${evil} Cc: ${evil}`],
      [`Tab\there\0and NUL`, 'Tab hereand NUL'],
      [`=?utf-8?B?${Buffer.from(`x\r\nBcc: ${evil}`).toString('base64')}?=`, ''],
      [`Re: ${'x'.repeat(300)}`, ''],
      ['Grüße aus Köln – 東京', 'Grüße aus Köln – 東京'],
    ];
    for (const [subject, expected] of cases) {
      const composed = await composeEmail({ ...base, subject });
      const mail = await simpleParser(composed.raw);
      const ours = await parseEmail(composed.raw);
      const want = expected === '' ? subject : expected;
      assert.equal(mail.subject, want);
      assert.equal(ours.subject, want);
      assert.equal(count(composed.raw, 'subject'), 1);
      assert.equal(count(composed.raw, 'bcc'), 0);
      assert.deepEqual(addresses(mail.to), ['ada@example.org']);
      assert.deepEqual(addresses(mail.cc), []);
      assert.ok(headerLines(composed.raw).every((l) => !l.startsWith('Bcc') && l.length < 998));
    }
  });

  test('only allowlisted extra headers, with single-line printable values', async () => {
    for (const name of ['Bcc', 'To', 'Subject', 'Auto-Submitted', 'X-Anything', 'Content-Type', 'From']) {
      await refused(
        { ...base, headers: { [name]: 'x' } as ComposeInput['headers'] },
        'header_not_allowed',
        `headers.${name}`,
      );
    }
    for (const value of [`en\r\nBcc: ${evil}`, 'en\nX: y', 'de\0', 'Grüße', '']) {
      await refused({ ...base, headers: { 'Content-Language': value } }, 'invalid_header_value');
    }
    const composed = await composeEmail({
      ...base,
      // Names match case-insensitively, as they arrive in an API body.
      headers: {
        'list-unsubscribe': '<mailto:unsubscribe@northwind.example>',
        Organization: 'Northwind',
      } as ComposeInput['headers'],
    });
    const mail = await simpleParser(composed.raw);
    assert.ok(headerLines(composed.raw).includes('List-Unsubscribe: <mailto:unsubscribe@northwind.example>'));
    assert.equal(mail.headers.get('organization'), 'Northwind');
  });

  test('a hostile In-Reply-To or References entry is dropped, never written as a header', async () => {
    const composed = await composeEmail({
      ...base,
      inReplyTo: `<p@example.org>\r\nBcc: ${evil}`,
      references: [`<r@example.org>\r\nBcc: ${evil}`, '<ok@example.org>', `<a@b> <c@d>`],
    });
    const mail = await simpleParser(composed.raw);
    assert.equal(mail.inReplyTo, undefined);
    assert.deepEqual([mail.references].flat(), ['<ok@example.org>']);
    assert.equal(count(composed.raw, 'bcc'), 0);
  });

  test('attachments: hostile names are flattened, hostile types and Content-IDs refused', async () => {
    const content = Buffer.from('data');
    const composed = await composeEmail({
      ...base,
      attachments: [
        { filename: `a\r\nBcc: ${evil}\r\n../../etc/passwd`, contentType: 'text/plain', content },
      ],
    });
    const mail = await simpleParser(composed.raw);
    assert.equal(mail.attachments[0]?.filename, `a Bcc: ${evil} .._.._etc_passwd`);
    assert.equal(count(composed.raw, 'bcc'), 0);
    assert.deepEqual(addresses(mail.to), ['ada@example.org']);
    for (const contentType of ['text/plain; name="x"', `text/plain\r\nBcc: ${evil}`, 'text', '']) {
      await refused(
        { ...base, attachments: [{ filename: 'a', contentType, content }] },
        'invalid_attachment',
      );
    }
    await refused(
      { ...base, attachments: [{ filename: 'a', contentType: 'image/png', content, cid: 'x>\r\nBcc: y' }] },
      'invalid_attachment',
      'attachments[0].cid',
    );
  });
});
