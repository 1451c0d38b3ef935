/**
 * The new part of a message: quoted history ("> " lines and the "On … wrote:" line that
 * introduces them, Outlook's "-----Original Message-----" / "From: … Sent: …" block and
 * everything after it) and the signature ("-- ", "Sent from my iPhone") are folded away. The
 * timeline shows this, with the full text one click away, so a wrong guess hides nothing for good.
 * Every pattern is anchored and tested on one bounded line, so hostile bodies stay linear.
 */

const MAX_LINE = 600;

const QUOTED = /^[ \t]*>/;
const ATTRIBUTION_START = /^[ \t]*(?:On|Am|Le|El|Il|Op|Den|Em|W dniu)[ \t]/i;
const ATTRIBUTION_VERB =
  /(?:^|[\s,])(?:wrote|writes|schrieb|schreibt|a écrit|escribió|ha scritto|schreef|skrev|escreveu|napisał)\b/i;
const ORIGINAL_MESSAGE =
  /^[ \t]*-{2,}[ \t]*(?:Original Message|Ursprüngliche Nachricht|Originalnachricht|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht)[ \t]*-{2,}[ \t]*$/i;
const RULE = /^[ \t]*_{10,}[ \t]*$/;
const HEADER_FROM = /^[ \t]*\*?(?:From|Von|De|Van|Da|Från)[ \t]*:\*?[ \t]*\S/i;
const HEADER_SENT = /^[ \t]*\*?(?:Sent|Gesendet|Date|Datum|Envoyé|Enviado|Verzonden|Inviato|Skickat)[ \t]*:/i;
const HEADER_TO =
  /^[ \t]*\*?(?:To|An|À|Para|Aan|A|Till|Subject|Betreff|Objet|Asunto|Onderwerp|Oggetto|Ämne)[ \t]*:/i;
const FORWARDED =
  /(?:Forwarded message|Weitergeleitete Nachricht|Begin forwarded message|Anfang der weitergeleiteten Nachricht|Message transféré)/i;
const SIGNATURE = /^--[ \t]*$/;
const MOBILE_SIGNATURE =
  /^[ \t]*(?:Sent from my .{1,40}|Sent from (?:Outlook|Mail) for .{1,30}|Get Outlook for .{1,30}|Von meinem .{1,40} gesendet|Gesendet von meinem .{1,40}|Envoyé de mon .{1,40})[ \t]*$/i;

function line(lines: string[], i: number): string {
  const l = lines[i] ?? '';
  return l.length > MAX_LINE ? '' : l;
}

function isQuoted(l: string): boolean {
  return QUOTED.test(l);
}

/** Lines (1 or 2, when the client wrapped it) of an "On <date>, <name> wrote:" line at i; else 0. */
function attributionAt(lines: string[], i: number, end: number): number {
  const first = line(lines, i);
  if (first.trim() === '' || isQuoted(first)) return 0;
  const isAttribution = (s: string) => /:[ \t]*$/.test(s) && ATTRIBUTION_VERB.test(s);
  if (isAttribution(first) && (ATTRIBUTION_START.test(first) || first.length < 200)) return 1;
  if (i + 1 < end && ATTRIBUTION_START.test(first) && isAttribution(`${first} ${line(lines, i + 1)}`))
    return 2;
  return 0;
}

/** Outlook-style history starts here: everything from this line on is the earlier thread. */
function historyStartsAt(lines: string[], i: number): boolean {
  const l = line(lines, i);
  if (ORIGINAL_MESSAGE.test(l)) return true;
  const headerBlockAt = (k: number) => {
    if (!HEADER_FROM.test(line(lines, k))) return false;
    // A forwarded message's header block introduces the content the customer wants us to read.
    if ([k - 1, k - 2, k - 3].some((p) => p >= 0 && FORWARDED.test(line(lines, p)))) return false;
    const next = [1, 2, 3, 4, 5].map((d) => line(lines, k + d));
    return next.slice(0, 3).some((n) => HEADER_SENT.test(n)) && next.some((n) => HEADER_TO.test(n));
  };
  if (RULE.test(l)) return headerBlockAt(i + 1) || headerBlockAt(i + 2);
  return headerBlockAt(i);
}

const hasContent = (lines: string[]) => lines.some((l) => l.trim() !== '');

/** The message without quoted history and signature; the full text when nothing would remain. */
export function visibleText(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let end = lines.length;
  for (let i = 0; i < end; i++) {
    if (historyStartsAt(lines, i)) end = i;
  }
  let kept: string[] = [];
  for (let i = 0; i < end; i++) {
    const l = lines[i] as string;
    if (isQuoted(l)) continue;
    const attribution = attributionAt(lines, i, end);
    if (attribution > 0) {
      let next = i + attribution;
      while (next < end && (lines[next] as string).trim() === '') next++;
      if (next >= end || isQuoted(lines[next] as string)) {
        i += attribution - 1;
        continue;
      }
      // History pasted without quote marks under an attribution: the rest is the old thread.
      if (hasContent(kept) && ATTRIBUTION_START.test(l)) break;
    }
    kept.push(l);
  }
  const signature = kept.findIndex((l, i) => SIGNATURE.test(l) && hasContent(kept.slice(0, i)));
  if (signature >= 0) kept = kept.slice(0, signature);
  while (kept.length > 0 && (kept[kept.length - 1] as string).trim() === '') kept.pop();
  if (kept.length > 1 && MOBILE_SIGNATURE.test(kept[kept.length - 1] as string)) kept.pop();
  const visible = kept
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return visible === '' ? text.trim() : visible;
}
