/**
 * Zammad's real-world mail corpus (../shared/corpus/mail/zammad, see its SOURCE.md): every .box
 * parses, and our parse agrees with Zammad's expected .yml on sender address, display name,
 * subject and body text. Comparison rules, applied to every file: addresses case-insensitively
 * (we lower-case them), subjects after trimming (we trim), bodies as text with HTML stripped and
 * whitespace collapsed on both sides, ours containing theirs (our sanitised HTML when theirs is
 * HTML, else our text); Zammad's placeholder "no visible content" means an empty body. Deliberate
 * disagreements are listed in EXCEPTIONS with what we assert instead and why.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { EmailRejectedError, parseEmail } from './email.parse.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const corpus = path.resolve(repo, '../shared/corpus/mail/zammad');

interface Expected {
  from_email?: string;
  from_display_name?: string;
  subject?: string;
  body?: string;
  content_type?: string;
}

type Field = 'address' | 'name' | 'subject' | 'body';

/**
 * Where we disagree with Zammad on purpose, one reason each: `ours` is what we assert instead,
 * `swaps` turn passages of Zammad's body into ours (the rest of the body is still compared).
 */
interface Exception {
  ours?: string;
  swaps?: [theirs: string, ours: string][];
  reason: string;
}
const EXCEPTIONS: Record<string, Partial<Record<Field, Exception>>> = {
  mail003: {
    body: {
      swaps: [['<john.smith@example.com>: Hallo', '<john.hinz@example.com>: Hallo']],
      reason: 'we keep the text of a mailto link as written; Zammad replaces it with the link target',
    },
  },
  mail016: {
    body: {
      swaps: [['新建网页 3 ', '']],
      reason: 'Zammad keeps the HTML <title> as body text; a title is not content',
    },
  },
  mail065: {
    name: {
      ours: 'Bürling, Andreas',
      reason: 'one encoded word holding a comma is one display name; Zammad splits it at the comma',
    },
  },
  mail072: {
    body: {
      swaps: [
        ['ŕ', 'à'],
        ['aoűt', 'août'],
        ['d\u0092avance', 'd’avance'],
        ['S.aĚ', 'S.a\u0300'],
      ],
      reason:
        'we decode the declared windows-1258; Zammad reads its letters as windows-1250 and 0x92 as a C1 control',
    },
  },
  mail076: {
    address: {
      ours: '"millions lottery spain transfer"@example.com',
      reason: 'the stray ">" after an address without "<" is dropped, leaving a valid quoted local part',
    },
    name: { ours: '', reason: 'the header has no display name; Zammad copies the broken address into it' },
  },
};

/** The corpus' bounces and the message each returns; every other file is written by a person. */
const BOUNCES: Record<string, string | null> = {
  'mail033-undelivered-mail-returned-to-sender-notification':
    'notification.20150830145600.1.4.5f4fd063-f69b-4e64-a92d-5e7128bd6682@127.0.0.1:3000',
  mail052: null,
  mail055: '20170526150141.232.13312@example.zammad.loc',
};

function readExpected(file: string): Expected {
  // Psych (Ruby) accepts a quoted scalar closed at column 0; YAML 1.2 wants it indented.
  const source = fs.readFileSync(file, 'utf8').replace(/^'$/gm, "    '");
  return YAML.parse(source, { logLevel: 'error' }) as Expected;
}

const INLINE_TAG = /^<\/?(?:a|span|font|b|strong|i|em|u|small|big)\b/i;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Text of an HTML or plain body: tags and entities gone, all whitespace runs one space. */
function comparable(body: string, isHtml: boolean): string {
  const text = isHtml
    ? body
        .replace(/<(style|script|title)\b[^>]*>[\s\S]*?<\/\1>/gi, ' ')
        // Inline tags join words (Zammad linkifies part of a URL); block tags separate them.
        .replace(/<[^>]*>/g, (tag) => (INLINE_TAG.test(tag) ? '' : ' '))
        .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
          if (e[0] !== '#') return ENTITIES[e.toLowerCase()] ?? whole;
          return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
        })
    : body;
  return text.replace(/[\s\u00a0]+/g, ' ').trim();
}

/** Where theirs stops matching ours, with some context, for a readable failure. */
function firstDifference(ours: string, theirs: string): string {
  const start = Math.max(0, ours.indexOf(theirs.slice(0, 30)));
  let i = 0;
  while (i < theirs.length && ours[start + i] === theirs[i]) i++;
  return `\n  ours:   …${ours.slice(start + i - 60, start + i + 80)}\n  theirs: …${theirs.slice(i - 60, i + 80)}`;
}

const boxes = fs
  .readdirSync(corpus)
  .filter((f) => f.endsWith('.box'))
  .sort();

describe('Zammad mail corpus', () => {
  test('the corpus is there', () => {
    assert.ok(boxes.length >= 30, `expected the corpus beside the repo at ${corpus}`);
  });

  for (const box of boxes) {
    const name = box.replace(/\.box$/, '');
    test(name, async () => {
      const raw = fs.readFileSync(path.join(corpus, box));
      const expected = readExpected(path.join(corpus, `${name}.yml`));
      const exceptions = EXCEPTIONS[name] ?? {};
      const parsed = await parseEmail(raw);
      const want = (field: Field, theirs: string) => exceptions[field]?.ours ?? theirs;

      if (expected.from_email !== undefined) {
        assert.equal(
          parsed.from?.address,
          want('address', expected.from_email.toLowerCase()),
          'sender address',
        );
      }
      if (expected.from_display_name !== undefined) {
        assert.equal(parsed.from?.name, want('name', expected.from_display_name), 'display name');
      }
      if (expected.subject !== undefined) {
        assert.equal(parsed.subject, want('subject', expected.subject.trim()), 'subject');
      }
      if (expected.body !== undefined) {
        const isHtml = expected.content_type === 'text/html' || /<(?:div|p|br|a|span)\b/i.test(expected.body);
        const ours = comparable(isHtml ? (parsed.html ?? parsed.text) : parsed.text, isHtml);
        let theirs = comparable(expected.body, isHtml);
        if (theirs === 'no visible content') theirs = '';
        for (const [find, replace] of exceptions.body?.swaps ?? []) theirs = theirs.replaceAll(find, replace);
        assert.ok(ours.includes(theirs), `body text differs: ${firstDifference(ours, theirs)}`);
        if (theirs === '' && !isHtml) assert.equal(parsed.text, '', 'empty body');
      }

      if (name in BOUNCES) {
        assert.equal(parsed.automatic?.kind, 'bounce');
        assert.equal(parsed.bounceOf, BOUNCES[name]);
      } else {
        assert.equal(parsed.automatic, null, 'not automatic');
      }
    });
  }
});

/** A small deterministic PRNG, so a failing mutation can be replayed. */
function random(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

describe('mutated corpus: damaged mail never crashes or hangs the parser', () => {
  test('truncated, byte-flipped, NUL-filled, boundary-less and spliced copies: a parse or a typed rejection', async () => {
    // This found a part whose Content-Type came out unset (see the regression test in email.parse.test.ts).
    const next = random(3);
    const outcomes: Record<string, number> = { parsed: 0 };
    for (const box of boxes) {
      const original = fs.readFileSync(path.join(corpus, box));
      for (let round = 0; round < 40; round++) {
        const raw = Buffer.from(original);
        let damaged: Buffer = raw;
        const kind = round % 5;
        if (kind === 0) damaged = raw.subarray(0, next(raw.length));
        else if (kind === 1) for (let k = 0; k < 50; k++) raw[next(raw.length)] = next(256);
        else if (kind === 2) for (let k = 0; k < 50; k++) raw[next(raw.length)] = 0;
        else if (kind === 3)
          damaged = Buffer.from(raw.toString('latin1').replace(/--[^\r\n]{8,}/g, '--'), 'latin1');
        else {
          const at = next(raw.length);
          damaged = Buffer.concat([raw.subarray(0, at), raw.subarray(next(raw.length)), raw.subarray(at)]);
        }
        const started = performance.now();
        try {
          await parseEmail(damaged);
          outcomes.parsed = (outcomes.parsed ?? 0) + 1;
        } catch (err) {
          assert.ok(err instanceof EmailRejectedError, `${box} round ${round}: ${err}`);
          outcomes[err.reason] = (outcomes[err.reason] ?? 0) + 1;
        }
        assert.ok(performance.now() - started < 2000, `${box} round ${round} took too long`);
      }
    }
    console.log('mutated corpus outcomes:', JSON.stringify(outcomes));
    assert.ok((outcomes.parsed ?? 0) > boxes.length * 35, JSON.stringify(outcomes));
  });
});
