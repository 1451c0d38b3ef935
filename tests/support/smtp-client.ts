/**
 * A bare SMTP client over a raw socket, for protocol-level tests: every reply is visible, the
 * message bytes go out exactly as given (only dot-stuffed), and a test can stop mid-DATA.
 */
import net from 'node:net';

export interface SmtpReply {
  code: number;
  /** The whole reply, lines joined by \n. */
  text: string;
}

export class SmtpClient {
  private buffer = '';
  private readonly waiting: { resolve: (r: SmtpReply) => void; reject: (e: Error) => void }[] = [];
  private readonly replies: SmtpReply[] = [];
  private closedWith: Error | null = null;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      for (;;) {
        const match = /^(\d{3}) .*\r?\n/m.exec(this.buffer);
        if (!match) break;
        const end = match.index + match[0].length;
        const text = this.buffer.slice(0, end).trimEnd().replace(/\r\n/g, '\n');
        this.buffer = this.buffer.slice(end);
        const reply = { code: Number(match[1]), text };
        const waiter = this.waiting.shift();
        if (waiter) waiter.resolve(reply);
        else this.replies.push(reply);
      }
    });
    const fail = (err: Error) => {
      this.closedWith ??= err;
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.closedWith);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Connects and reads the greeting. */
  static async connect(
    port: number,
    host = '127.0.0.1',
  ): Promise<{ client: SmtpClient; greeting: SmtpReply }> {
    const socket = net.connect(port, host);
    socket.setNoDelay(true); // a real MTA does not wait 40 ms for a delayed ACK between writes
    const client = new SmtpClient(socket);
    const greeting = await client.next();
    return { client, greeting };
  }

  /** The next reply from the server. */
  next(): Promise<SmtpReply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async command(line: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    return this.next();
  }

  /** EHLO, MAIL FROM, RCPT TO each; returns the RCPT replies. Throws when MAIL FROM is refused. */
  async envelope(from: string, to: string[], mailParams = ''): Promise<SmtpReply[]> {
    const ehlo = await this.command('EHLO client.example');
    if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.text}`);
    const mail = await this.command(`MAIL FROM:<${from}>${mailParams ? ` ${mailParams}` : ''}`);
    if (mail.code !== 250) throw Object.assign(new Error(`MAIL FROM: ${mail.text}`), { reply: mail });
    const replies: SmtpReply[] = [];
    for (const rcpt of to) replies.push(await this.command(`RCPT TO:<${rcpt}>`));
    return replies;
  }

  /**
   * DATA with `raw` as the message content: dot-stuffed, and ended with CRLF . CRLF (a CRLF is
   * added first when the content does not end with one, as SMTP requires).
   */
  async data(raw: Buffer): Promise<SmtpReply> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    this.socket.write(Buffer.concat([SmtpClient.stuff(raw), SmtpClient.terminator(raw)]));
    return this.next();
  }

  /** Dot-stuffing: a dot that starts a line (after LF, as the server reads it) is doubled. */
  static stuff(raw: Buffer): Buffer {
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === 0x2e && (i === 0 || raw[i - 1] === 0x0a)) {
        parts.push(raw.subarray(from, i), Buffer.from('.'));
        from = i;
      }
    }
    parts.push(raw.subarray(from));
    return Buffer.concat(parts);
  }

  static terminator(raw: Buffer): Buffer {
    const endsWithCrlf = raw.length >= 2 && raw[raw.length - 2] === 0x0d && raw[raw.length - 1] === 0x0a;
    return Buffer.from(endsWithCrlf ? '.\r\n' : '\r\n.\r\n');
  }

  /** What the server stores for `raw`: the content plus the CRLF the client had to add. */
  static received(raw: Buffer): Buffer {
    const endsWithCrlf = raw.length >= 2 && raw[raw.length - 2] === 0x0d && raw[raw.length - 1] === 0x0a;
    return endsWithCrlf ? raw : Buffer.concat([raw, Buffer.from('\r\n')]);
  }

  async quit(): Promise<void> {
    if (!this.closedWith) {
      this.socket.write('QUIT\r\n');
      this.socket.end();
    }
    this.socket.destroy();
  }
}

/** One message through one connection: envelope, DATA, QUIT. Returns the DATA reply (or the failing one). */
export async function sendMail(
  port: number,
  from: string,
  to: string[],
  raw: Buffer,
): Promise<{ rcpt: SmtpReply[]; data: SmtpReply | null }> {
  const { client } = await SmtpClient.connect(port);
  try {
    const rcpt = await client.envelope(from, to);
    if (!rcpt.some((r) => r.code === 250)) return { rcpt, data: null };
    return { rcpt, data: await client.data(raw) };
  } finally {
    await client.quit();
  }
}
