/**
 * Loop safety (SECURITY.md EL-01, EL-02): machine-sent mail is recognised from its headers,
 * sender or MIME shape, and a delivery-status bounce names the message of ours that bounced.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rawMail } from './email.fixtures.ts';
import { type AutomaticKind, parseEmail } from './email.parse.ts';

const base = [
  'From: Carla Customer <carla@example.org>',
  'To: support@rapport.example',
  'Subject: Re: Router',
];

async function automatic(extra: string[], from?: string) {
  const headers = from ? [`From: ${from}`, ...base.slice(1), ...extra] : [...base, ...extra];
  return (await parseEmail(rawMail(headers, 'I am out of the office until Monday.'))).automatic;
}

describe('automatic mail', () => {
  const cases: [string, string[], AutomaticKind, string?][] = [
    ['Auto-Submitted: auto-replied', ['Auto-Submitted: auto-replied'], 'auto_reply'],
    ['Auto-Submitted: auto-generated', ['Auto-Submitted: auto-generated; type=vacation'], 'auto_reply'],
    ['X-Autoreply: yes', ['X-Autoreply: yes'], 'auto_reply'],
    ['X-Autorespond', ['X-Autorespond: Out of office'], 'auto_reply'],
    ['Precedence: auto_reply', ['Precedence: auto_reply'], 'auto_reply'],
    ['X-Auto-Response-Suppress: All', ['X-Auto-Response-Suppress: All'], 'auto_reply'],
    ['a no-reply sender', [], 'auto_reply', 'Notifications <no-reply@shop.example>'],
    ['Precedence: bulk', ['Precedence: bulk'], 'list'],
    ['Precedence: junk', ['Precedence: junk'], 'list'],
    ['Precedence: list', ['Precedence: list'], 'list'],
    ['List-Id', ['List-Id: Product news <news.example.org>'], 'list'],
    ['List-Unsubscribe', ['List-Unsubscribe: <mailto:leave@example.org>'], 'list'],
    ['null Return-Path', ['Return-Path: <>'], 'null_sender'],
    ['a mailer-daemon sender', [], 'bounce', 'MAILER-DAEMON@mx.example.org (Mail Delivery System)'],
    ['a postmaster sender', [], 'bounce', 'postmaster@example.org'],
  ];
  for (const [name, headers, kind, from] of cases) {
    test(`${name} → ${kind}`, async () => {
      assert.equal((await automatic(headers, from))?.kind, kind);
    });
  }

  test('a person writing, and Auto-Submitted: no, are not automatic', async () => {
    assert.equal(await automatic([]), null);
    assert.equal(await automatic(['Auto-Submitted: no', 'Return-Path: <carla@example.org>']), null);
  });

  test('the reason names the header that decided', async () => {
    assert.deepEqual(await automatic(['Auto-Submitted: auto-replied']), {
      kind: 'auto_reply',
      reason: 'Auto-Submitted: auto-replied',
    });
  });
});

/** A Postfix-shaped DSN for a reply Rapport sent, with the returned message or its headers. */
function dsn(returned: 'message/rfc822' | 'text/rfc822-headers') {
  return rawMail(
    [
      'Return-Path: <>',
      'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
      'To: support@rapport.example',
      'Subject: Undelivered Mail Returned to Sender',
      'Auto-Submitted: auto-replied',
      'Message-Id: <20240604101502.7F1A2@mx.example.net>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status;',
      '\tboundary="7F1A2.1717496102/mx.example.net"',
    ],
    `This is a MIME-encapsulated message.

--7F1A2.1717496102/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<carla@example.org>: host mx.example.org[192.0.2.10] said: 550 5.1.1
    <carla@example.org>: Recipient address rejected: User unknown

--7F1A2.1717496102/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Tue,  4 Jun 2024 10:15:01 +0200 (CEST)

Final-Recipient: rfc822; carla@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <carla@example.org>: Recipient address
    rejected: User unknown

--7F1A2.1717496102/mx.example.net
Content-Description: Undelivered Message
Content-Type: ${returned}

Return-Path: <support@rapport.example>
From: Support Desk <support@rapport.example>
To: Carla Customer <carla@example.org>
Subject: Re: Broken delivery [#1042]
Message-ID:
 <case-1042.reply-7@rapport.example>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

${returned === 'message/rfc822' ? 'We are sending a replacement today.\n' : ''}
--7F1A2.1717496102/mx.example.net--
`,
  );
}

describe('delivery-status bounces', () => {
  for (const returned of ['message/rfc822', 'text/rfc822-headers'] as const) {
    test(`a multipart/report DSN with ${returned} names the bounced Message-ID`, async () => {
      const mail = await parseEmail(dsn(returned));
      assert.deepEqual(mail.automatic, { kind: 'bounce', reason: 'multipart/report delivery-status' });
      assert.equal(mail.bounceOf, 'case-1042.reply-7@rapport.example');
      assert.equal(mail.headers.returnPath, '');
      assert.ok(mail.text.startsWith('This is the mail system at host mx.example.net.'));
      assert.ok(!mail.text.includes('We are sending a replacement'), 'the returned message is not body text');
      const types = mail.attachments.map((a) => a.contentType);
      assert.deepEqual(types, ['message/delivery-status', returned]);
    });
  }

  test('a plain-text bounce from MAILER-DAEMON quoting the headers still names the message', async () => {
    const mail = await parseEmail(
      rawMail(
        ['From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>', 'Subject: Delivery failure'],
        'Delivery failed.\n\n----- Original message -----\nFrom: support@rapport.example\nMessage-ID: <case-7.reply-1@rapport.example>\n',
      ),
    );
    assert.equal(mail.automatic?.kind, 'bounce');
    assert.equal(mail.bounceOf, 'case-7.reply-1@rapport.example');
  });

  test('bounceOf stays null for mail that is not a bounce', async () => {
    const mail = await parseEmail(rawMail(base, 'Message-ID: <looks-like@an.id>'));
    assert.equal(mail.bounceOf, null);
  });
});
