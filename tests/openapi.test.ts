/**
 * The committed OpenAPI document (docs/api/openapi.json) is the live one: a route or schema change
 * without `npm run openapi` fails here. The served document and the routes it lists agree too.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { OPENAPI_FILE, renderOpenApi } from '../scripts/openapi.ts';
import { startTestApp } from './support/test-app.ts';

const { app } = await startTestApp();
const STALE =
  'docs/api/openapi.json is out of date with the routes: run `npm run openapi` and commit the result';

interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
}

test('the committed OpenAPI document matches the live one', () => {
  assert.ok(fs.existsSync(OPENAPI_FILE), `${STALE} (the file is missing)`);
  const committed = fs.readFileSync(OPENAPI_FILE, 'utf8');
  const live = renderOpenApi(app.swagger());
  if (committed !== live) {
    const a = committed.split('\n');
    const b = live.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `${STALE}\nfirst difference at line ${line + 1}:\n  committed: ${a[line]}\n  live:      ${b[line]}`,
    );
  }
});

test('GET /api/v1/openapi.json serves the committed document, without sign-in', async () => {
  const res = await app.inject({ url: '/api/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /application\/json/);
  assert.deepEqual(res.json(), JSON.parse(fs.readFileSync(OPENAPI_FILE, 'utf8')), STALE);
});

test('every API route is documented with a summary and tag; public ones need no token', () => {
  const document = app.swagger() as { paths: Record<string, Record<string, Operation>> };
  const hidden = new Set(['/api/v1/openapi.json', '/api/v1/realtime']);
  for (const route of app.routeTable) {
    if (!route.url.startsWith('/api/v1/') || hidden.has(route.url)) continue;
    const openapiPath = route.url.replace(/:(\w+)/g, '{$1}');
    const operation = document.paths[openapiPath]?.[route.method.toLowerCase()];
    assert.ok(operation, `${route.method} ${route.url} is missing from the document`);
    assert.ok(operation.summary, `${route.method} ${route.url} has a summary`);
    assert.ok(operation.tags?.length, `${route.method} ${route.url} has a tag`);
    if (route.permission === 'public') {
      assert.deepEqual(
        operation.security,
        [],
        `${route.method} ${route.url} is public: declare security: []`,
      );
    } else {
      assert.equal(
        operation.security,
        undefined,
        `${route.method} ${route.url} uses the default bearer scheme`,
      );
    }
  }
});
