/**
 * /widget.js: web/widget/widget.ts bundled by esbuild into one minified, self-running script,
 * built once per process on first request and kept in memory with its gzip and ETag. The size
 * budget (WIDGET_BUDGET_GZIP) is checked by bench/widget-size.bench.ts and the chat tests.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The most the widget may weigh over the wire, gzipped (issue 4). */
export const WIDGET_BUDGET_GZIP = 20 * 1024;

export interface WidgetBundle {
  js: Buffer;
  gzip: Buffer;
  etag: string;
}

const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/widget/widget.ts');

/** Builds the widget now (esbuild is a build-time tool, loaded only when the widget is asked for). */
export async function buildWidget(): Promise<WidgetBundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
  });
  const js = Buffer.from(result.outputFiles[0]!.contents);
  return {
    js,
    gzip: gzipSync(js, { level: 9 }),
    etag: `"${createHash('sha256').update(js).digest('base64url').slice(0, 27)}"`,
  };
}

let built: Promise<WidgetBundle> | null = null;

/** The widget as served, built on first use; a failed build is retried on the next request. */
export function widgetBundle(): Promise<WidgetBundle> {
  built ??= buildWidget().catch((err) => {
    built = null;
    throw err;
  });
  return built;
}
