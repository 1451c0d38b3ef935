/**
 * The inbound SMTP listener (the MX role, smtp-server): accepts mail only for the addresses of
 * active email channels (no open relay), refuses messages over the size limit with 552 without
 * holding more than the limit in memory, and answers 250 only once the raw message is committed
 * to `inbound_emails` (a large message's file made durable in the raw mail store first). While the
 * database fails it answers 451, so the sender retries.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Db } from '../../db/client.ts';
import { type ChannelRow, findEmailChannelByAddress } from '../channels/channels.queries.ts';
import { type RawMailStore, storeInbound } from './email.inbound.ts';

/** The subset of a pino/Fastify logger the listener writes to. */
export interface SmtpLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SmtpListenerOptions {
  db: Db;
  /** Keeps messages over RAW_ROW_MAX_BYTES (the app's `rawMail`). */
  rawMail: RawMailStore;
  log: SmtpLog;
  host: string;
  /** 0 lets the kernel pick a free port (tests). */
  port: number;
  /** Largest message accepted, advertised as SIZE; bigger ones get 552. */
  maxBytes: number;
  /** Called after a message was stored (or recognised as already stored): wakes the processor. */
  onStored?: () => void;
}

export interface SmtpListener {
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
}

/** The port could not be bound; the message says what to change. */
export class SmtpListenError extends Error {
  readonly code = 'smtp_listen_failed';
}

/** An error smtp-server answers with the given reply code. */
function reply(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

const tempfail = () => reply(451, 'Temporary local problem, please try again later');

/** Error details safe to log: the database's message, never message content. */
function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const own = e && typeof e.message === 'string' ? e.message : String(err);
  const cause = e?.cause instanceof Error ? `: ${e.cause.message}` : '';
  return `${own}${cause}`.slice(0, 300);
}

export function createSmtpListener(options: SmtpListenerOptions): SmtpListener {
  const { db, rawMail, log, maxBytes } = options;
  /** The channel each accepted recipient routed to, per transaction (the envelope is renewed by RSET/after DATA). */
  const routes = new WeakMap<object, Map<string, ChannelRow>>();

  const server = new SMTPServer({
    banner: 'Rapport inbound mail',
    // An MX accepts mail from anyone for its own addresses: no AUTH. TLS stays off unless a
    // later configuration adds certificates (never the library's published test key).
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    hideENHANCEDSTATUSCODES: false,
    size: maxBytes,
    rejectOversized: true,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 5000,

    onRcptTo(address, session, callback) {
      findEmailChannelByAddress(db, address.address).then(
        (channel) => {
          if (!channel) return callback(reply(550, `<${address.address}>: no such mailbox here`));
          const routed = routes.get(session.envelope) ?? new Map<string, ChannelRow>();
          routes.set(session.envelope, routed);
          routed.set(address.address.toLowerCase(), channel);
          callback();
        },
        (err) => {
          log.warn({ err: errorText(err) }, 'smtp: recipient lookup failed, answered 451');
          callback(tempfail());
        },
      );
    },

    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      let oversized = false;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (oversized) return;
        if (size > maxBytes) {
          // Keep counting, stop holding: the reply is 552 whatever comes next.
          oversized = true;
          chunks.length = 0;
          return;
        }
        chunks.push(chunk);
      });
      // The client went away mid-message: nothing is stored, the sender retries.
      stream.once('error', () => {
        chunks.length = 0;
      });
      stream.once('end', () => {
        if (oversized || stream.sizeExceeded) {
          log.warn({ size }, 'smtp: message over the size limit refused (552)');
          // smtp-server answers 552 5.3.4 itself (rejectOversized); the error is its fallback.
          return callback(reply(552, 'Message too big'));
        }
        // The one copy of the message: every mailbox's row (or the one file) is written from it.
        const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        chunks.length = 0;
        deliver(raw, session).then(
          () => callback(null, 'OK: stored'),
          (err) => {
            log.warn({ size, err: errorText(err) }, 'smtp: storing failed, answered 451');
            callback(tempfail());
          },
        );
      });
    },
  });

  // Connection errors (a client resetting its socket) must not take the process down.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall !== 'listen') log.warn({ err: errorText(err) }, 'smtp: connection error');
  });

  /** Stores one row per distinct channel among the recipients; resolves once all are committed. */
  async function deliver(raw: Buffer, session: SMTPServerSession): Promise<void> {
    const routed = routes.get(session.envelope) ?? new Map<string, ChannelRow>();
    const byChannel = new Map<string, { channel: ChannelRow; to: string[] }>();
    for (const rcpt of session.envelope.rcptTo) {
      const address = rcpt.address.toLowerCase();
      const channel = routed.get(address);
      if (!channel) continue;
      const key = `${channel.tenantId}/${channel.id}`;
      const entry = byChannel.get(key) ?? { channel, to: [] };
      // Each mailbox sees only its own recipients, never another tenant's addresses.
      if (!entry.to.includes(address)) entry.to.push(address);
      byChannel.set(key, entry);
    }
    if (byChannel.size === 0) throw new Error('no routed recipient');
    const mailFrom = session.envelope.mailFrom;
    const envelopeFrom = mailFrom === false ? null : mailFrom.address.toLowerCase();
    for (const { channel, to } of byChannel.values()) {
      const stored = await storeInbound(db, rawMail, {
        channel,
        source: 'smtp',
        raw,
        envelopeFrom,
        envelopeTo: to,
      });
      log.info(
        {
          tenantId: channel.tenantId,
          channelId: channel.id,
          inboundEmailId: stored.id,
          size: raw.length,
          duplicate: stored.duplicate,
        },
        stored.duplicate ? 'smtp: duplicate acknowledged' : 'smtp: message stored',
      );
    }
    try {
      options.onStored?.();
    } catch (err) {
      log.warn({ err: errorText(err) }, 'smtp: onStored failed');
    }
  }

  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          server.server.off('listening', onListening);
          const where = `${options.host}:${options.port}`;
          reject(
            new SmtpListenError(
              err.code === 'EADDRINUSE'
                ? `The SMTP port ${where} is in use: set RAPPORT_SMTP_PORT to a free port, or RAPPORT_SMTP=false to run without inbound mail.`
                : `The SMTP listener could not listen on ${where}: ${err.message}`,
            ),
          );
        };
        const onListening = () => {
          server.server.off('error', onError);
          const address = server.server.address();
          resolve({ port: typeof address === 'object' && address ? address.port : options.port });
        };
        server.server.once('error', onError);
        server.server.once('listening', onListening);
        server.listen(options.port, options.host);
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.server.listening) return resolve();
        server.close(() => resolve());
      });
    },
  };
}
