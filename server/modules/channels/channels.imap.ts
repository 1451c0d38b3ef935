/**
 * An email channel's IMAP mailbox settings: defaults and the rules between fields, the
 * write-only password (sealed at rest, bound to the channel's row, asked for again whenever the
 * mailbox it unlocks changes, so a changed host can never receive the stored one), and the
 * addresses that may never become an inbound mailbox (SECURITY.md EL-04).
 */
import type { ImapSettings, ImapSettingsInput } from '../../../shared/api/channels.ts';
import { machineSender } from '../../../shared/domain/email-senders.ts';
import { AppError } from '../../errors.ts';
import { EgressRefused, resolveEgress } from '../../lib/egress.ts';
import { openSecret, sealSecret } from '../../lib/secrets.ts';

/** The mailbox as kept in channels.settings.imap: everything but the password. */
export type StoredImap = Omit<ImapSettings, 'passwordSet'>;

/** What a poller needs to reach one channel's mailbox (the shape of email.imap.ts's config). */
export interface ImapConnection {
  key: string;
  host: string;
  port: number;
  secure: boolean;
  plaintext: boolean;
  user: string;
  password: string;
  mailbox: string;
  moveTo?: string;
}

const PATH = 'body.settings.imap';

/** The stored mailbox of a channel's settings, or null. */
export function storedImap(settings: unknown): StoredImap | null {
  const imap = (settings as { imap?: StoredImap } | null)?.imap;
  return imap && typeof imap.host === 'string' ? imap : null;
}

/** `imap://user@host:port/folder`: which mailbox a checkpoint belongs to. */
export function imapMailboxKey(imap: StoredImap): string {
  return `imap://${imap.username}@${imap.host}:${imap.port}/${imap.folder}`;
}

/** IMAP names INBOX case-insensitively; every other folder name is the server's business. */
const folderName = (name: string) => (name.trim().toUpperCase() === 'INBOX' ? 'INBOX' : name.trim());

/**
 * The mailbox to store, from what was written and what is stored now. Returns the new password
 * to seal, or null to keep the sealed one; throws AppError for contradicting fields and for a
 * missing password where one is needed.
 */
export function normaliseImap(
  input: ImapSettingsInput,
  current: { imap: StoredImap | null; passwordSet: boolean },
): { imap: StoredImap; password: string | null } {
  const security = input.security ?? 'tls';
  const folder = folderName(input.folder ?? 'INBOX');
  const moveTo = input.moveTo === undefined ? null : folderName(input.moveTo);
  const afterDelivery = input.afterDelivery ?? (moveTo ? 'move' : 'mark_seen');
  const problems: { path: string; message: string }[] = [];
  if (afterDelivery === 'move' && !moveTo)
    problems.push({ path: `${PATH}.moveTo`, message: 'name the folder stored messages are moved to' });
  if (afterDelivery === 'mark_seen' && moveTo)
    problems.push({ path: `${PATH}.moveTo`, message: 'only with afterDelivery "move"' });
  if (moveTo && moveTo === folder)
    problems.push({ path: `${PATH}.moveTo`, message: 'must differ from the folder that is read' });
  if (problems.length > 0)
    throw new AppError('imap_settings_invalid', 'The IMAP mailbox settings contradict each other', problems);

  const imap: StoredImap = {
    host: input.host.trim().toLowerCase(),
    port: input.port ?? (security === 'tls' ? 993 : 143),
    security,
    username: input.username.trim(),
    folder,
    afterDelivery,
    moveTo: afterDelivery === 'move' ? moveTo : null,
  };
  const was = current.imap;
  const sameAccount =
    was !== null &&
    was.host === imap.host &&
    was.port === imap.port &&
    was.security === imap.security &&
    was.username === imap.username;
  if (input.password === undefined && !(sameAccount && current.passwordSet)) {
    throw new AppError(
      'imap_password_required',
      was
        ? 'Enter the mailbox password again: the stored one is only kept while host, port, security and username stay the same'
        : 'Enter the mailbox password',
      [{ path: `${PATH}.password`, message: 'required' }],
    );
  }
  return { imap, password: input.password ?? null };
}

/** The sealed value's context: a copy in another channel's (or tenant's) row does not open. */
const sealContext = (tenantId: string, channelId: string) => `channel-imap:${tenantId}:${channelId}`;

export function sealImapPassword(key: Buffer, tenantId: string, channelId: string, password: string) {
  return sealSecret(key, password, sealContext(tenantId, channelId));
}

/** Throws when the server secret changed since the password was stored. */
export function imapConnection(
  key: Buffer,
  row: { tenantId: string; id: string; settings: unknown; imapPassword: string | null },
): ImapConnection {
  const imap = storedImap(row.settings);
  if (!imap || !row.imapPassword) throw new Error('the channel polls no IMAP mailbox');
  let password: string;
  try {
    password = openSecret(key, row.imapPassword, sealContext(row.tenantId, row.id));
  } catch {
    throw new Error(
      'the stored mailbox password cannot be read with this server secret (RAPPORT_SECRET changed?): enter it again',
    );
  }
  return {
    key: imapMailboxKey(imap),
    host: imap.host,
    port: imap.port,
    secure: imap.security === 'tls',
    plaintext: imap.security === 'none',
    user: imap.username,
    password,
    mailbox: imap.folder,
    ...(imap.moveTo ? { moveTo: imap.moveTo } : {}),
  };
}

/**
 * Refuses an address machines send from (bounces, no-reply) or one Rapport itself sends from
 * (the outbound relay's account) as an inbound mailbox: what it receives is our own mail and
 * bounces, a loop waiting to happen (SECURITY.md EL-04).
 */
export function refuseSystemAddress(address: string, systemAddresses: readonly string[], path: string) {
  const lower = address.trim().toLowerCase();
  const reason = systemAddresses.includes(lower)
    ? `${lower} is the address Rapport sends its own mail from`
    : machineSender(lower);
  if (reason) {
    throw new AppError('system_address_refused', `${lower} cannot be an inbound mailbox: ${reason}`, [
      { path, message: 'a system sender address' },
    ]);
  }
}

/** The outbound relay's account when it is an address (`smtp://bot%40acme.example:pw@host`). */
export function relayAddress(smtpOutboundUrl: string | null | undefined): string | null {
  if (!smtpOutboundUrl) return null;
  try {
    const user = decodeURIComponent(new URL(smtpOutboundUrl).username).toLowerCase();
    return user.includes('@') ? user : null;
  } catch {
    return null;
  }
}

/**
 * SS-01 when saved: a mailbox host that is, or resolves to, an address we do not connect to
 * (server/lib/egress.ts). A name that does not resolve yet may be saved; every connection checks
 * again and the channel shows the failure.
 */
export async function refuseUnreachableHost(host: string, path: string): Promise<void> {
  try {
    await resolveEgress(host);
  } catch (err) {
    if (!(err instanceof EgressRefused)) throw err;
    if (err.kind === 'unresolved') return;
    throw new AppError('destination_refused', `Rapport will not connect to ${err.message}`, [
      { path, message: 'must be a public host (or in RAPPORT_EGRESS_ALLOW)' },
    ]);
  }
}
