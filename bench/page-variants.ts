/**
 * The pages bench/page-load compares, and the child process that serves them: the example site
 * as `npm start` runs it, plus `<page>?plain` (the page as sent without `criticalCss`) and
 * `<page>?floor` (that page without any CSS).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import compression from 'compression';
import express from 'express';
import type { RequestHandler } from 'express';
import type * as ExampleServer from '../example-app/server';
import { check } from './harness';
import { get } from './servers';

export const PAGE = '/catalogue';
/** The repeat visit's page: another page, with the same CSS bundle. */
export const NEXT = '/';
/** The paths the site's child process serves besides the site: plain tags and the paint floor. */
export const PLAIN = '?plain';
export const FLOOR = '?floor';
export const VARIANTS = [
  { label: 'critical CSS', path: PAGE },
  { label: 'plain tags', path: PAGE + PLAIN },
  { label: 'paint floor', path: PAGE + FLOOR },
] as const;
export type Variant = (typeof VARIANTS)[number]['label'];

/**
 * The example site as `npm start` runs it, plus `<page>?plain` and `<page>?floor`: before any
 * browser comes, it renders the two pages once (the first render of a shape has plain tags, as
 * without `criticalCss`) and keeps them, to send them again with a fresh nonce.
 */
export async function serveSite(): Promise<void> {
  // NODE_ENV is production (startChild): the registry reads it when it is first loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createApp } = require('../example-app/server') as typeof ExampleServer;
  const site = await createApp();
  const app = express();
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // The kept pages, by path and query: `/catalogue?plain`; the path stays the site's own, as
  // site.js marks the navigation's current page by it.
  const kept = new Map<string, RequestHandler>();
  app.get('*path', compression(), function keptPage(req, res, next) {
    const page = kept.get(req.url);
    if (page) page(req, res, next);
    else next();
  });
  app.use(site);
  for (const path of [PAGE, NEXT]) {
    const first = await get(port, path);
    const html = first.body.toString();
    check(
      !/<style/.test(html) && /<head>[\s\S]*rel="stylesheet"/.test(html),
      `${path}: not plain (${first.status})`,
    );
    kept.set(path + PLAIN, replay(html, first.headers));
    if (path === PAGE) kept.set(path + FLOOR, replay(withoutStyles(html), first.headers, true));
  }
  process.on('SIGTERM', () => process.exit(0));
  process.send!({ port });
}

/** The page without stylesheets, `<style>` or font preloads: what paints without any CSS. */
function withoutStyles(html: string): string {
  return html
    .replace(/<link rel="stylesheet"[^>]*>\n?/g, '')
    .replace(/<style[^>]*>[\s\S]*?<\/style>\n?/g, '')
    .replace(/<link rel="preload"[^>]*as="font"[^>]*>\n?/g, '');
}

/** Sends a page as the site sent it: its `Link` and CSP headers, with a fresh nonce. */
function replay(html: string, headers: http.IncomingHttpHeaders, noStyles = false): RequestHandler {
  const policy = String(headers['content-security-policy']);
  const nonce = /'nonce-([^']+)'/.exec(policy)![1];
  const link = String(headers.link ?? '')
    .split(/,\s*(?=<)/)
    .filter((value) => value && !(noStyles && /as=(style|font)/.test(value)))
    .join(', ');
  return function replayPage(_req, res) {
    const fresh = randomBytes(16).toString('base64');
    res.setHeader('Content-Security-Policy', policy.replaceAll(nonce, fresh));
    if (link) res.setHeader('Link', link);
    res.type('html').send(html.replaceAll(nonce, fresh));
  };
}
