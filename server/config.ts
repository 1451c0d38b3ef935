/**
 * The one place that reads the environment. Every field is documented here and in the README;
 * all problems are reported together at start, and the defaults make `npm start` work as is.
 */
import path from 'node:path';

export interface Config {
  /** HOST: interface to listen on (default 127.0.0.1). */
  host: string;
  /** PORT: HTTP port (default 3000). */
  port: number;
  /** DATABASE_URL: postgres://… to run on a PostgreSQL server; unset = embedded PGlite. */
  databaseUrl: string | null;
  /** RAPPORT_DATA_DIR: where the embedded engine keeps its files (default ./data). */
  dataDir: string;
  /** RAPPORT_SECRET: signs cookies; generated and kept in the data directory when unset. */
  secret: string | null;
  /** RAPPORT_SEED_DEMO: create the demo organisation on an empty database (default true). */
  seedDemo: boolean;
  /** RAPPORT_SECURE_COOKIES: mark cookies Secure (set when served over HTTPS; default false). */
  secureCookies: boolean;
  /** LOG_LEVEL: fatal | error | warn | info | debug (default info). */
  logLevel: string;
  /** RAPPORT_LOGIN_LIMIT: sign-in attempts per IP per 5 minutes (default 10). */
  loginLimit: number;
  /** RAPPORT_SMTP: run the inbound SMTP listener (default true). */
  smtpEnabled: boolean;
  /** RAPPORT_SMTP_HOST: interface the SMTP listener binds (default 127.0.0.1). */
  smtpHost: string;
  /** RAPPORT_SMTP_PORT: inbound SMTP port (default 2525). */
  smtpPort: number;
  /** RAPPORT_SMTP_MAX_BYTES: largest inbound message accepted; larger ones get 552 (default 30 MiB). */
  smtpMaxBytes: number;
  /** RAPPORT_SMTP_OUTBOUND_URL: smtp://user:pass@host:port (or smtps://) for outgoing mail; unset = kept queued. */
  smtpOutboundUrl: string | null;
  /** RAPPORT_IMAP: poll the IMAP mailboxes of email channels (default true). */
  imapEnabled: boolean;
  /** RAPPORT_IMAP_POLL_SECONDS: pause between polls of a channel's IMAP mailbox (default 60). */
  imapPollSeconds: number;
  /**
   * RAPPORT_PUBLIC_URL: the server's URL as messaging platforms reach it (https://help.example.com);
   * channel webhook URLs and Twilio's signatures are built on it. Unset: each channel needs
   * settings.publicUrl for signed webhooks.
   */
  publicUrl: string | null;
  /** RAPPORT_WEBHOOK_LIMIT: platform webhook deliveries accepted per channel per minute (default 3000). */
  webhookLimit: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes'].includes(raw)) return true;
    if (['0', 'false', 'no'].includes(raw)) return false;
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  const databaseUrl = env.DATABASE_URL || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, got "${logLevel}"`);
  }
  const smtpOutboundUrl = env.RAPPORT_SMTP_OUTBOUND_URL || null;
  if (smtpOutboundUrl && !/^smtps?:\/\//.test(smtpOutboundUrl)) {
    problems.push('RAPPORT_SMTP_OUTBOUND_URL must start with smtp:// or smtps://');
  }
  const publicUrl = env.RAPPORT_PUBLIC_URL ? env.RAPPORT_PUBLIC_URL.replace(/\/+$/, '') : null;
  if (publicUrl && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(publicUrl)) {
    problems.push('RAPPORT_PUBLIC_URL must be an http(s) URL without query, e.g. https://help.example.com');
  }
  const secret = env.RAPPORT_SECRET || null;
  if (secret !== null && secret.length < 32) problems.push('RAPPORT_SECRET must be at least 32 characters');
  const config: Config = {
    host: env.HOST || '127.0.0.1',
    port: int('PORT', 3000, 0, 65535),
    databaseUrl,
    dataDir: path.resolve(env.RAPPORT_DATA_DIR || 'data'),
    secret,
    seedDemo: bool('RAPPORT_SEED_DEMO', true),
    secureCookies: bool('RAPPORT_SECURE_COOKIES', false),
    logLevel,
    loginLimit: int('RAPPORT_LOGIN_LIMIT', 10, 1, 100000),
    smtpEnabled: bool('RAPPORT_SMTP', true),
    smtpHost: env.RAPPORT_SMTP_HOST || '127.0.0.1',
    smtpPort: int('RAPPORT_SMTP_PORT', 2525, 0, 65535),
    smtpMaxBytes: int('RAPPORT_SMTP_MAX_BYTES', 30 * 1024 * 1024, 1024, 200 * 1024 * 1024),
    smtpOutboundUrl,
    imapEnabled: bool('RAPPORT_IMAP', true),
    imapPollSeconds: int('RAPPORT_IMAP_POLL_SECONDS', 60, 1, 86_400),
    publicUrl,
    webhookLimit: int('RAPPORT_WEBHOOK_LIMIT', 3000, 1, 10_000_000),
  };
  if (problems.length > 0) throw new ConfigError(`Configuration problems:\n  - ${problems.join('\n  - ')}`);
  return config;
}
