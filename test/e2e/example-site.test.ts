/**
 * The example site set up as a site on a slow link should be: pages compressed with brotli by
 * `compression`, and a strict nonce-based Content-Security-Policy on every response.
 *
 * Chromium (playwright-core, Debian's build) checks that no page of the site, nor the library's
 * own development pages, breaks the policy; raw HTTP (no client that decodes behind our back)
 * checks the bytes: pages compressed, bundles sent as the very files the build precompressed,
 * and a fresh nonce in each response, the same in its header and on its tags.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import type { Mode } from '../../src';
import { RECORD_PAINT, launchChromium, startExampleSite } from '../chromium';

const STARTUP_MS = 120_000;
const OUT_DIR = path.resolve(__dirname, '..', '..', 'example-app', 'public', 'gen');
/** A page in a fresh context; the report page measures every asset's brotli size first. */
const PAGE_MS = 90_000;
const BROWSER_ENCODINGS = 'gzip, deflate, br, zstd'; // what Chromium sends

/** Each page, with its status; `library` pages are the library's own, not the site's. */
interface SitePage {
  path: string;
  status: number;
  library?: boolean;
}
const SITE_PAGES: SitePage[] = [
  { path: '/', status: 200 },
  { path: '/catalogue', status: 200 },
  { path: '/admin', status: 200 },
  { path: '/no-such-page', status: 404 },
];
const PAGES: Record<Mode, SitePage[]> = {
  production: [...SITE_PAGES, { path: '/broken', status: 500 }], // the site's error page
  development: [
    ...SITE_PAGES,
    { path: '/broken', status: 500, library: true }, // the library's development error page
    { path: '/assets/_report', status: 200, library: true }, // the library's report page
  ],
};

/** The browser globals the page functions use: this project compiles without the DOM types. */
interface BrowserWindow {
  /** What {@link RECORD_PAINT} records: the CSP violations among it. */
  __paint: { violations: string[] };
  jQuery?: unknown;
  document: {
    addEventListener(type: string, listener: (event: Record<string, unknown>) => void): void;
    fonts: { ready: Promise<unknown> };
  };
  getComputedStyle(element: unknown): { getPropertyValue(name: string): string };
  setTimeout(callback: () => void, ms: number): void;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, STARTUP_MS);
afterAll(async () => {
  await browser?.close();
});

describe.each(['production', 'development'] as const)('the example site in %s', (mode) => {
  let site: { origin: string; close: () => Promise<void> };
  beforeAll(async () => {
    site = await startExampleSite({ NODE_ENV: mode });
  }, STARTUP_MS);
  afterAll(async () => {
    await site?.close();
  });

  for (const { path: pagePath, status, library } of PAGES[mode]) {
    test(
      `${pagePath}: no CSP violation, no console error, styled${library ? '' : ', scripted'}`,
      async () => {
        const context = await browser.newContext();
        try {
          await context.addInitScript(RECORD_PAINT);
          const page = await context.newPage();
          const consoleErrors: string[] = [];
          page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
          page.on('console', (message) => {
            // The browser reports the document's own 404 or 500, which the page means to send.
            const own = message.location().url === site.origin + pagePath && status >= 400;
            if (message.type() === 'error' && !(own && /status of \d{3}/.test(message.text()))) {
              consoleErrors.push(message.text());
            }
          });

          const response = await page.goto(site.origin + pagePath, { waitUntil: 'load' });
          expect(response?.status()).toBe(status);
          expect(response?.headers()['content-security-policy']).toContain("'nonce-");
          // Violations are reported in tasks of their own: let those queued during the load run.
          const violations = await page.evaluate(async () => {
            const window = globalThis as unknown as BrowserWindow;
            await window.document.fonts.ready;
            await new Promise<void>((resolve) => window.setTimeout(resolve, 100));
            return window.__paint.violations;
          });
          expect(violations).toEqual([]);
          expect(consoleErrors).toEqual([]);
          if (library) {
            // The library's stylesheet, inlined with the nonce: its page is 60rem wide at most.
            expect(await styleOf(page, '.ar-page', 'max-width')).toBe('960px');
          } else {
            // #1d3557: example-app/assets/site/partials/theme.less, in the site's CSS bundle
            expect(await styleOf(page, '.site-header', 'background-color')).toBe('rgb(29, 53, 87)');
            const scripted = await page.evaluate(
              () => typeof (globalThis as unknown as BrowserWindow).jQuery,
            );
            expect(scripted).toBe('function');
            // site/site.js marks the current page in the navigation.
            if (status === 200) await page.waitForSelector(`li.active > a[href="${pagePath}"]`);
          }
        } finally {
          await context.close();
        }
      },
      PAGE_MS,
    );
  }
});

describe('the example site in production, over HTTP', () => {
  let origin: string;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ origin, close } = await startExampleSite({ NODE_ENV: 'production' }));
  }, STARTUP_MS);
  afterAll(async () => {
    await close?.();
  });

  test.each(PAGES.production.map((page) => [page.path, page.status]))(
    '%s comes in brotli when the client takes it, plain when it does not',
    async (pagePath, status) => {
      const compressed = await fetchRaw(origin + pagePath, BROWSER_ENCODINGS);
      expect(compressed.status).toBe(status);
      expect(compressed.headers['content-encoding']).toBe('br');
      expect(compressed.headers.vary).toMatch(/\bAccept-Encoding\b/i);
      const html = brotliDecompressSync(compressed.body).toString();
      expect(html).toMatch(/^<!doctype html>/);
      expect(compressed.body.length).toBeLessThan(html.length / 2);
      const plain = await fetchRaw(origin + pagePath);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.toString()).toMatch(/^<!doctype html>/);
    },
  );

  test('each response has its own nonce, in its CSP header and on each of its tags', async () => {
    const nonces: string[] = [];
    for (const pagePath of ['/', '/', '/admin']) {
      const { headers, body } = await fetchRaw(origin + pagePath);
      const policy = String(headers['content-security-policy']);
      const nonce = /script-src 'nonce-([A-Za-z0-9+/]+={0,2})' 'strict-dynamic'/.exec(policy)?.[1];
      expect(nonce).toBeDefined();
      expect(Buffer.from(nonce!, 'base64')).toHaveLength(16); // 128 random bits
      expect(policy).toContain(`style-src 'self' 'nonce-${nonce}'`);
      expect(policy).not.toContain('unsafe-inline');
      const html = body.toString();
      // Every script and style, critical CSS included, carries it: no other nonce is printed.
      const tags = html.match(/<(?:script|style)\b[^>]*>|<link\b[^>]*"stylesheet"[^>]*>/g) ?? [];
      expect(tags.length).toBeGreaterThanOrEqual(2);
      for (const tag of tags) expect(tag).toContain(` nonce="${nonce}"`);
      expect(new Set(html.match(/nonce="[^"]*"/g))).toEqual(new Set([`nonce="${nonce}"`]));
      nonces.push(nonce!);
    }
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  test('bundles and fonts go out as the files the build wrote, never compressed again', async () => {
    const html = (await fetchRaw(`${origin}/admin`)).body.toString();
    const urls = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    const bundles = urls.filter((url) => /\.(css|js)$/.test(url));
    const fonts = urls.filter((url) => url.endsWith('.woff2'));
    expect(bundles).toHaveLength(4); // main and admin, CSS and JS
    expect(fonts).toHaveLength(1);

    const codings = [
      { accept: BROWSER_ENCODINGS, encoding: 'br', suffix: '.br' },
      { accept: 'gzip', encoding: 'gzip', suffix: '.gz' },
      { accept: undefined, encoding: undefined, suffix: '' },
    ];
    for (const url of bundles) {
      for (const { accept, encoding, suffix } of codings) {
        const file = readFileSync(path.join(OUT_DIR, path.basename(url) + suffix));
        const response = await fetchRaw(origin + url, accept);
        const sent = { url, accept, encoding: response.headers['content-encoding'] };
        expect(sent).toEqual({ url, accept, encoding });
        expect(response.headers['content-length']).toBe(String(file.length));
        expect(response.body.equals(file)).toBe(true);
      }
    }
    // woff2 is compressed already: sent as it is, whatever the client accepts.
    const font = await fetchRaw(origin + fonts[0], BROWSER_ENCODINGS);
    expect(font.headers['content-encoding']).toBeUndefined();
    expect(font.body.equals(readFileSync(path.join(OUT_DIR, path.basename(fonts[0]))))).toBe(true);
  });
});

/** A GET whose body comes as the bytes sent: Node's fetch would decode them. */
function fetchRaw(
  url: string,
  acceptEncoding?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : undefined;
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function styleOf(page: Page, selector: string, property: string): Promise<string> {
  return page.$eval(
    selector,
    (element, name) =>
      (globalThis as unknown as BrowserWindow).getComputedStyle(element).getPropertyValue(name),
    property,
  );
}
