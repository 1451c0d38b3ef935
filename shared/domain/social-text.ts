/**
 * Text rules of the social platforms that server and composer both apply: a post's length as X
 * counts it, and WhatsApp templates' {{n}} parameters.
 */

/**
 * A post's length as X counts it (twitter-text's weighting, simplified): a link is 23, a
 * character from Latin, Greek, Cyrillic and the other early blocks 1, anything else (CJK, emoji) 2.
 */
export function postLength(text: string): number {
  let links = 0;
  const rest = text.replace(/https?:\/\/\S+/g, () => {
    links++;
    return '';
  });
  let n = links * 23;
  for (const ch of rest) {
    const cp = ch.codePointAt(0)!;
    const light =
      cp <= 0x10ff ||
      (cp >= 0x2000 && cp <= 0x200d) ||
      (cp >= 0x2010 && cp <= 0x201f) ||
      (cp >= 0x2032 && cp <= 0x2037);
    n += light ? 1 : 2;
  }
  return n;
}

const PLACEHOLDER = /\{\{(\d{1,2})\}\}/g;

/** How many parameters a WhatsApp template takes: its highest {{n}}. */
export function templateParameters(text: string): number {
  let max = 0;
  for (const m of text.matchAll(PLACEHOLDER)) max = Math.max(max, Number(m[1]));
  return max;
}

/** The template as the customer reads it; a parameter not given yet stays {{n}}. */
export function fillTemplate(text: string, parameters: readonly string[]): string {
  return text.replace(PLACEHOLDER, (whole, n: string) => parameters[Number(n) - 1] || whole);
}
