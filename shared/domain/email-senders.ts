/**
 * Addresses machines send from. Mail from them is automatic (SECURITY.md EL-01), and none of them
 * may become an inbound mailbox of ours (EL-04): what it receives is bounces and loops.
 */
export const BOUNCE_SENDER = /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)$/i;
export const NO_REPLY_SENDER = /^(?:no-?reply|do-?not-?reply|donotreply)(?:[+.\-_].*)?$/i;

/** Why `address` is a machine's sender address (bounces, no-reply), or null when it is not. */
export function machineSender(address: string): string | null {
  const local = address.slice(0, address.lastIndexOf('@'));
  if (BOUNCE_SENDER.test(local)) return `${local.toLowerCase()}@ is where bounces come from`;
  if (NO_REPLY_SENDER.test(local)) return `${local.toLowerCase()}@ is a no-reply sender`;
  return null;
}
