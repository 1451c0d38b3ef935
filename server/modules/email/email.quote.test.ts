/**
 * Folding quoted history and signatures into `visibleText` (what the timeline shows first),
 * for the shapes Gmail, Outlook, Thunderbird and Apple Mail produce, in English and German.
 * `text` always keeps everything.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rawMail } from './email.fixtures.ts';
import { parseEmail } from './email.parse.ts';
import { visibleText } from './email.quote.ts';

const reply = (text: string) => visibleText(text.replace(/^\n/, ''));

describe('quoted history folding', () => {
  test('Gmail, English: "On … wrote:" and "> " lines', () => {
    const text = `
Thanks, that fixed it.

On Tue, 4 Jun 2024 at 10:15, Support Desk <support@example.net> wrote:
> Please restart the router.
>
> > Earlier: my router blinks red.
`;
    assert.equal(reply(text), 'Thanks, that fixed it.');
  });

  test('Gmail wraps a long attribution over two lines', () => {
    const text = `
Works now.

On Tue, 4 Jun 2024 at 10:15, Somebody With A Very Long Name From The Support Team <
support@example.net> wrote:

> Please restart the router.
`;
    assert.equal(reply(text), 'Works now.');
  });

  test('Gmail and Thunderbird, German: "Am … schrieb …:"', () => {
    assert.equal(
      reply(
        'Danke, erledigt.\n\nAm Di., 4. Juni 2024 um 10:15 Uhr schrieb Support <support@example.net>:\n> Bitte neu starten.',
      ),
      'Danke, erledigt.',
    );
    assert.equal(
      reply('Danke!\n\nAm 04.06.2024 um 10:15 schrieb Support Team:\n> Bitte neu starten.\n> Gruß'),
      'Danke!',
    );
  });

  test('bottom-posting: the answer below the quote is what stays', () => {
    const text = `
Am 07.05.2024 08:10, schrieb Support Team:
> Welcher Termin passt Ihnen?
>
> -- 
> Support Team
Hallo,

Freitag passt uns.

Grüße aus Bonn`;
    assert.equal(reply(text), 'Hallo,\n\nFreitag passt uns.\n\nGrüße aus Bonn');
  });

  test('interleaved answers keep every answer and drop the quoted lines', () => {
    const text = `
> Which version do you run?
4.2

> Since when?
Since Monday.`;
    assert.equal(reply(text), '4.2\n\nSince Monday.');
  });

  test('Outlook, English: "-----Original Message-----" and the "From: … Sent: …" block', () => {
    assert.equal(
      reply(
        'Attached the log.\n\n-----Original Message-----\nFrom: Support\nSent: Tuesday\nTo: Ada\nSubject: Log?\n\nSend the log.',
      ),
      'Attached the log.',
    );
    const block = `
Attached the log.

________________________________
From: Support Desk <support@example.net>
Sent: Tuesday, June 4, 2024 10:15 AM
To: Ada Example <ada@example.com>
Subject: RE: Router

Please send the log.`;
    assert.equal(reply(block), 'Attached the log.');
  });

  test('Outlook, German: "-----Ursprüngliche Nachricht-----" and "Von: … Gesendet: …"', () => {
    assert.equal(
      reply(
        'Anbei das Protokoll.\n\n-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Dienstag\nAn: Ada\nBetreff: Log\n\nBitte Log senden.',
      ),
      'Anbei das Protokoll.',
    );
    const block = `
Anbei das Protokoll.

Von: Support Desk [mailto:support@example.net]
Gesendet: Dienstag, 4. Juni 2024 10:15
An: Ada Example
Betreff: AW: Router

Bitte senden Sie das Protokoll.`;
    assert.equal(reply(block), 'Anbei das Protokoll.');
  });

  test('"-- " signatures and "sent from my phone" lines are folded', () => {
    assert.equal(reply('See you Friday.\n\n-- \nAda Example\nExample Ltd, 1 Sample Road'), 'See you Friday.');
    assert.equal(reply('See you Friday.\n--\nAda'), 'See you Friday.');
    assert.equal(reply('See you Friday.\n\nSent from my iPhone'), 'See you Friday.');
    assert.equal(reply('Bis Freitag.\n\nVon meinem iPhone gesendet'), 'Bis Freitag.');
  });

  test('a forwarded message is content, not history', () => {
    const text = `
Please look at this complaint.

---------- Forwarded message ---------
From: Carla Customer <carla@example.org>
Date: Mon, 3 Jun 2024 at 09:00
Subject: Broken delivery
To: <sales@example.net>

The parcel arrived broken.`;
    assert.equal(reply(text), text.trim());
  });

  test('a message that is all quote shows in full rather than empty', () => {
    assert.equal(reply('> only a quote\n> nothing new'), '> only a quote\n> nothing new');
  });

  test('hostile bodies stay linear: 200 kB lines and 50,000 quote lines', () => {
    const started = performance.now();
    visibleText(`On ${'a '.repeat(100_000)} wrote:\n${'> x\n'.repeat(50_000)}${'-'.repeat(200_000)}`);
    assert.ok(performance.now() - started < 1000);
  });

  test('HTML mail: blockquotes fold the same way; text keeps everything', async () => {
    const html =
      '<div dir="ltr">Works now, thanks!</div><br><div class="gmail_quote"><div class="gmail_attr">' +
      'On Tue, 4 Jun 2024 at 10:15, Support &lt;support@example.net&gt; wrote:<br></div>' +
      '<blockquote class="gmail_quote"><div>Please restart the router.</div></blockquote></div>';
    const mail = await parseEmail(
      rawMail(['From: a@example.com', 'Content-Type: text/html; charset=utf-8'], html),
    );
    assert.equal(mail.visibleText, 'Works now, thanks!');
    assert.ok(mail.text.includes('> Please restart the router.'), mail.text);
  });
});
