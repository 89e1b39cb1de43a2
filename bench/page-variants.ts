/**
 * The pages bench/page-load compares, and the child process that serves them: the example site
 * as `npm start` runs it, plus `<page>?plain` (the page as sent without `criticalCss`),
 * `<page>?floor` (that page without any CSS) and `<page>?wire` (the wire limit).
 */
import { randomBytes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
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
export const WIRE = '?wire';
const BLOB = '?blob';
export const VARIANTS = [
  { label: 'critical CSS', path: PAGE },
  { label: 'plain tags', path: PAGE + PLAIN },
  { label: 'paint floor', path: PAGE + FLOOR },
  { label: 'wire limit', path: PAGE + WIRE },
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
  // Measured on its first request, once the bench has warmed the page's critical CSS.
  let wire: ReturnType<typeof wireOf> | undefined;
  app.get(PAGE, (req, res, next) => {
    const blob = /^\?blob(\d+)$/.exec(req.url.slice(PAGE.length))?.[1];
    if (blob === undefined && req.url !== PAGE + WIRE) return next();
    (wire ??= wireOf(port)).then(({ html, blobs }) => {
      // no-transform: `compression` leaves it as it is, so its bytes are its size.
      res.setHeader('Cache-Control', 'no-transform');
      if (blob === undefined) return res.type('html').send(html);
      res.setHeader('Content-Encoding', 'br');
      res.type('js').send(blobs[Number(blob)]);
    }, next);
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

/**
 * The wire limit: the critical-CSS first visit's bytes in the same two dependent round trips and
 * as many files, the page's own script to run and nothing else to parse or paint but a line of
 * text: an HTML page of the first visit's HTML size naming one script per file the page names
 * (bundles and font), each as brotli that file's size: the page's script then a comment of random
 * text, or such a comment alone. What Chromium and the throttled link make of the load floor.
 */
async function wireOf(port: number): Promise<{ html: string; blobs: Buffer[] }> {
  const br = { 'accept-encoding': 'br' };
  const page = await get(port, PAGE, br);
  const text = brotliDecompressSync(page.body).toString();
  check(/<style/.test(text), `${PAGE}: no critical CSS yet for the wire limit`);
  const urls = new Set(
    [...text.matchAll(/(?:href|src)="([^"]+\.(?:css|js|woff2))"/g)].map((m) => m[1]),
  );
  const blobs: Buffer[] = [];
  for (const url of urls) {
    const file = await get(port, url, br);
    const script = url.endsWith('.js') ? brotliDecompressSync(file.body).toString() : '';
    blobs.push(scriptOfSize(script, file.body.length));
  }
  const scripts = blobs.map((_, i) => `<script src="${PAGE}${BLOB}${i}" defer></script>`);
  const head = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>wire limit</title><link rel="icon" href="data:,">${scripts.join('')}</head><body><p>The wire limit.</p><!--`;
  const tail = '--></body></html>';
  return { html: head + pad(page.body.length - head.length - tail.length) + tail, blobs };
}

/** `script`, then a comment of random text, as brotli of `size` bytes (give or take a few). */
function scriptOfSize(script: string, size: number): Buffer {
  const quality = { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } };
  let blob = Buffer.alloc(0);
  // Random base64 compresses to about 3/4: a few tries bring it to the size.
  for (let comment = 0, i = 0; i < 4; i++) {
    comment = Math.max(0, comment + Math.round(((size - blob.length) * 4) / 3));
    blob = brotliCompressSync(`${script}\n/*${pad(comment)}*/`, quality);
  }
  return blob;
}

function pad(bytes: number): string {
  return randomBytes(Math.max(bytes, 0)).toString('base64').slice(0, Math.max(bytes, 0));
}
