/**
 * The new-case acknowledgement a customer receives: in their language (falling back to the
 * base language, then English), with their case number and who looks after it; a channel's own
 * wording; template values shown as text, never as markup or extra headers (SECURITY.md XS-04).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { ACK_LOCALES, type AckInput, ackLocale, acknowledgement } from './email.ack.ts';
import { composeEmail } from './email.compose.ts';

const input: AckInput = {
  locale: 'en',
  customerName: 'Ada Lovelace',
  caseNumber: 1042,
  ownerName: 'Sam Taylor',
  teamName: 'Broadband support',
  organisationName: 'Northwind Broadband',
  subject: 'Router keeps dropping',
};

describe('acknowledgement: language', () => {
  test('English names the case, the owner, the organisation and the subject', () => {
    const ack = acknowledgement(input);
    assert.equal(ack.locale, 'en');
    assert.equal(ack.subject, 'We have received your message: Router keeps dropping');
    assert.match(ack.text, /^Hello Ada Lovelace,\n/);
    assert.match(ack.text, /contacting Northwind Broadband\. .* opened case #1042 /);
    assert.match(ack.text, /Sam Taylor will take care of it/);
    assert.match(ack.text, /Kind regards,\nNorthwind Broadband$/);
  });

  test('each built-in language has its own wording and every placeholder filled', () => {
    const seen = new Set<string>();
    for (const [locale, greeting] of [
      ['en', 'Hello Ada Lovelace,'],
      ['de', 'Guten Tag Ada Lovelace,'],
      ['fr', 'Bonjour Ada Lovelace,'],
      ['nl', 'Beste Ada Lovelace,'],
      ['es', 'Hola, Ada Lovelace:'],
    ] as const) {
      const ack = acknowledgement({ ...input, locale });
      assert.equal(ack.locale, locale);
      assert.ok(ack.text.startsWith(`${greeting}\n`), `${locale}: ${ack.text.split('\n')[0]}`);
      for (const value of ['1042', 'Sam Taylor', 'Northwind Broadband']) assert.ok(ack.text.includes(value));
      assert.ok(ack.subject.endsWith('Router keeps dropping'));
      assert.doesNotMatch(`${ack.subject}\n${ack.text}`, /\{\{/);
      seen.add(ack.subject);
    }
    assert.equal(seen.size, 5);
    assert.deepEqual(ACK_LOCALES.sort(), ['de', 'en', 'es', 'fr', 'nl']);
  });

  test('a regional or differently written locale falls back to its language, then to English', () => {
    assert.equal(ackLocale('de-AT'), 'de');
    assert.equal(ackLocale('de_CH'), 'de');
    assert.equal(ackLocale('FR-ca'), 'fr');
    assert.equal(ackLocale('nl-BE,nl;q=0.9,en;q=0.8'), 'nl');
    assert.equal(ackLocale('pt-BR'), 'en');
    assert.equal(ackLocale(''), 'en');
    assert.equal(ackLocale(null), 'en');
    assert.equal(acknowledgement({ ...input, locale: 'es-MX' }).locale, 'es');
    assert.match(acknowledgement({ ...input, locale: 'ja' }).text, /^Hello /);
  });
});

describe('acknowledgement: missing values', () => {
  test('an unowned case names its team, and without a team a general one in the language', () => {
    assert.match(acknowledgement({ ...input, ownerName: null }).text, /Broadband support will take care/);
    assert.match(
      acknowledgement({ ...input, ownerName: null, teamName: null }).text,
      /Our team will take care/,
    );
    const de = acknowledgement({ ...input, locale: 'de', ownerName: '', teamName: null });
    assert.match(de.text, /Unser Team kümmert sich/);
  });

  test('a customer without a name is greeted without a dangling space or comma', () => {
    assert.match(acknowledgement({ ...input, customerName: null }).text, /^Hello,\n/);
    assert.match(acknowledgement({ ...input, customerName: '  ', locale: 'de' }).text, /^Guten Tag,\n/);
    assert.match(acknowledgement({ ...input, customerName: '', locale: 'es' }).text, /^Hola:\n/);
  });

  test('a message without a subject gets a subject that does not end in a colon', () => {
    assert.equal(acknowledgement({ ...input, subject: '' }).subject, 'We have received your message');
    assert.equal(
      acknowledgement({ ...input, subject: '', locale: 'fr' }).subject,
      'Nous avons bien reçu votre message',
    );
  });
});

describe('acknowledgement: a channel’s own templates', () => {
  test('replace the built-in subject and body, each on its own', () => {
    const ack = acknowledgement({
      ...input,
      template: {
        subject: 'Case {{caseNumber}} opened',
        body: 'Hi {{customerName}}, {{ownerName}} has #{{caseNumber}}.',
      },
    });
    assert.equal(ack.subject, 'Case 1042 opened');
    assert.equal(ack.text, 'Hi Ada Lovelace, Sam Taylor has #1042.');
    const bodyOnly = acknowledgement({
      ...input,
      locale: 'de',
      template: { body: 'Danke, {{customerName}}!' },
    });
    assert.equal(bodyOnly.subject, 'Wir haben Ihre Nachricht erhalten: Router keeps dropping');
    assert.equal(bodyOnly.text, 'Danke, Ada Lovelace!');
  });

  test('unknown or misspelt placeholders stay visible instead of failing', () => {
    const ack = acknowledgement({
      ...input,
      template: {
        subject: '{{caseNumber}} {{ticketId}}',
        body: 'Hi {{customer_name}} {{ unknown }} {{ customerName }}',
      },
    });
    assert.equal(ack.subject, '1042 {{ticketId}}');
    assert.equal(ack.text, 'Hi {{customer_name}} {{ unknown }} Ada Lovelace');
  });

  test('a value that looks like a placeholder is not filled in again', () => {
    const ack = acknowledgement({ ...input, customerName: '{{ownerName}}', subject: '{{organisationName}}' });
    assert.match(ack.text, /^Hello \{\{ownerName\}\},/);
    assert.equal(ack.subject, 'We have received your message: {{organisationName}}');
  });
});

describe('acknowledgement: hostile values (XS-04)', () => {
  const hostile: AckInput = {
    ...input,
    customerName: '<script>alert("name")</script>',
    subject: 'Help <img src=x onerror=alert(1)>\r\nBcc: evil@attacker.example',
    ownerName: 'Sam <b>Taylor</b> & Co',
    organisationName: 'Northwind "Broadband"',
  };

  test('HTML shows the values as text; the subject is one line', () => {
    const ack = acknowledgement(hostile);
    assert.ok(ack.html.includes('Hello &lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;,'));
    assert.ok(ack.html.includes('Sam &lt;b&gt;Taylor&lt;/b&gt; &amp; Co will take care'));
    assert.doesNotMatch(ack.html, /<script|<img|<b>/);
    assert.equal(
      ack.subject,
      'We have received your message: Help <img src=x onerror=alert(1)> Bcc: evil@attacker.example',
    );
    assert.ok(ack.text.startsWith('Hello <script>alert("name")</script>,'), 'plain text stays as written');
  });

  test('sent as an automatic reply, the recipient’s client sees text, one Subject and no Bcc', async () => {
    const ack = acknowledgement(hostile);
    const composed = await composeEmail({
      from: { address: 'support@northwind.example', name: 'Northwind Broadband' },
      to: [{ address: 'ada@example.org', name: hostile.customerName }],
      subject: ack.subject,
      text: ack.text,
      html: ack.html,
      messageId: '<ack-1@mail.northwind.example>',
      automatic: 'auto-replied',
      date: new Date('2024-06-04T10:15:00Z'),
    });
    const mail = await simpleParser(composed.raw);
    assert.equal(mail.subject, ack.subject);
    assert.equal(mail.headers.get('auto-submitted'), 'auto-replied');
    assert.equal(mail.bcc, undefined);
    assert.deepEqual(composed.envelope.to, ['ada@example.org']);
    assert.doesNotMatch(mail.html || '', /<script|<img/);
    assert.match(mail.text ?? '', /^Hello <script>alert\("name"\)<\/script>,/);
  });
});
