/**
 * Timeline lines for the case's customer record: the case moved between records (a merge, or a
 * split of one), or an agent added or removed an email address or phone number.
 */
import type { TimelineEntry } from '../lib/api.ts';

const named = (name: unknown, fallback: string) =>
  typeof name === 'string' && name ? `“${name}”` : fallback;

export function describeCustomerEvent(entry: TimelineEntry, who: string): string | null {
  const merged = named(entry.data.mergedName, 'a customer');
  const survivor = named(entry.data.survivorName, 'another customer');
  if (entry.type === 'customer.merged') {
    return `${who} merged ${merged} into ${survivor}; this case moved with them`;
  }
  if (entry.type === 'customer.identity_added' || entry.type === 'customer.identity_removed') {
    const what = entry.data.kind === 'phone' ? 'the phone number' : 'the email address';
    return entry.type === 'customer.identity_added'
      ? `${who} added ${what} ${entry.data.value} to the customer`
      : `${who} removed ${what} ${entry.data.value} from the customer`;
  }
  if (entry.type === 'customer.split') {
    return `${who} split ${merged} off ${survivor} again; this case went back to ${merged}`;
  }
  return null;
}
