/**
 * A private Dovecot IMAP server for tests: Debian's `dovecot` binary in the foreground with a
 * generated config, on 127.0.0.1 and a free port, everything (config, sockets, Maildirs, log)
 * in one temp directory that stop() removes. Plaintext LOGIN on loopback, no TLS.
 *
 * Start-up takes about 0.1–0.2 s on this machine, measured up to the first successful LOGIN;
 * stop() about 1 s (Dovecot's master waits that long for its children after SIGTERM).
 *
 * No process outlives the test: stop() sends SIGTERM (Dovecot's master takes its children down),
 * and the master is started with a parent-death signal (setpriv --pdeathsig, util-linux), so it
 * also stops when the test process dies, even by SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from './server-process.ts';

export interface DovecotUser {
  user: string;
  pass: string;
}

export interface StoredMessage {
  uid: number;
  /** Sorted, without the per-session \Recent, e.g. ['\\Seen']. */
  flags: string[];
  mailbox: string;
}

export interface Dovecot {
  host: string;
  port: number;
  users: DovecotUser[];
  /** Appends one message; resolves with its UID. `mailbox` defaults to INBOX (created if missing). */
  append(user: string, raw: Buffer | string, flags?: string[], mailbox?: string): Promise<number>;
  /** The messages of one mailbox, or of every mailbox of the user when none is named, by UID. */
  messages(user: string, mailbox?: string): Promise<StoredMessage[]>;
  /** Deletes and expunges one message, as another mail client of the user would. */
  expunge(user: string, uid: number, mailbox?: string): Promise<void>;
  /** The current UIDVALIDITY of a mailbox, as a string. */
  uidValidity(user: string, mailbox: string): Promise<string>;
  /** Deletes the mailbox (and its messages) and creates it again: a new UIDVALIDITY. */
  recreateMailbox(user: string, mailbox: string): Promise<void>;
  /** Dovecot's own log so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  /** How many users (user1, user2, … with random passwords); 1 by default. */
  users?: number;
  timeoutMs?: number;
}

const DOVECOT = '/usr/sbin/dovecot';

// Dovecot refuses to run its login processes, and mail access, as root. Under root the
// Debian package's own unprivileged users take those roles; otherwise the current user does all.
function accounts() {
  const me = os.userInfo();
  if (me.uid !== 0) {
    const group = fs
      .readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(me.gid))
      ?.split(':')[0];
    if (!group) throw new Error(`no name for group ${me.gid}`);
    return {
      internal: me.username,
      group,
      login: me.username,
      mailUid: me.uid,
      mailGid: me.gid,
      root: false,
    };
  }
  const lookup = (name: string) => {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    if (!line) throw new Error(`user ${name} missing: is dovecot-imapd installed?`);
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  };
  const mail = lookup('dovecot');
  lookup('dovenull');
  return {
    internal: 'dovecot',
    group: 'dovecot',
    login: 'dovenull',
    mailUid: mail.uid,
    mailGid: mail.gid,
    root: true,
  };
}

function config(dir: string, port: number) {
  const who = accounts();
  const noChroot = who.root ? '' : '  chroot =\n';
  return {
    who,
    text: `# generated for one test run
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = rapport-test-${path.basename(dir)}
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# No 2 s delay on a wrong password and no growing per-IP penalty: every test shares 127.0.0.1.
auth_failure_delay = 0
default_internal_user = ${who.internal}
default_internal_group = ${who.group}
default_login_user = ${who.login}
first_valid_uid = ${who.mailUid}
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${who.mailUid} gid=${who.mailGid} home=${dir}/mail/%u
}
service imap-login {
${noChroot}  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  user = ${who.root ? 'root' : who.internal}
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`,
  };
}

export async function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  if (!fs.existsSync(DOVECOT)) throw new Error('dovecot is not installed: apt-get install -y dovecot-imapd');
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      // The free port was taken by someone else before Dovecot bound it: try another.
      if (attempt >= 3 || !String(err).includes('Address already in use')) throw err;
    }
  }
}

async function startOnce(options: DovecotOptions): Promise<Dovecot> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-dovecot-'));
  const users: DovecotUser[] = Array.from({ length: options.users ?? 1 }, (_, i) => ({
    user: `user${i + 1}`,
    pass: randomBytes(9).toString('base64url'),
  }));
  // Dovecot's unprivileged processes must reach the passwd file and the Maildirs.
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'users'), users.map((u) => `${u.user}:{PLAIN}${u.pass}::::::\n`).join(''));
  fs.chmodSync(path.join(dir, 'users'), 0o644);
  fs.mkdirSync(path.join(dir, 'mail'));

  const port = await freePort();
  const { who, text } = config(dir, port);
  if (who.root) fs.chownSync(path.join(dir, 'mail'), who.mailUid, who.mailGid);
  const conf = path.join(dir, 'dovecot.conf');
  fs.writeFileSync(conf, text);

  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'SIGTERM', '--', DOVECOT, '-F', '-c', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => {
    output += c;
  });
  child.stderr!.on('data', (c) => {
    output += c;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      output += `${err}\n`;
      resolve();
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const readLog = () => {
    let log = output;
    try {
      log += fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8');
    } catch {
      // not written yet
    }
    return log;
  };

  const clients = new Map<string, ImapFlow>();
  const client = async (user: string) => {
    const known = clients.get(user);
    if (known?.usable) return known;
    const account = users.find((u) => u.user === user);
    if (!account) throw new Error(`no user ${user} in this Dovecot`);
    const c = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      auth: { user: account.user, pass: account.pass },
      logger: false,
      disableAutoIdle: true,
    });
    c.on('error', () => {}); // a dropped helper connection is reopened on next use
    await c.connect();
    clients.set(user, c);
    return c;
  };

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      for (const c of clients.values()) c.close();
      clients.clear();
      if (!gone) child.kill('SIGTERM');
      // Should it hang, SIGKILL: its children notice the master is gone and exit too.
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const server: Dovecot = {
    host: '127.0.0.1',
    port,
    users,
    async append(user, raw, flags = [], mailbox = 'INBOX') {
      const c = await client(user);
      if (mailbox !== 'INBOX') await c.mailboxCreate(mailbox);
      const res = await c.append(mailbox, raw, flags);
      if (!res || res.uid === undefined) throw new Error(`APPEND to ${mailbox} returned no UID`);
      return res.uid;
    },
    async messages(user, mailbox) {
      const c = await client(user);
      const boxes = mailbox ? [mailbox] : (await c.list()).map((b) => b.path);
      const all: StoredMessage[] = [];
      for (const box of boxes) {
        const opened = await c.mailboxOpen(box, { readOnly: true });
        if (opened.exists === 0) continue;
        for (const m of await c.fetchAll('1:*', { uid: true, flags: true })) {
          all.push({
            uid: m.uid,
            flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(),
            mailbox: box,
          });
        }
      }
      await c.mailboxClose().catch(() => {});
      return all.sort((a, b) => a.mailbox.localeCompare(b.mailbox) || a.uid - b.uid);
    },
    async expunge(user, uid, mailbox = 'INBOX') {
      const c = await client(user);
      await c.mailboxOpen(mailbox);
      const deleted = await c.messageDelete([uid], { uid: true });
      await c.mailboxClose();
      if (!deleted) throw new Error(`UID ${uid} not deleted from ${mailbox}`);
    },
    async uidValidity(user, mailbox) {
      const c = await client(user);
      const status = await c.status(mailbox, { uidValidity: true });
      if (!status || status.uidValidity === undefined) throw new Error(`no UIDVALIDITY for ${mailbox}`);
      return String(status.uidValidity);
    },
    async recreateMailbox(user, mailbox) {
      const c = await client(user);
      await c.mailboxClose().catch(() => {});
      await c.mailboxDelete(mailbox).catch(() => {});
      await c.mailboxCreate(mailbox);
    },
    log: readLog,
    stop,
  };

  // Ready means a user can log in, not merely that the port accepts connections.
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    if (gone) {
      await stop();
      throw new Error(`dovecot exited during start-up:\n${readLog()}`);
    }
    try {
      await client(users[0]!.user);
      return server;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stop();
  throw new Error(
    `dovecot did not accept a login within the time limit (${String(lastError)}):\n${readLog()}`,
  );
}
