/** Timeline lines for a case that moved between customer records (a merge, or a split of one). */
import type { TimelineEntry } from '../lib/api.ts';

const named = (name: unknown, fallback: string) =>
  typeof name === 'string' && name ? `“${name}”` : fallback;

export function describeCustomerEvent(entry: TimelineEntry, who: string): string | null {
  const merged = named(entry.data.mergedName, 'a customer');
  const survivor = named(entry.data.survivorName, 'another customer');
  if (entry.type === 'customer.merged') {
    return `${who} merged ${merged} into ${survivor}; this case moved with them`;
  }
  if (entry.type === 'customer.split') {
    return `${who} split ${merged} off ${survivor} again; this case went back to ${merged}`;
  }
  return null;
}
