/**
 * Inbound email HTML: the allowlist sanitiser whose output the agent UI shows (inside a sandboxed
 * iframe as a second wall), and the plain-text rendering used for `text` when a message has only
 * HTML. Both run htmlparser2, whose open-element stack makes deep nesting quadratic (200k nested
 * tags take minutes), so HTML nested deeper than MAX_HTML_DEPTH is flattened to text first.
 */
import { Parser } from 'htmlparser2';
import sanitizeHtml from 'sanitize-html';

/** Sanitiser input budget; the raw HTML is kept whole beside it for "view original". */
export const MAX_SANITIZE_CHARS = 2 * 1024 * 1024;
/** Real mail nests far less; Chrome itself flattens anything past 512 levels. */
export const MAX_HTML_DEPTH = 400;

const ALLOWED_TAGS = [
  ...['a', 'abbr', 'b', 'big', 'blockquote', 'br', 'caption', 'center', 'cite', 'code', 'col', 'colgroup'],
  ...['dd', 'del', 'div', 'dl', 'dt', 'em', 'font', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img'],
  ...['ins', 'kbd', 'li', 'mark', 'ol', 'p', 'pre', 'q', 's', 'samp', 'small', 'span', 'strike', 'strong'],
  ...['sub', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'tt', 'u', 'ul', 'var', 'wbr'],
];
const CELL = ['colspan', 'rowspan', 'align', 'valign', 'width', 'height'];
const COLOR = [
  /^#[0-9a-f]{3,8}$/i,
  /^rgb\(\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*\)$/i,
  /^[a-z]{3,20}$/i,
];
// Dropped together with everything inside them, not just the tag.
const DROP_WITH_CONTENT = ['script', 'style', 'title', 'head', 'template', 'xmp', 'noscript', 'noembed'];
const DROP_WITH_CONTENT_2 = ['svg', 'math', 'iframe', 'object', 'embed', 'textarea', 'select', 'option'];
const SKIP = new Set([...DROP_WITH_CONTENT, ...DROP_WITH_CONTENT_2]);
const SAFE_IMAGE_DATA = /^data:image\/(?:png|gif|jpe?g|webp|bmp);base64,[a-z0-9+/=\s]*$/i;

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: {
    a: ['href', 'title', 'target', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height', 'data-remote-src'],
    table: ['border', 'cellpadding', 'cellspacing', 'width', 'align'],
    td: CELL,
    th: CELL,
    col: ['span', 'width'],
    colgroup: ['span', 'width'],
    ol: ['start', 'type'],
    font: ['color'],
    '*': ['style', 'dir', 'align', 'title'],
  },
  // A few presentational properties with literal values only: no url(), no expression().
  allowedStyles: {
    '*': {
      color: COLOR,
      'background-color': COLOR,
      'text-align': [/^(?:left|right|center|justify)$/i],
      'font-weight': [/^(?:bold|bolder|normal|[1-9]00)$/i],
      'font-style': [/^(?:italic|normal)$/i],
      'text-decoration': [/^(?:underline|line-through|none)$/i],
    },
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['cid', 'data', 'http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: [...DROP_WITH_CONTENT, ...DROP_WITH_CONTENT_2],
  transformTags: {
    a: (tagName, attribs) => {
      const { href, title } = attribs;
      const out: Record<string, string> = { target: '_blank', rel: 'noopener noreferrer nofollow' };
      // Only absolute http(s)/mailto: relative links would resolve against our own origin.
      if (href && /^(?:https?:\/\/|mailto:)/i.test(href.trim())) out.href = href.trim();
      if (title) out.title = title;
      return { tagName, attribs: out };
    },
    img: (tagName, attribs) => {
      const { src = '', alt, title, width, height } = attribs;
      const out: Record<string, string> = {};
      const url = src.trim();
      if (/^cid:/i.test(url) || SAFE_IMAGE_DATA.test(url)) out.src = url;
      // Remote images stay off (no tracking pixel, no fetch) until the agent asks for them.
      else if (/^https?:\/\//i.test(url)) out['data-remote-src'] = url;
      for (const [k, v] of Object.entries({ alt, title, width, height })) if (v !== undefined) out[k] = v;
      return { tagName, attribs: out };
    },
  },
};

export interface SanitizedHtml {
  html: string;
  problems: string[];
}

/**
 * Sanitise inbound HTML within the size and nesting budget, saying what was cut. `budget` is the
 * characters still allowed for this message (its HTML parts share one budget).
 */
export function sanitizeEmailHtml(raw: string, budget = MAX_SANITIZE_CHARS): SanitizedHtml {
  const problems: string[] = [];
  let input = raw;
  if (input.length > budget) {
    input = input.slice(0, Math.max(0, budget));
    problems.push(`HTML body over ${MAX_SANITIZE_CHARS} characters; the sanitised copy is truncated`);
  }
  if (htmlDepthExceeds(input, MAX_HTML_DEPTH)) {
    problems.push(`HTML nested deeper than ${MAX_HTML_DEPTH} levels; shown as plain text`);
    return { html: textToHtml(stripTags(input)), problems };
  }
  return { html: sanitizeHtml(input, OPTIONS), problems };
}

// Tags that never open a level, and the open tags that implicitly close the current one
// (htmlparser2's own rules), so sloppy tables and lists are not counted as deep nesting.
const VOID = new Set(
  'area base basefont br col embed frame hr img input keygen link meta param source track wbr'.split(' '),
);
const CLOSES_P =
  'address article aside blockquote details div dl fieldset figure footer form h1 h2 h3 h4 h5 h6 header hr main nav ol p pre section table ul';
const IMPLIED_CLOSE = new Map<string, Set<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['tbody', new Set(['thead', 'tbody'])],
  ['tfoot', new Set(['thead', 'tbody'])],
  ['li', new Set(['li'])],
  ['dd', new Set(['dt', 'dd'])],
  ['dt', new Set(['dt', 'dd'])],
  ['option', new Set(['option'])],
  ['optgroup', new Set(['optgroup', 'option'])],
  ...CLOSES_P.split(' ').map((t): [string, Set<string>] => [t, new Set(['p'])]),
]);

/** Tag tokens of HTML in one linear pass (indexOf only: no regex that can rescan the input). */
function* tags(html: string): Generator<{ name: string; closing: boolean; start: number; end: number }> {
  let i = html.indexOf('<');
  while (i >= 0) {
    if (html.startsWith('!--', i + 1)) {
      const end = html.indexOf('-->', i + 4);
      if (end < 0) return;
      i = html.indexOf('<', end + 3);
      continue;
    }
    const closing = html.charCodeAt(i + 1) === 47;
    const start = i + (closing ? 2 : 1);
    let j = start;
    while (j < html.length && /[a-zA-Z0-9:-]/.test(html.charAt(j))) j++;
    if (j === start || !/[a-zA-Z]/.test(html.charAt(start))) {
      i = html.indexOf('<', i + 1);
      continue;
    }
    const end = html.indexOf('>', j);
    if (end < 0) {
      // A tag cut off by the end of input (or by truncation) is dropped, as browsers do.
      yield { name: html.slice(start, j).toLowerCase(), closing, start: i, end: html.length };
      return;
    }
    yield { name: html.slice(start, j).toLowerCase(), closing, start: i, end: end + 1 };
    i = html.indexOf('<', end + 1);
  }
}

/** Follows how the parser nests elements; true once `max` levels are open. */
export function htmlDepthExceeds(html: string, max: number): boolean {
  const stack: string[] = [];
  const open = new Map<string, number>();
  for (const { name, closing } of tags(html)) {
    if (VOID.has(name)) continue;
    if (closing) {
      if (!open.get(name)) continue;
      for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
        open.set(top, (open.get(top) ?? 1) - 1);
        if (top === name) break;
      }
      continue;
    }
    const closes = IMPLIED_CLOSE.get(name);
    while (closes && stack.length > 0 && closes.has(stack[stack.length - 1] as string)) {
      const top = stack.pop() as string;
      open.set(top, (open.get(top) ?? 1) - 1);
    }
    stack.push(name);
    open.set(name, (open.get(name) ?? 0) + 1);
    if (stack.length > max) return true;
  }
  return false;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
const LINE_TAGS = new Set(['br', 'p', 'div', 'tr', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

/** Tag-free text of HTML without a parser (the fallback for markup too deep to parse safely). */
function stripTags(html: string): string {
  let out = '';
  let at = 0;
  let skipUntil = '';
  for (const t of tags(html)) {
    if (skipUntil) {
      if (t.closing && t.name === skipUntil) skipUntil = '';
      at = t.end;
      continue;
    }
    out += html.slice(at, t.start);
    at = t.end;
    if (!t.closing && SKIP.has(t.name)) skipUntil = t.name;
    else if (LINE_TAGS.has(t.name) && (t.closing || t.name === 'br')) out += '\n';
  }
  if (!skipUntil) out += html.slice(at);
  return out.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, e: string) => {
    if (e[0] !== '#') return NAMED[e.toLowerCase()] ?? whole;
    const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : '';
  });
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Plain text as safe HTML paragraphs (a text part shown beside HTML parts). */
export function textToHtml(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
  const paragraphs = escaped.split(/\n[ \t]*\n+/).filter((p) => p.trim() !== '');
  return paragraphs.map((p) => `<p>${p.trim().replace(/\n/g, '<br>')}</p>`).join('\n');
}

// Blocks followed by an empty line, as paragraphs are.
const PARAGRAPH = new Set(['p', 'table', 'hr', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const BLOCK = new Set(
  `address article aside blockquote center dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6
   header hr li main nav ol p pre section table tbody tfoot thead tr ul caption`.split(/\s+/),
);

/**
 * Readable plain text of (sanitised) HTML: blocks and <br> become line breaks, list items get
 * "- ", and <blockquote> lines get "> " so quoted history folds the same way as in text mail.
 */
export function htmlToText(html: string): string {
  if (htmlDepthExceeds(html, MAX_HTML_DEPTH)) return normalizeText(stripTags(html));
  const lines: string[] = [];
  // The line is only ever appended to; whether it has text is tracked on the side, because
  // trimming a growing one-line body for every text node would be quadratic.
  let line = '';
  let hasText = false;
  let endsWithSpace = false;
  let quote = 0;
  let pre = 0;
  let skip = 0;
  const breakLine = () => {
    lines.push(line);
    line = '';
    hasText = false;
    endsWithSpace = false;
  };
  const block = () => {
    if (hasText) breakLine();
  };
  const write = (s: string) => {
    if (s === '') return;
    if (line === '') line = '> '.repeat(quote);
    line += s;
    if (/\S/.test(s)) hasText = true;
    endsWithSpace = /\s$/.test(s);
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (SKIP.has(name)) skip++;
        if (skip > 0) return;
        if (name === 'br') return breakLine();
        if (BLOCK.has(name)) block();
        if (name === 'blockquote') quote++;
        if (name === 'pre') pre++;
        if (name === 'li') write('- ');
        if (name === 'td' || name === 'th') write(hasText ? ' ' : '');
      },
      onclosetag(name) {
        if (SKIP.has(name)) skip = Math.max(0, skip - 1);
        if (skip > 0) return;
        if (name === 'blockquote') {
          block();
          quote = Math.max(0, quote - 1);
        } else if (name === 'pre') pre = Math.max(0, pre - 1);
        if (BLOCK.has(name) && name !== 'li') {
          block();
          if (PARAGRAPH.has(name)) breakLine();
        } else if (name === 'li') block();
      },
      ontext(data) {
        if (skip > 0) return;
        const text = data.replace(/\u00a0/g, ' ');
        if (pre > 0) {
          const parts = text.split(/\r?\n/);
          parts.forEach((p, i) => {
            if (i > 0) breakLine();
            write(p);
          });
          return;
        }
        const collapsed = text.replace(/\s+/g, ' ');
        write(!hasText || endsWithSpace ? collapsed.replace(/^ /, '') : collapsed);
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  breakLine();
  return normalizeText(lines.join('\n'));
}

function normalizeText(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
