/**
 * How an SMS is split for the customer's carrier: GSM-7 text travels 160 characters to a
 * message (153 each once split, the rest is the joining header; ^{}[]~|€\ count twice), any
 * other character makes the whole text UCS-2, 70 to a message (67 once split).
 */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENDED = '^{}\\[~]|€\f';

export interface SmsSplit {
  encoding: 'GSM-7' | 'UCS-2';
  /** Characters as the carrier counts them (GSM-7 extension characters count twice). */
  units: number;
  segments: number;
  /** Characters left before the next segment starts. */
  remaining: number;
}

export function smsSegments(text: string): SmsSplit {
  let units = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM_BASIC.includes(ch)) units += 1;
    else if (GSM_EXTENDED.includes(ch)) units += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (!gsm) units = text.length; // UTF-16 code units: an emoji takes two
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  if (units === 0) return { encoding: gsm ? 'GSM-7' : 'UCS-2', units, segments: 0, remaining: single };
  const segments = units <= single ? 1 : Math.ceil(units / multi);
  const capacity = segments === 1 ? single : segments * multi;
  return { encoding: gsm ? 'GSM-7' : 'UCS-2', units, segments, remaining: capacity - units };
}
