/**
 * The chat transcript by email, to the address the visitor gave: composed and queued in the
 * email outbox like any mail we send (email.outbox.ts), from the tenant's email channel, threaded
 * to the chat's case (signed reply address, Message-ID and subject tag), so an answer by email
 * continues the same case. At most `transcriptsPerRecipientPerDay` go to one address, since a
 * visitor could type anyone's.
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../../../shared/api/chat.ts';
import type { Db } from '../../db/client.ts';
import { AppError } from '../../errors.ts';
import { ComposeError, composeEmail } from '../email/email.compose.ts';
import type { RawMailStore } from '../email/email.inbound.ts';
import { domainOf, organisationName, type QueueInput, queueMail } from '../email/email.outbox.ts';
import {
  messageIdFor,
  replyAddress,
  subjectWithTag,
  type ThreadingSecret,
} from '../email/email.threading.ts';
import { rateLimited } from './chat.limits.ts';
import {
  type ChatSessionRow,
  countRecentMail,
  findCaseNumber,
  findEmailChannel,
  listSessionMessages,
} from './chat.queries.ts';

export interface TranscriptDeps {
  db: Db;
  /** deriveKey(app secret, 'email-threading'). */
  threadingSecret: ThreadingSecret;
  rawMail: RawMailStore;
  perRecipientPerDay: number;
  /** Called after the commit: the outbox sender looks for due mail. */
  onQueued(): void;
}

/** Outbox kind of mail sent because someone asked for it (not a reply, not an acknowledgement). */
const KIND = 'notification';

function zoneOrUtc(timezone: string | undefined): string {
  if (!timezone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: timezone });
    return timezone;
  } catch {
    return 'UTC';
  }
}

/** The chat as plain text: one block per message, "[HH:MM] Who: text". */
export function transcriptText(
  messages: ChatMessage[],
  options: { organisation: string; visitor: string | null; timezone: string },
): string {
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: options.timezone, timeStyle: 'short' });
  const day = new Intl.DateTimeFormat('en-GB', { timeZone: options.timezone, dateStyle: 'long' });
  const first = messages[0] ? day.format(new Date(messages[0].at)) : '';
  const lines = [`Your chat with ${options.organisation} on ${first} (times ${options.timezone})`, ''];
  for (const m of messages) {
    const who = m.from === 'visitor' ? (options.visitor ?? 'You') : (m.author?.name ?? options.organisation);
    lines.push(`[${time.format(new Date(m.at))}] ${who}: ${m.text}`);
  }
  lines.push('', 'Reply to this email to continue the conversation.');
  return lines.join('\n');
}

export async function sendTranscript(
  deps: TranscriptDeps,
  session: ChatSessionRow,
  options: { timezone?: string } = {},
): Promise<{ to: string }> {
  const to = session.visitorEmail;
  if (!to) {
    throw new AppError('chat_email_required', 'Give an email address to receive the transcript', [
      { path: 'session.email', message: 'the chat has no email address' },
    ]);
  }
  const messages = await listSessionMessages(deps.db, session);
  const caseId = session.caseId;
  if (messages.length === 0 || !caseId)
    throw new AppError(
      'chat_transcript_unavailable',
      'There is nothing to send yet: the chat has no messages',
    );
  const { tenantId } = session;

  await deps.db.transaction(async (tx) => {
    const channel = await findEmailChannel(tx, tenantId);
    const number = await findCaseNumber(tx, tenantId, caseId);
    if (!channel?.address || number === null)
      throw new AppError('chat_transcript_unavailable', 'Transcripts by email are not available here');
    if ((await countRecentMail(tx, tenantId, to, KIND, 24)) >= deps.perRecipientPerDay)
      throw rateLimited('transcripts to this address today', 3600);
    const organisation = await organisationName(tx, tenantId);
    const ref = { tenantId, caseId };
    let mail: Awaited<ReturnType<typeof composeEmail>>;
    try {
      mail = await composeEmail({
        from: { address: channel.address, name: organisation },
        to: [{ address: to, name: session.visitorName }],
        replyTo: { address: replyAddress(deps.threadingSecret, channel.address, ref) },
        subject: subjectWithTag(deps.threadingSecret, tenantId, number, `Your chat with ${organisation}`),
        text: transcriptText(messages, {
          organisation,
          visitor: session.visitorName,
          timezone: zoneOrUtc(options.timezone),
        }),
        messageId: messageIdFor(
          deps.threadingSecret,
          { ...ref, messageId: randomUUID() },
          domainOf(channel.address),
        ),
        // Sent by a machine on request: auto-responders must not answer it (EL-05).
        automatic: 'auto-generated',
        date: new Date(),
      });
    } catch (err) {
      if (err instanceof ComposeError)
        throw new AppError('chat_transcript_unavailable', `The transcript cannot be sent: ${err.message}`);
      throw err;
    }
    await queueMail(tx, deps.rawMail, {
      tenantId,
      channelId: channel.id,
      messageId: null,
      // email_outbox.kind documents 'notification'; QueueInput's type lists only the kinds the
      // email module itself sends so far.
      kind: KIND as QueueInput['kind'],
      recipient: to,
      mail,
    });
  });
  deps.onQueued();
  return { to };
}
