/**
 * The server process: read config, open the database (PGlite in ./data, or DATABASE_URL),
 * migrate under a lock, create the demo organisation on an empty database, listen.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DatabaseBusyError, openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { DEMO_SIGN_IN, seedDemoIfEmpty } from './db/seed/demo.ts';
import { createSmtpListener, SmtpListenError, type SmtpListener } from './modules/email/email.smtp.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? null : config.dataDir,
  });
  await migrate(database);
  const seeded = config.seedDemo ? await seedDemoIfEmpty(database.db) : false;
  const app = await buildApp({
    database,
    secret: config.secret ?? localSecret(config.dataDir, database.engine),
    secureCookies: config.secureCookies,
    loginLimit: config.loginLimit,
    logger: { level: config.logLevel },
    attachmentsDir: path.join(config.dataDir, 'attachments'),
    mailDir: path.join(config.dataDir, 'mail'),
    smtpOutboundUrl: config.smtpOutboundUrl,
    publicUrl: config.publicUrl,
    webhooks: { perChannelPerMinute: config.webhookLimit },
    imap: config.imapEnabled && {
      pollMs: config.imapPollSeconds * 1000,
      maxMessageBytes: config.smtpMaxBytes,
      // Stable across restarts: a restarted node takes its mailboxes back without waiting for the lease.
      nodeId: config.port ? `${os.hostname()}:${config.port}` : undefined,
    },
  });
  let smtp: SmtpListener | null = null;
  const shutdown = async (signal: string) => {
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await smtp?.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const where = database.engine === 'pglite' ? `embedded PGlite in ${database.dataDir}` : 'PostgreSQL';
  console.log(`\nRapport is running at http://${config.host}:${port} (${where})`);
  if (config.smtpEnabled) {
    // Inbound mail; the processor that turns stored mail into cases wires onStored.
    smtp = createSmtpListener({
      db: database.db,
      rawMail: app.rawMail,
      log: app.log,
      host: config.smtpHost,
      port: config.smtpPort,
      maxBytes: config.smtpMaxBytes,
      onStored: () => app.emailInbound.kick(),
    });
    const listening = await smtp.listen();
    console.log(`Inbound mail (SMTP) at ${config.smtpHost}:${listening.port}`);
  }
  if (seeded || config.seedDemo) {
    console.log(
      `Demo sign-in: organisation "${DEMO_SIGN_IN.tenant}", ${DEMO_SIGN_IN.email} / ${DEMO_SIGN_IN.password}\n`,
    );
  }
}

/** On the embedded engine the cookie secret is generated once and kept beside the data. */
function localSecret(dataDir: string, engine: string): string {
  if (engine !== 'pglite') {
    console.warn(
      'RAPPORT_SECRET is not set: sessions, email reply tokens and stored mailbox passwords will not survive a restart. Set it on PostgreSQL.',
    );
    return crypto.randomBytes(32).toString('hex');
  }
  const file = path.join(dataDir, 'secret');
  if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof DatabaseBusyError || err instanceof SmtpListenError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
