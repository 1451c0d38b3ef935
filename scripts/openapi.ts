/**
 * `npm run openapi`: writes the live OpenAPI document to docs/api/openapi.json with sorted keys,
 * two-space indent and a trailing newline, so diffs stay small and reviewable.
 * tests/openapi.test.ts fails when the committed file and the running app disagree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../server/app.ts';
import { openDatabase } from '../server/db/client.ts';
import { migrate } from '../server/db/migrate.ts';

export const OPENAPI_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'docs',
  'api',
  'openapi.json',
);

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The committed form of a document. */
export function renderOpenApi(document: unknown): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}

if (import.meta.main) {
  // An in-memory database: the document depends on the routes only, never on data.
  const database = await openDatabase({});
  await migrate(database);
  const app = await buildApp({
    database,
    secret: 'openapi-generator-secret-0123456789',
    webRoot: '/nonexistent',
  });
  await app.ready();
  fs.mkdirSync(path.dirname(OPENAPI_FILE), { recursive: true });
  fs.writeFileSync(OPENAPI_FILE, renderOpenApi(app.swagger()));
  await app.close();
  await database.close();
  console.log(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}`);
}
