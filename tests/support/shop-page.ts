/** A shop's own website, on another origin than Rapport, embedding the chat widget with its one script tag. */
import http from 'node:http';
import type { Page } from 'playwright-core';
import { freePort } from './server-process.ts';

export interface ShopPage {
  url: string;
  close(): Promise<void>;
}

export async function startShopPage(rapportUrl: string, channelId: string): Promise<ShopPage> {
  const port = await freePort();
  const shop = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Harbour Fibre · Help</title></head>
<body><main><h1>Help centre</h1><p>Questions about your broadband? Chat with us.</p></main>
<script src="${rapportUrl}/widget.js" data-channel="${channelId}" async></script></body></html>`);
  });
  await new Promise<void>((resolve) => shop.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => shop.close(() => resolve())),
  };
}

/** The widget's shadow root content, as locators pierce open shadow roots. */
export const chatWidget = (page: Page) => page.locator('[data-rapport-chat]');
