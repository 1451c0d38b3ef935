import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rawMail } from '../email/email.fixtures.ts';

const { app } = await startTestApp();

/** 1×1 transparent PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

function hostileEmail(from: string) {
  const b = 'rapport-outer';
  const r = 'rapport-related';
  return rawMail(
    [
      `From: A Customer <${from}>`,
      'To: help@display.example',
      'Subject: Router invoice and a photo',
      `Message-ID: <${crypto.randomUUID()}@customer.example>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${b}"`,
    ],
    [
      `--${b}`,
      `Content-Type: multipart/related; boundary="${r}"`,
      '',
      `--${r}`,
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>My router <b>keeps</b> dropping.</p><script>window.__xss = 1</script>' +
        '<img src="https://tracker.example/pixel.gif" alt="tracker">' +
        '<img src="cid:photo1@customer.example" alt="photo">' +
        '<a href="javascript:alert(1)">click</a><p onclick="alert(2)">thanks</p>',
      `--${r}`,
      'Content-Type: image/png',
      'Content-ID: <photo1@customer.example>',
      'Content-Disposition: inline; filename="photo.png"',
      'Content-Transfer-Encoding: base64',
      '',
      PNG.toString('base64'),
      `--${r}--`,
      `--${b}`,
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Disposition: attachment; filename="../../etc/\u202Efdp.exe"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<html><script>alert(3)</script></html>').toString('base64'),
      `--${b}`,
      'Content-Type: text/html; name="page.html"',
      'Content-Disposition: attachment; filename="page.html"',
      '',
      '<script>alert(4)</script>',
      `--${b}--`,
      '',
    ].join('\n'),
  );
}

async function arrange() {
  const t = await given.tenant(app);
  const channel = await given.emailChannel(t, `help-${crypto.randomUUID().slice(0, 6)}@display.example`);
  await given.inboundEmail(t, channel, hostileEmail('kai@customer.example'));
  const cases = await app.inject({ url: '/api/v1/cases', headers: t.headers });
  const caseId = cases.json().items[0].id as string;
  const timeline = await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers });
  const entry = timeline.json().items.find((e: { type: string }) => e.type === 'contact.received');
  return { t, message: entry.message as { id: string; text: string; email: Record<string, unknown> } };
}

test('the timeline shows an email’s subject, sender and attachments; inline images are marked inline', async () => {
  const { message } = await arrange();
  const email = message.email as {
    subject: string;
    fromAddress: string;
    hasHtml: boolean;
    attachments: { filename: string; contentType: string; inline: boolean }[];
  };
  assert.equal(email.subject, 'Router invoice and a photo');
  assert.equal(email.fromAddress, 'kai@customer.example');
  assert.equal(email.hasHtml, true);
  assert.deepEqual(
    email.attachments.map((a) => [a.filename, a.inline]).sort(),
    [
      ['_.._etc_.fdp.exe', false],
      ['page.html', false],
      ['photo.png', true],
    ],
    'file names are labels only: no path separator, no right-to-left override',
  );
  assert.doesNotMatch(message.text, /script|__xss/);
});

test('the whole email is a sandboxed document: no script, inline images embedded, remote images only on request', async () => {
  const { t, message } = await arrange();
  const res = await app.inject({ url: `/api/v1/messages/${message.id}/html`, headers: t.headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.headers['content-type'] as string, /^text\/html/);
  const csp = res.headers['content-security-policy'] as string;
  assert.match(csp, /^sandbox/);
  assert.doesNotMatch(csp, /allow-scripts|allow-same-origin/);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /img-src data:;/, 'no remote images by default');
  assert.doesNotMatch(res.body, /<script|__xss|javascript:|onclick/i);
  assert.doesNotMatch(res.body, /\ssrc="https:\/\/tracker/);
  assert.match(res.body, /data-remote-src="https:\/\/tracker\.example\/pixel\.gif"/);
  assert.match(res.body, /src="data:image\/png;base64,/, 'the cid: image is embedded');

  const remote = await app.inject({
    url: `/api/v1/messages/${message.id}/html?images=remote`,
    headers: t.headers,
  });
  assert.match(remote.body, /src="https:\/\/tracker\.example\/pixel\.gif"/);
  assert.match(remote.headers['content-security-policy'] as string, /img-src data: https:/);
});

test('attachments download as files with a safe type; HTML in disguise is never served as HTML', async () => {
  const { t, message } = await arrange();
  const files = (message.email as { attachments: { id: string; filename: string }[] }).attachments;
  const byName = Object.fromEntries(files.map((f) => [f.filename, f.id]));
  const page = await app.inject({ url: `/api/v1/attachments/${byName['page.html']}`, headers: t.headers });
  assert.equal(page.statusCode, 200);
  assert.equal(page.headers['content-type'], 'application/octet-stream');
  assert.match(page.headers['content-disposition'] as string, /^attachment; filename="page\.html"/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.body, '<script>alert(4)</script>');
  const pdf = await app.inject({
    url: `/api/v1/attachments/${byName['_.._etc_.fdp.exe']}`,
    headers: t.headers,
  });
  assert.equal(pdf.headers['content-type'], 'application/pdf');
  assert.match(pdf.headers['content-disposition'] as string, /^attachment; filename="_\.\._etc_\.fdp\.exe"/);
  assert.match(pdf.headers['content-security-policy'] as string, /^sandbox/);
});

test('another organisation gets 404 for the email document and the attachments', async () => {
  const { message } = await arrange();
  const other = await given.tenant(app, 'Elsewhere Broadband');
  const files = (message.email as { attachments: { id: string }[] }).attachments;
  const html = await app.inject({ url: `/api/v1/messages/${message.id}/html`, headers: other.headers });
  assert.equal(html.statusCode, 404);
  assert.equal(html.json().error.code, 'message_not_found');
  for (const f of files) {
    const res = await app.inject({ url: `/api/v1/attachments/${f.id}`, headers: other.headers });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'attachment_not_found');
  }
});
