/**
 * A real app on a real database for integration tests: PGlite in memory by default,
 * PostgreSQL when TEST_DATABASE_URL is set. Each test file shares one app; each test builds
 * its own tenant with `given`, so tests never see each other's data.
 */
import { after } from 'node:test';
import { type App, type AppOptions, buildApp } from '../../server/app.ts';
import { type Database, openDatabase } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface TestApp {
  app: App;
  database: Database;
}

export async function startTestApp(
  options: { loginLimit?: number; imap?: AppOptions['imap']; chat?: AppOptions['chat'] } = {},
): Promise<TestApp> {
  const database = await openDatabase({ url: process.env.TEST_DATABASE_URL || null, poolSize: 8 });
  await migrate(database);
  const app = await buildApp({
    database,
    secret: TEST_SECRET,
    loginLimit: options.loginLimit ?? 1000,
    webRoot: '/nonexistent',
    // Pollers read every tenant's mailboxes: only the files that test IMAP polling run them.
    imap: options.imap ?? false,
    chat: options.chat,
  });
  await app.ready();
  after(async () => {
    await app.close();
    await database.close();
  });
  return { app, database };
}

export const engine = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
