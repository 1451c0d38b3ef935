/** Builders that arrange a test's own world through the same services operators use. */
import { randomUUID } from 'node:crypto';
import type { App } from '../../server/app.ts';
import { rows, sql } from '../../server/db/client.ts';
import { channels, emailOutbox, inboundEmails } from '../../server/db/schema/index.ts';
import { deriveKey } from '../../server/lib/secrets.ts';
import type { ChannelRow } from '../../server/modules/channels/channels.queries.ts';
import { sealChannelSecret } from '../../server/modules/channels/channels.secrets.ts';
import { createChannel } from '../../server/modules/channels/channels.service.ts';
import { IDENTITY_SECRET } from '../../server/modules/chat/chat.identity.ts';
import { storeInbound } from '../../server/modules/email/email.inbound.ts';
import {
  createTeam,
  createTenant,
  createToken,
  createUser,
} from '../../server/modules/tenants/tenants.service.ts';
import type { ChatChannelSettings } from '../../shared/api/chat.ts';
import type { Role } from '../../shared/domain/roles.ts';
import { eventually } from './eventually.ts';
import { TEST_SECRET } from './test-app.ts';

export interface GivenTenant {
  id: string;
  slug: string;
  /** Authorization header of an admin API token. */
  headers: { authorization: string };
  app: App;
}

export async function tenant(app: App, name = 'Test Broadband'): Promise<GivenTenant> {
  const slug = `t-${randomUUID().slice(0, 12)}`;
  const row = await createTenant(app.database.db, { slug, name });
  const token = await createToken(app.database.db, row.id, { name: 'test admin', role: 'admin' });
  return { id: row.id, slug, headers: { authorization: `Bearer ${token.secret}` }, app };
}

export async function token(t: GivenTenant, role: Role): Promise<{ authorization: string }> {
  const created = await createToken(t.app.database.db, t.id, { name: `${role} ${randomUUID()}`, role });
  return { authorization: `Bearer ${created.secret}` };
}

export async function team(t: GivenTenant, name = `Team ${randomUUID().slice(0, 6)}`) {
  return createTeam(t.app.database.db, t.id, name);
}

/** An email channel; its address is unique across tenants, so a random one by default. */
export async function emailChannel(
  t: GivenTenant,
  address = `support-${randomUUID().slice(0, 8)}@${t.slug}.example`,
  name = `Support ${randomUUID().slice(0, 6)}`,
) {
  return createChannel(t.app.database.db, t.id, { type: 'email', name, address });
}

/** Inbound mail the processor gave up on, as the quarantine lists it; returns the row ids. */
export async function quarantinedEmails(
  t: GivenTenant,
  channel: { id: string },
  count = 1,
): Promise<string[]> {
  const inserted = await t.app.database.db
    .insert(inboundEmails)
    .values(
      Array.from({ length: count }, () => {
        const raw = Buffer.from(`not an email ${randomUUID()}`);
        return {
          tenantId: t.id,
          channelId: channel.id,
          source: 'smtp',
          dedupeKey: `sha256:${randomUUID()}`,
          raw,
          size: raw.length,
          status: 'quarantined',
          reason: 'not_email: no email header found',
          attempts: 1,
        };
      }),
    )
    .returning({ id: inboundEmails.id });
  return inserted.map((r) => r.id);
}

/** Outbound mail the relay refused for good, as Settings → Outbound mail lists it; returns the ids. */
export async function failedEmails(
  t: GivenTenant,
  channel: { id: string; address: string | null },
  count = 1,
) {
  const inserted = await t.app.database.db
    .insert(emailOutbox)
    .values(
      Array.from({ length: count }, () => ({
        tenantId: t.id,
        channelId: channel.id,
        kind: 'reply',
        recipient: 'gone@customer.example',
        headerMessageId: `${randomUUID()}@${t.slug}.example`,
        envelopeFrom: channel.address ?? `support@${t.slug}.example`,
        envelopeTo: ['gone@customer.example'],
        raw: Buffer.from('Subject: Your line\r\n\r\nHello\r\n'),
        status: 'failed',
        attempts: 1,
        lastError: '550 5.1.1 <gone@customer.example>: mailbox unavailable',
      })),
    )
    .returning({ id: emailOutbox.id });
  return inserted.map((r) => r.id);
}

export const PASSWORD = 'correct horse battery staple';

export async function user(
  t: GivenTenant,
  role: Role = 'agent',
  options: { teamIds?: string[]; name?: string } = {},
) {
  const email = `${role}-${randomUUID().slice(0, 8)}@staff.example`;
  const row = await createUser(t.app.database.db, t.id, {
    email,
    displayName: options.name ?? `A ${role}`,
    role,
    password: PASSWORD,
    teamIds: options.teamIds,
  });
  return { ...row, email, password: PASSWORD };
}

/** Signs a user in and returns the cookie and CSRF headers a browser would send. */
export async function signedIn(t: GivenTenant, u: { email: string; password: string }) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { tenant: t.slug, email: u.email, password: u.password },
  });
  if (res.statusCode !== 201) throw new Error(`sign-in failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === 'rapport_session')!;
  const csrf = res.json().csrfToken as string;
  return {
    cookie: `${cookie.name}=${cookie.value}`,
    read: { cookie: `${cookie.name}=${cookie.value}` },
    write: { cookie: `${cookie.name}=${cookie.value}`, 'x-csrf-token': csrf },
  };
}

let seq = 0;
/** Posts a contact through the public intake and returns the parsed response. */
export async function contact(t: GivenTenant, body: Record<string, unknown> = {}) {
  seq++;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/contacts',
    headers: t.headers,
    payload: {
      channel: 'email',
      from: { identity: `customer${seq}@example.com` },
      text: 'My broadband is down',
      ...body,
    },
  });
  if (res.statusCode >= 300) throw new Error(`contact failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/**
 * An email as it would arrive at `channel` (through SMTP or IMAP), processed into its case: the
 * raw bytes are stored and the app's own processor runs until nothing is pending.
 */
export async function inboundEmail(t: GivenTenant, channel: ChannelRow, raw: Buffer) {
  const stored = await storeInbound(t.app.database.db, t.app.rawMail, {
    channel,
    source: 'smtp',
    raw,
    envelopeFrom: null,
    envelopeTo: [channel.address!],
  });
  await inboundProcessed(t);
  return stored;
}

/**
 * Runs the app's inbound processor and waits until none of the tenant's stored mail is pending.
 * Another processor on the same database (a second app node in the file, a file's own processor)
 * may have leased a row and still be working on it when this app's round finds nothing to do.
 */
export async function inboundProcessed(t: GivenTenant, timeoutMs = 15_000) {
  await t.app.emailInbound.drain();
  await eventually(
    'stored mail processed',
    async () =>
      (
        await rows<{ pending: number }>(
          t.app.database.db,
          sql`select count(*)::int as pending from inbound_emails
              where tenant_id = ${t.id} and status = 'pending'`,
        )
      )[0]!.pending === 0,
    timeoutMs,
  );
}

/** An email with HTML and one attachment, processed onto a case: the ids its routes take. */
export async function emailWithAttachment(t: GivenTenant, channel: ChannelRow) {
  const boundary = `b-${randomUUID()}`;
  const raw = Buffer.from(
    [
      'From: A Customer <customer@mail.example>',
      `To: ${channel.address}`,
      'Subject: Bill attached',
      `Message-ID: <${randomUUID()}@mail.example>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>My bill is attached.</p>',
      `--${boundary}`,
      'Content-Type: application/pdf; name="bill.pdf"',
      'Content-Disposition: attachment; filename="bill.pdf"',
      '',
      '%PDF-1.4 a bill',
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
  const stored = await inboundEmail(t, channel, raw);
  const [row] = await rows<{ message_id: string; attachment_id: string }>(
    t.app.database.db,
    sql`select e.message_id, a.id as attachment_id from inbound_emails e
        join attachments a on a.tenant_id = e.tenant_id and a.message_id = e.message_id
        where e.tenant_id = ${t.id} and e.id = ${stored.id}`,
  );
  if (!row) throw new Error('the email was not processed into a message with an attachment');
  return { messageId: row.message_id, attachmentId: row.attachment_id };
}

/**
 * A web chat channel, written straight to the table while the channels API takes email channels
 * only; `identitySecret` is sealed into channels.secrets as the widget reads it.
 */
export async function chatChannel(
  t: GivenTenant,
  options: { name?: string; settings?: ChatChannelSettings; identitySecret?: string; active?: boolean } = {},
) {
  const id = randomUUID();
  const key = deriveKey(TEST_SECRET, 'channel-secrets');
  const [row] = await t.app.database.db
    .insert(channels)
    .values({
      tenantId: t.id,
      id,
      type: 'chat',
      name: options.name ?? `Chat ${randomUUID().slice(0, 6)}`,
      settings: options.settings ?? {},
      secrets: options.identitySecret
        ? { [IDENTITY_SECRET]: sealChannelSecret(key, t.id, id, IDENTITY_SECRET, options.identitySecret) }
        : {},
      active: options.active ?? true,
    })
    .returning();
  return row!;
}
