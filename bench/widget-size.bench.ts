/**
 * The chat widget's weight: /widget.js as the server builds and serves it, gzipped, against its
 * 20 KB budget (issue 4). Fails loudly when over.
 *
 *   npm run bench -- widget-size
 */
import { buildWidget, WIDGET_BUDGET_GZIP } from '../server/modules/chat/chat.bundle.ts';

const bundle = await buildWidget();
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const share = ((bundle.gzip.length / WIDGET_BUDGET_GZIP) * 100).toFixed(0);
console.log(
  `widget.js: ${kb(bundle.js.length)} minified, ${kb(bundle.gzip.length)} gzip (${bundle.gzip.length} bytes) — ${share}% of the ${kb(WIDGET_BUDGET_GZIP)} budget`,
);
if (bundle.gzip.length > WIDGET_BUDGET_GZIP) {
  console.error(
    `\n*** OVER BUDGET: widget.js is ${bundle.gzip.length} bytes gzip, the budget is ${WIDGET_BUDGET_GZIP} ***\n`,
  );
  process.exit(1);
}
