/**
 * IMAP polling against a real Dovecot on loopback (tests/support/dovecot.ts): paged first sync in
 * UID order, \Seen or move only after delivery, checkpoints across rounds and UIDVALIDITY
 * changes, oversized mail left on the server, back-off on errors, and kill -9 at random points
 * of a sync losing nothing and marking nothing early (SECURITY.md CR-01).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Dovecot, type DovecotUser, startDovecot } from '../../../tests/support/dovecot.ts';
import { eventually } from '../../../tests/support/eventually.ts';
import { freePort, repoRoot } from '../../../tests/support/server-process.ts';
import {
  createImapPoller,
  ImapDeliverError,
  type ImapDelivery,
  type ImapLog,
  type ImapMailboxConfig,
  type ImapRound,
  mailboxKey,
  memoryCheckpoints,
  pollMailbox,
} from './email.imap.ts';

let dovecot: Dovecot;
let nextUser = 0;
before(async () => {
  dovecot = await startDovecot({ users: 16 });
});
after(() => dovecot?.stop());

/** A user (and so a set of mailboxes) no other test touches. */
function account(): DovecotUser {
  const user = dovecot.users[nextUser++];
  if (!user) throw new Error('not enough Dovecot users: raise the count in before()');
  return user;
}

function configFor(account: DovecotUser, extra: Partial<ImapMailboxConfig> = {}): ImapMailboxConfig {
  return {
    host: dovecot.host,
    port: dovecot.port,
    secure: false,
    plaintext: true, // the test Dovecot has no TLS
    user: account.user,
    password: account.pass,
    ...extra,
  };
}

function mail(n: number, body = `The invoice for order ${n} is wrong.`) {
  return Buffer.from(
    [
      `From: Customer ${n} <customer${n}@example.com>`,
      'To: support@example.net',
      `Subject: Question ${n}`,
      `Message-ID: <question-${n}@example.com>`,
      'Date: Mon, 23 Nov 2026 10:00:00 +0000',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

async function fill(user: string, from: number, to: number, mailbox = 'INBOX') {
  for (let n = from; n <= to; n++) await dovecot.append(user, mail(n), [], mailbox);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function seenUids(user: string, mailbox = 'INBOX') {
  return (await dovecot.messages(user, mailbox)).filter((m) => m.flags.includes('\\Seen')).map((m) => m.uid);
}

const waitFor: typeof eventually = (what, check, timeoutMs = 10_000) => eventually(what, check, timeoutMs);

function captureLog() {
  const lines: string[] = [];
  const log: ImapLog = {
    info: (obj, msg) => lines.push(`info ${msg} ${JSON.stringify(obj)}`),
    warn: (obj, msg) => lines.push(`warn ${msg} ${JSON.stringify(obj)}`),
  };
  return { log, lines };
}

describe('pollMailbox', () => {
  test('a first sync of 120 messages in pages of 50 delivers each once in UID order, marking a page \\Seen only after it was delivered', async () => {
    const a = account();
    await fill(a.user, 1, 120);
    const config = configFor(a);
    const checkpoints = memoryCheckpoints();
    const delivered: ImapDelivery[] = [];
    const seenWhenDelivering = new Map<number, { seen: number[]; checkpoint: number | undefined }>();
    const result = await pollMailbox(
      config,
      checkpoints,
      async (message) => {
        if ([1, 50, 51, 100, 101, 120].includes(message.uid)) {
          seenWhenDelivering.set(message.uid, {
            seen: await seenUids(a.user),
            checkpoint: (await checkpoints.load(mailboxKey(config)))?.lastUid,
          });
        }
        delivered.push(message);
      },
      { pageSize: 50 },
    );

    assert.deepEqual(
      delivered.map((m) => m.uid),
      range(1, 120),
    );
    for (const m of delivered) {
      assert.deepEqual(m.raw, mail(m.uid), `UID ${m.uid} arrives byte for byte`);
      assert.equal(m.size, mail(m.uid).length);
      assert.equal(m.mailboxKey, `imap://${a.user}@127.0.0.1:${dovecot.port}/INBOX`);
    }
    // While a page is being delivered, only the pages before it are marked and checkpointed.
    assert.deepEqual(Object.fromEntries(seenWhenDelivering), {
      1: { seen: [], checkpoint: 0 },
      50: { seen: [], checkpoint: 0 },
      51: { seen: range(1, 50), checkpoint: 50 },
      100: { seen: range(1, 50), checkpoint: 50 },
      101: { seen: range(1, 100), checkpoint: 100 },
      120: { seen: range(1, 100), checkpoint: 100 },
    });
    assert.deepEqual(await seenUids(a.user), range(1, 120));
    const uidValidity = await dovecot.uidValidity(a.user, 'INBOX');
    assert.deepEqual(await checkpoints.load(mailboxKey(config)), { uidValidity, lastUid: 120 });
    assert.deepEqual(result, {
      mailboxKey: mailboxKey(config),
      uidValidity,
      lastUid: 120,
      delivered: 120,
      fromStart: true,
      aborted: false,
    });
  });

  test('a second round delivers nothing, and mail that arrives later is picked up on the next', async () => {
    const a = account();
    await fill(a.user, 1, 3);
    const config = configFor(a);
    const checkpoints = memoryCheckpoints();
    const delivered: number[] = [];
    const deliver = async (m: ImapDelivery) => {
      delivered.push(m.uid);
    };

    assert.equal((await pollMailbox(config, checkpoints, deliver)).delivered, 3);
    const second = await pollMailbox(config, checkpoints, deliver);
    assert.equal(second.delivered, 0);
    assert.equal(second.fromStart, false);
    await fill(a.user, 4, 5);
    const third = await pollMailbox(config, checkpoints, deliver);
    assert.equal(third.delivered, 2);
    assert.deepEqual(delivered, [1, 2, 3, 4, 5]);
    assert.deepEqual(await seenUids(a.user), [1, 2, 3, 4, 5]);
  });

  test('mail the customer already read is delivered too, and its flags are kept', async () => {
    const a = account();
    await dovecot.append(a.user, mail(1), ['\\Seen', '\\Flagged']);
    await dovecot.append(a.user, mail(2));
    const delivered: number[] = [];
    await pollMailbox(configFor(a), memoryCheckpoints(), async (m) => {
      delivered.push(m.uid);
    });
    assert.deepEqual(delivered, [1, 2]);
    assert.deepEqual(
      (await dovecot.messages(a.user, 'INBOX')).map((m) => m.flags),
      [['\\Flagged', '\\Seen'], ['\\Seen']],
    );
  });

  test('when delivering message 6 fails, 6 stays unseen, the checkpoint stays at 5, and the next round delivers 6 onwards', async () => {
    const a = account();
    await fill(a.user, 1, 10);
    const config = configFor(a);
    const checkpoints = memoryCheckpoints();
    const delivered: number[] = [];
    let failOn: number | null = 6;
    const deliver = async (m: ImapDelivery) => {
      if (m.uid === failOn) throw new Error('database unavailable');
      delivered.push(m.uid);
    };

    // Pages of 3: the failure is mid-page, after 4 and 5 of the same page were delivered.
    await assert.rejects(pollMailbox(config, checkpoints, deliver, { pageSize: 3 }), (err: unknown) => {
      assert.ok(err instanceof ImapDeliverError);
      assert.equal(err.uid, 6);
      assert.match(err.message, /UID 6 failed: database unavailable/);
      return true;
    });
    assert.deepEqual(delivered, [1, 2, 3, 4, 5]);
    assert.deepEqual(await seenUids(a.user), [1, 2, 3, 4, 5]);
    assert.equal((await checkpoints.load(mailboxKey(config)))?.lastUid, 5);

    failOn = null;
    const next = await pollMailbox(config, checkpoints, deliver, { pageSize: 3 });
    assert.equal(next.delivered, 5);
    assert.deepEqual(delivered, range(1, 10));
    assert.deepEqual(await seenUids(a.user), range(1, 10));
    assert.equal((await checkpoints.load(mailboxKey(config)))?.lastUid, 10);
  });

  test('a recreated mailbox (new UIDVALIDITY) is read again from UID 1, even below the old checkpoint', async () => {
    const a = account();
    await fill(a.user, 1, 3, 'Support');
    const config = configFor(a, { mailbox: 'Support' });
    const checkpoints = memoryCheckpoints();
    const delivered: { uid: number; uidValidity: string }[] = [];
    const deliver = async (m: ImapDelivery) => {
      delivered.push({ uid: m.uid, uidValidity: m.uidValidity });
    };
    const { log, lines } = captureLog();

    await pollMailbox(config, checkpoints, deliver, { log });
    const before = await dovecot.uidValidity(a.user, 'Support');
    await dovecot.recreateMailbox(a.user, 'Support');
    await fill(a.user, 11, 12, 'Support');
    const after = await dovecot.uidValidity(a.user, 'Support');
    assert.notEqual(after, before);

    const result = await pollMailbox(config, checkpoints, deliver, { log });
    assert.equal(result.fromStart, true);
    assert.deepEqual(delivered, [
      { uid: 1, uidValidity: before },
      { uid: 2, uidValidity: before },
      { uid: 3, uidValidity: before },
      { uid: 1, uidValidity: after },
      { uid: 2, uidValidity: after },
    ]);
    assert.deepEqual(await checkpoints.load(mailboxKey(config)), { uidValidity: after, lastUid: 2 });
    assert.ok(
      lines.some((l) => l.includes('uidvalidity changed')),
      lines.join('\n'),
    );
  });

  test('with moveTo, a message is moved only after it was delivered, and one that failed stays put', async () => {
    const a = account();
    await fill(a.user, 1, 4);
    const config = configFor(a, { moveTo: 'Processed' });
    const checkpoints = memoryCheckpoints();
    const inboxWhenDelivering: number[][] = [];
    let failOn: number | null = 4;
    const deliver = async (m: ImapDelivery) => {
      inboxWhenDelivering.push((await dovecot.messages(a.user, 'INBOX')).map((x) => x.uid));
      if (m.uid === failOn) throw new Error('disk full');
    };

    await assert.rejects(pollMailbox(config, checkpoints, deliver, { pageSize: 2 }), ImapDeliverError);
    // Page [1, 2] delivered while both were still in INBOX; then 3 and 4 with 1 and 2 moved.
    assert.deepEqual(inboxWhenDelivering, [
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [3, 4],
      [3, 4],
    ]);
    assert.deepEqual(
      (await dovecot.messages(a.user)).map((m) => `${m.mailbox}:${m.uid}`),
      ['INBOX:4', 'Processed:1', 'Processed:2', 'Processed:3'],
    );
    // Moved mail is left as it was: unread for whoever looks at the folder.
    assert.deepEqual(await seenUids(a.user, 'Processed'), []);

    failOn = null;
    await pollMailbox(config, checkpoints, deliver, { pageSize: 2 });
    assert.deepEqual(
      (await dovecot.messages(a.user)).map((m) => `${m.mailbox}:${m.uid}`),
      ['Processed:1', 'Processed:2', 'Processed:3', 'Processed:4'],
    );
  });

  test('a message over the size limit is delivered as an oversized marker without being downloaded', async () => {
    const a = account();
    const big = mail(2, `${'x'.repeat(998)}\r\n`.repeat(2000)); // 2 MB
    await dovecot.append(a.user, mail(1));
    await dovecot.append(a.user, big);
    await dovecot.append(a.user, mail(3));
    const delivered: ImapDelivery[] = [];
    await pollMailbox(
      configFor(a),
      memoryCheckpoints(),
      async (m) => {
        delivered.push(m);
      },
      { maxMessageBytes: 100_000 },
    );

    assert.deepEqual(
      delivered.map((m) => ({ uid: m.uid, size: m.size, reason: m.reason, raw: m.raw?.length ?? null })),
      [
        { uid: 1, size: mail(1).length, reason: undefined, raw: mail(1).length },
        { uid: 2, size: big.length, reason: 'oversized', raw: null },
        { uid: 3, size: mail(3).length, reason: undefined, raw: mail(3).length },
      ],
    );
    assert.deepEqual(await seenUids(a.user), [1, 2, 3]);
    // Dovecot's own count of bytes it sent in the poller's session.
    const sent = () =>
      dovecot
        .log()
        .split('\n')
        .filter((l) => l.includes(`imap(${a.user})`) && l.includes('Logged out'))
        .map((l) => Number(/ out=(\d+)/.exec(l)?.[1]));
    await waitFor('the session summary in the Dovecot log', () => sent().length > 0);
    assert.ok(sent()[0]! < 50_000, `the session sent ${sent()[0]} bytes`);
  });

  test('pages are cut by bytes too, so a page of big messages is not held in memory at once', async () => {
    const a = account();
    const body = `${'y'.repeat(998)}\r\n`.repeat(10); // about 10 kB each
    for (let n = 1; n <= 6; n++) await dovecot.append(a.user, mail(n, body));
    const config = configFor(a);
    const checkpoints = memoryCheckpoints();
    const checkpointWhenDelivering: (number | undefined)[] = [];
    await pollMailbox(
      config,
      checkpoints,
      async () => {
        checkpointWhenDelivering.push((await checkpoints.load(mailboxKey(config)))?.lastUid);
      },
      { pageSize: 50, maxPageBytes: 25_000 },
    );
    // Two messages per page: the checkpoint moves every second message.
    assert.deepEqual(checkpointWhenDelivering, [0, 0, 2, 2, 4, 4]);
  });

  test('a message another client deletes mid-round ends the round before it; the next round carries on after it', async () => {
    const a = account();
    await fill(a.user, 1, 5);
    const config = configFor(a);
    const checkpoints = memoryCheckpoints();
    const delivered: number[] = [];
    const deliver = async (m: ImapDelivery) => {
      // Sizes of 1–5 are known by now; sources are fetched one page (one message) at a time.
      if (m.uid === 1) await dovecot.expunge(a.user, 3);
      delivered.push(m.uid);
    };
    const options = { pageSize: 5, maxPageBytes: 1 };

    await assert.rejects(
      pollMailbox(config, checkpoints, deliver, options),
      /UID 3 came back without content/,
    );
    assert.deepEqual(delivered, [1, 2]);
    assert.equal((await checkpoints.load(mailboxKey(config)))?.lastUid, 2);
    await pollMailbox(config, checkpoints, deliver, options);
    assert.deepEqual(delivered, [1, 2, 4, 5]);
    assert.deepEqual(await seenUids(a.user), [1, 2, 4, 5]);
  });

  test('a server that offers no TLS is refused before the password is sent, unless plaintext is allowed', async () => {
    const a = account();
    await assert.rejects(
      pollMailbox(configFor(a, { plaintext: false }), memoryCheckpoints(), async () => {}),
      /STARTTLS/i,
    );
    // Dovecot saw a connection without a login attempt.
    await waitFor('the refused session in the Dovecot log', () => /no auth attempts/.test(dovecot.log()));
    assert.ok(!dovecot.log().includes(`user=<${a.user}>`), 'no login attempt as the user');
  });

  test('a wrong port or a wrong password is an error naming the mailbox, never the password', async () => {
    const a = account();
    const closed = await freePort();
    await assert.rejects(
      pollMailbox(configFor(a, { port: closed }), memoryCheckpoints(), async () => {}),
      new RegExp(`imap://${a.user}@127.0.0.1:${closed}/INBOX: .*ECONNREFUSED`),
    );
    const wrong = 'hunter2-not-the-password';
    await assert.rejects(
      pollMailbox(configFor(a, { password: wrong }), memoryCheckpoints(), async () => {}),
      (err: Error) => {
        assert.match(err.message, /AUTHENTICATIONFAILED/);
        assert.ok(!err.message.includes(wrong));
        return true;
      },
    );
  });
});

describe('createImapPoller', () => {
  test('a mailbox that cannot be reached is retried with doubling pauses while a healthy one keeps its interval', async () => {
    const good = account();
    await fill(good.user, 1, 2);
    const closed = await freePort();
    const rounds: (ImapRound & { at: number })[] = [];
    const delivered: number[] = [];
    const { log, lines } = captureLog();
    const poller = createImapPoller({
      mailboxes: [
        configFor(good, { key: 'good' }),
        {
          host: '127.0.0.1',
          port: closed,
          secure: false,
          plaintext: true,
          user: 'nobody',
          password: 'pw-unreachable',
          key: 'down',
        },
      ],
      checkpoints: memoryCheckpoints(),
      deliver: async (m) => {
        delivered.push(m.uid);
      },
      intervalMs: 100,
      backoff: { initialMs: 50, maxMs: 200 },
      log,
      onRound: (round) => rounds.push({ ...round, at: performance.now() }),
    });
    try {
      // A healthy round logs in to Dovecot, which on a loaded machine takes longer than the down
      // mailbox's five pauses: wait for both.
      await waitFor(
        'five failed and three healthy rounds',
        () =>
          rounds.filter((r) => r.mailboxKey === 'down').length >= 5 &&
          rounds.filter((r) => r.mailboxKey === 'good').length >= 3,
      );
    } finally {
      await poller.stop();
    }

    const down = rounds.filter((r) => r.mailboxKey === 'down');
    assert.deepEqual(
      down.slice(0, 5).map((r) => r.nextInMs),
      [50, 100, 200, 200, 200],
    );
    for (let i = 1; i < down.length; i++) {
      // The next attempt waited at least the announced pause (timers may fire a little early).
      assert.ok(down[i]!.at - down[i - 1]!.at >= down[i - 1]!.nextInMs - 5, `gap before attempt ${i + 1}`);
    }
    for (const r of down) assert.match(r.error?.message ?? '', /ECONNREFUSED/);
    assert.equal(lines.filter((l) => l.startsWith('warn imap poll failed')).length, down.length);
    assert.ok(!lines.join('\n').includes('pw-unreachable'), 'no password in the log');

    const healthy = rounds.filter((r) => r.mailboxKey === 'good');
    assert.ok(healthy.length >= 3, `${healthy.length} healthy rounds`);
    assert.ok(healthy.every((r) => r.error === null && r.nextInMs === 100));
    assert.deepEqual(delivered, [1, 2]);

    const status = Object.fromEntries(poller.status().map((s) => [s.mailboxKey, s]));
    assert.equal(status.down?.failures, down.length);
    assert.match(status.down?.lastError ?? '', /ECONNREFUSED/);
    assert.equal(status.good?.failures, 0);
    assert.equal(status.good?.nextRoundAt, null, 'nothing scheduled after stop()');

    const count = rounds.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rounds.length, count, 'no rounds after stop()');
  });

  test('a wrong password is reported and retried later, with the password in no log line', async () => {
    const a = account();
    const wrong = 'correct-horse-battery-wrong';
    const rounds: ImapRound[] = [];
    const { log, lines } = captureLog();
    const poller = createImapPoller({
      mailboxes: [configFor(a, { password: wrong })],
      checkpoints: memoryCheckpoints(),
      deliver: async () => {},
      backoff: { initialMs: 50, maxMs: 1000 },
      log,
      onRound: (round) => rounds.push(round),
    });
    try {
      await waitFor('two failed rounds', () => rounds.length >= 2);
    } finally {
      await poller.stop();
    }
    assert.deepEqual(
      rounds.slice(0, 2).map((r) => r.nextInMs),
      [50, 100],
    );
    for (const r of rounds) assert.match(r.error?.message ?? '', /Authentication failed/);
    assert.ok(lines.length >= 2);
    assert.ok(!lines.join('\n').includes(wrong));
    assert.ok(!lines.join('\n').includes(a.pass));
  });

  test('while delivery keeps failing the mail stays unread and the pauses grow; the first success resets them', async () => {
    const a = account();
    await fill(a.user, 1, 1);
    const rounds: ImapRound[] = [];
    const unreadAfterFailure: number[][] = [];
    let failures = 2;
    const poller = createImapPoller({
      mailboxes: [configFor(a)],
      checkpoints: memoryCheckpoints(),
      deliver: async () => {
        if (failures > 0) {
          failures--;
          throw new Error('database unavailable');
        }
      },
      intervalMs: 60_000,
      backoff: { initialMs: 50, maxMs: 1000 },
      log: captureLog().log,
      onRound: (round) => {
        rounds.push(round);
      },
    });
    try {
      await waitFor('a successful round', () => rounds.some((r) => r.error === null));
      unreadAfterFailure.push(await seenUids(a.user));
      assert.deepEqual(poller.status()[0]?.failures, 0);
    } finally {
      await poller.stop();
    }
    assert.deepEqual(
      rounds.map((r) => [r.error ? 'failed' : 'ok', r.nextInMs]),
      [
        ['failed', 50],
        ['failed', 100],
        ['ok', 60_000],
      ],
    );
    assert.ok(rounds[0]?.error instanceof ImapDeliverError);
    assert.deepEqual(unreadAfterFailure, [[1]]);
  });

  test('stop() lets the message being delivered finish, marks what was delivered, and nothing more', async () => {
    const a = account();
    await fill(a.user, 1, 30);
    const checkpoints = memoryCheckpoints();
    const config = configFor(a);
    const delivered: number[] = [];
    const poller = createImapPoller({
      mailboxes: [config],
      checkpoints,
      deliver: async (m) => {
        await new Promise((r) => setTimeout(r, 10));
        delivered.push(m.uid);
      },
      log: captureLog().log,
      poll: { pageSize: 10 },
    });
    await waitFor('some deliveries', () => delivered.length >= 13);
    const stopped = poller.stop();
    const atStop = delivered.length;
    await stopped;

    assert.ok(delivered.length <= atStop + 1, 'at most the message in hand is finished');
    assert.ok(delivered.length < 30);
    assert.deepEqual(delivered, range(1, delivered.length));
    assert.deepEqual(await seenUids(a.user), delivered);
    assert.equal((await checkpoints.load(mailboxKey(config)))?.lastUid, delivered.length);
  });
});

describe('crash safety (CR-01)', () => {
  const worker = path.join(repoRoot, 'tests', 'support', 'imap-crash-worker.ts');

  test('kill -9 of the poller at random points over 20 restarts: every message stored exactly once, none marked before it was stored', async (t) => {
    const a = account();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-imap-crash-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const deliveries = path.join(dir, 'deliveries.log');
    const config = configFor(a);
    const env = {
      ...process.env,
      IMAP_WORKER: JSON.stringify({
        mailbox: config,
        deliveries,
        checkpoints: path.join(dir, 'checkpoints.json'),
        pageSize: 20,
      }),
    };
    const key = mailboxKey(config);
    let appended = 0;
    const expected = new Map<number, string>();
    const add = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const raw = mail(++appended);
        const uid = await dovecot.append(a.user, raw);
        expected.set(uid, createHash('sha256').update(raw).digest('hex'));
      }
    };
    const stored = () => {
      const lines = fs.existsSync(deliveries) ? fs.readFileSync(deliveries, 'utf8').split('\n') : [];
      lines.pop(); // an unterminated last line was not fsynced as a whole
      return lines.map((l) => l.split(' '));
    };

    /** Runs the worker; kills it after `killAt` deliver calls (0: right after it connects), or lets it finish. */
    const run = (killAt: number | null) =>
      new Promise<{ killed: boolean; output: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [worker], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        let calls = 0;
        let killed = false;
        const kill = () => {
          if (!killed) {
            killed = true;
            // A few milliseconds later, so the kill also lands between deliver and its marks.
            setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 4));
          }
        };
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk;
          for (const line of chunk.toString().split('\n')) {
            if (line === 'polling' && killAt === 0) kill();
            if (line.startsWith('deliver ') && ++calls === killAt) kill();
          }
        });
        child.stderr.on('data', (chunk) => {
          output += chunk;
        });
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          if (signal === 'SIGKILL') resolve({ killed: true, output });
          else if (code === 0) resolve({ killed: false, output });
          else reject(new Error(`worker exited with ${code}:\n${output}`));
        });
      });

    await add(150);
    let killedMidSync = 0;
    for (let iteration = 1; iteration <= 20; iteration++) {
      await add(10);
      const pending = appended - stored().length;
      const killAt = Math.floor(Math.random() * (pending + 1));
      const { killed, output } = await run(killAt);
      if (killed && !output.includes('done')) killedMidSync++;

      // Nothing is marked \Seen that is not stored, and nothing is stored twice.
      const keys = stored().map((f) => f.slice(0, 3).join(' '));
      assert.equal(new Set(keys).size, keys.length, `iteration ${iteration}: a message stored twice`);
      const uidValidity = await dovecot.uidValidity(a.user, 'INBOX');
      for (const uid of await seenUids(a.user)) {
        assert.ok(
          keys.includes(`${key} ${uidValidity} ${uid}`),
          `iteration ${iteration}: UID ${uid} seen before stored`,
        );
      }
    }

    const last = await run(null);
    assert.match(last.output, /done/);
    const lines = stored();
    assert.equal(lines.length, appended, 'each message stored exactly once');
    for (const [k, v, uid, sha] of lines) {
      assert.equal(k, key);
      assert.equal(v, await dovecot.uidValidity(a.user, 'INBOX'));
      assert.equal(sha, expected.get(Number(uid)), `UID ${uid} stored intact`);
    }
    assert.deepEqual(await seenUids(a.user), range(1, appended));
    const again = fs.existsSync(`${deliveries}.again`)
      ? fs.readFileSync(`${deliveries}.again`, 'utf8').split('\n').length - 1
      : 0;
    console.log(
      `CR-01: ${appended} messages, ${killedMidSync} of 20 kills mid-sync, ${again} redeliveries acknowledged as duplicates`,
    );
    assert.ok(killedMidSync >= 10, `only ${killedMidSync} kills landed during a sync`);
  });
});
