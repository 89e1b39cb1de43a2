/**
 * The example site in a real browser: Debian's chromium driven by playwright-core, on loopback.
 * Production runs in this process (so a counter on the server sees every request that reached
 * it); development runs in a child process started as `npm run dev` starts it.
 *
 * What was fetched comes from the browser's own network log (CDP `Network.*` events): a resource
 * served from the memory or disk cache never reached the network.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type * as ExampleAssets from '../../example-app/assets';
import type * as ExampleServer from '../../example-app/server';
import type { Mode } from '../../src';
import { launchChromium, startExampleSite } from '../chromium';

const STARTUP_MS = 120_000;

// The registry decides its mode from NODE_ENV when it is first loaded: load it as `npm start` does.
process.env.NODE_ENV = 'production';
/* eslint-disable @typescript-eslint/no-require-imports -- loaded after NODE_ENV is set */
const { assets } = require('../../example-app/assets') as typeof ExampleAssets;
const { start } = require('../../example-app/server') as typeof ExampleServer;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Each page: what it declares (and where), and what its own script does. */
const LAYOUT = ['site/site.less', 'site/site.js']; // views/layout.njk
const PAGES: Record<string, { declares: readonly string[]; behaves(page: Page): Promise<void> }> = {
  '/': {
    declares: [...LAYOUT, 'site/newsletter.less'], // views/partials/newsletter.njk
    async behaves(page) {
      // site/site.js marks the current page in the navigation.
      await page.waitForSelector('.site-header li.active > a[href="/"]');
    },
  },
  '/catalogue': {
    // the handler's res.requireAssets, then views/partials/catalogue-filter.njk
    declares: [...LAYOUT, 'site/catalogue.less', 'site/catalogue.js'],
    async behaves(page) {
      const status = page.locator('#catalogue-status');
      const soldOut = page.locator('.product.sold-out').first();
      await expect(status.textContent()).resolves.toBe('Showing all charts');
      expect(await soldOut.isVisible()).toBe(true);
      await page.click('#catalogue-filter');
      await expect(status.textContent()).resolves.toBe('Showing 4 of 6 charts');
      expect(await soldOut.isVisible()).toBe(false);
      expect(await page.getAttribute('#catalogue-filter', 'aria-pressed')).toBe('true');
      await page.click('#catalogue-filter');
      await expect(status.textContent()).resolves.toBe('Showing 6 of 6 charts');
    },
  },
  '/admin': {
    declares: [...LAYOUT, 'admin/editor.js'], // assets.needs() on the route
    async behaves(page) {
      expect(await styleOf(page, '.editor-preview', 'border-top-style')).toBe('dashed');
      await page.fill('#editor-source', 'First paragraph.\n\nSecond paragraph.');
      expect(await page.locator('#editor-preview p').allTextContents()).toEqual([
        'First paragraph.',
        'Second paragraph.',
      ]);
      await expect(page.locator('#editor-count').textContent()).resolves.toBe('35 characters');
    },
  },
};

/** The browser globals that page functions use: this project compiles without the DOM types. */
interface BrowserWindow {
  getComputedStyle(element: unknown): { getPropertyValue(name: string): string };
  document: { fonts: { ready: Promise<unknown>; check(font: string): boolean } };
}

/** One resource of one navigation, as the browser's network log tells it. */
interface Fetch {
  /** Path and query (every request of the site is same-origin). */
  path: string;
  /** CDP resource type: Document, Stylesheet, Script, Font... */
  type: string;
  status?: number;
  /** Served from the memory or disk cache: no request reached the network. */
  fromCache: boolean;
  failure?: string;
}

interface Visit {
  status: number;
  fetches: Fetch[];
  consoleErrors: string[];
}

/** A site under test: where it listens, and (in process) every URL that reached the server. */
interface RunningSite {
  origin: string;
  served?: string[];
  close(): Promise<void>;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, STARTUP_MS);
afterAll(async () => {
  await browser?.close();
});

const MODES: [Mode, () => Promise<RunningSite>][] = [
  ['production', startInProcess],
  ['development', () => startChild('development')],
];

describe.each(MODES)('the example site in %s', (mode, startSite) => {
  let site: RunningSite;
  beforeAll(async () => {
    site = await startSite();
  }, STARTUP_MS);
  afterAll(async () => {
    await site?.close();
  });

  /** A page in a fresh browser context (an empty cache), recording what it fetches. */
  async function freshPage(): Promise<{ context: BrowserContext; open: Opener }> {
    const context = await browser.newContext();
    return { context, open: await opener(context, site.origin) };
  }

  test.each(Object.keys(PAGES))(
    '%s: its declared assets only, styled, its script runs, no error, no failed request',
    async (pagePath) => {
      const { context, open } = await freshPage();
      try {
        const { page, visit } = await open(pagePath);
        expect(visit.status).toBe(200);
        expect(visit.consoleErrors).toEqual([]);
        expect(failed(visit.fetches)).toEqual([]);
        const loaded = {
          css: assetPaths(visit.fetches, 'css'),
          js: assetPaths(visit.fetches, 'js'),
        };
        expect(loaded.css).toEqual(expectedAssets(mode, pagePath, 'css'));
        expect(loaded.js).toEqual(expectedAssets(mode, pagePath, 'js'));
        // production: admin.<hash>.css and .js; development: the admin/ assets themselves
        const admin = [...loaded.css, ...loaded.js].filter((url) => /\/admin[./]/.test(url));
        expect(admin).toHaveLength(pagePath === '/admin' ? 2 : 0);

        expect(await styleOf(page, '.btn-primary', 'background-color')).toBe('rgb(51, 122, 183)');
        // #1d3557: assets/site/partials/theme.less, used by header.less, both imported by site.less
        expect(await styleOf(page, '.site-header', 'background-color')).toBe('rgb(29, 53, 87)');

        expect(visit.fetches.filter((fetch) => fetch.type === 'Font')).toEqual([
          expect.objectContaining({
            path: expect.stringMatching(/glyphicons-halflings-regular\b.*\.woff2$/),
            status: 200,
          }),
        ]);
        expect(await styleOf(page, '.glyphicon-home', 'font-family')).toBe(
          '"Glyphicons Halflings"',
        );
        const fontLoaded = await page.evaluate(() =>
          (globalThis as unknown as BrowserWindow).document.fonts.check(
            '14px "Glyphicons Halflings"',
          ),
        );
        expect(fontLoaded).toBe(true);

        await PAGES[pagePath].behaves(page);
        expect(visit.consoleErrors).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  test('a misspelled asset name shows an error page with suggestions', async () => {
    const { context, open } = await freshPage();
    try {
      const { page, visit } = await quietly(() => open('/broken'));
      expect(visit.status).toBe(500);
      // The browser reports the page's own 500 status, and nothing else.
      expect(visit.consoleErrors).toEqual([expect.stringContaining('status of 500')]);
      expect(failed(visit.fetches)).toEqual([expect.objectContaining({ path: '/broken' })]);
      const text = await page.locator('body').innerText();
      expect(text).toContain('site/catalog.js');
      expect(text).toMatch(/Did you mean[^?]*site\/catalogue\.js/);
      if (mode === 'production') {
        // The site's own error page, a page of the site like any other.
        expect(await styleOf(page, '.btn-primary', 'background-color')).toBe('rgb(51, 122, 183)');
      } else {
        // In development the library answers with its own error page, before the site's.
        expect(text).toContain('development mode');
      }
    } finally {
      await context.close();
    }
  });

  // Development serves files for revalidation (they change while one works): only production
  // caches them for good, so this test exists for production only.
  if (mode === 'production') {
    test('the glyphicon font is preloaded with the stylesheet and fetched once', async () => {
      const { context, open } = await freshPage();
      site.served!.splice(0);
      try {
        const { page, visit } = await open('/');
        expect(await styleOf(page, '.glyphicon-home', 'font-family')).toBe(
          '"Glyphicons Halflings"',
        );
        const fonts = visit.fetches.filter((fetch) => fetch.type === 'Font');
        expect(fonts).toEqual([
          expect.objectContaining({ path: expect.stringMatching(/\.woff2$/), status: 200 }),
        ]);
        // The preload (header and tag) names the very URL the stylesheet fetches, in CORS mode.
        const preload = page.locator('link[rel="preload"][as="font"]');
        expect(await preload.count()).toBe(1);
        expect(await preload.getAttribute('href')).toBe(fonts[0].path);
        expect(await preload.getAttribute('crossorigin')).toBe('');
        // In the Link header too, unless the page has its critical CSS inline: then its fonts'
        // preloads stand only at the end of the body (docs/critical-css.md).
        const response = await fetch(`${site.origin}/`);
        const fontLink = `<${fonts[0].path}>; rel=preload; as=font; type=font/woff2; crossorigin`;
        const inline = (await response.text()).includes('<style');
        expect(response.headers.get('link')!.includes(fontLink)).toBe(!inline);
        expect(site.served!.filter((url) => url === fonts[0].path)).toHaveLength(1);
        expect(visit.consoleErrors).toEqual([]);
      } finally {
        await context.close();
      }
    });

    test('a repeat visit makes no request for CSS, JS or fonts: they are cached for good', async () => {
      const { context, open } = await freshPage();
      site.served!.splice(0);
      try {
        const { page } = await open('/');
        const first = site.served!.splice(0);
        expect(first).toHaveLength(4);
        expect(first).toEqual(
          expect.arrayContaining([
            '/',
            expect.stringMatching(/^\/assets\/main\.\w+\.css$/),
            expect.stringMatching(/^\/assets\/main\.\w+\.js$/),
            expect.stringMatching(/^\/assets\/glyphicons-halflings-regular\.\w+\.woff2$/),
          ]),
        );
        // Another page sharing the main bundles: only its HTML reaches the server.
        const catalogue = await open('/catalogue', page);
        expect(fromNetwork(catalogue.visit.fetches)).toEqual(['/catalogue']);
        expect(site.served!.splice(0)).toEqual(['/catalogue']);
        // The admin page fetches the admin bundles, and nothing else.
        const admin = await open('/admin', page);
        expect(fromNetwork(admin.visit.fetches)).toEqual([
          '/admin',
          expect.stringMatching(/^\/assets\/admin\.\w+\.css$/),
          expect.stringMatching(/^\/assets\/admin\.\w+\.js$/),
        ]);
        site.served!.splice(0);
        // Every page again, then a reload: the browser finds every file in its cache.
        for (const pagePath of [...Object.keys(PAGES), null]) {
          const again = await open(pagePath, page);
          expect(again.visit.status).toBe(200);
          const cached = again.visit.fetches.filter((fetch) => fetch.fromCache);
          expect(cached.map((fetch) => fetch.type)).toEqual(
            expect.arrayContaining(['Font', 'Script', 'Stylesheet']),
          );
          expect(fromNetwork(again.visit.fetches)).toEqual([pagePath ?? '/admin']);
        }
        expect(site.served!.splice(0)).toEqual(['/', '/catalogue', '/admin', '/admin']);
      } finally {
        await context.close();
      }
    });
  }
});

/** Paths of the fetches that reached the network: not served from the browser's cache. */
function fromNetwork(fetches: Fetch[]): string[] {
  return fetches.filter((fetch) => !fetch.fromCache).map((fetch) => fetch.path);
}

/** Opens `pagePath` in a new tab, or in `reuse`; a `null` path reloads `reuse`. */
type Opener = (pagePath: string | null, reuse?: Page) => Promise<{ page: Page; visit: Visit }>;

/**
 * Opens pages of the site in `context` (or navigates `reuse` again), recording each navigation's
 * fetches from CDP, its console errors and uncaught exceptions.
 */
async function opener(context: BrowserContext, origin: string): Promise<Opener> {
  const recorders = new WeakMap<Page, () => Visit>();

  async function record(page: Page): Promise<() => Visit> {
    let fetches = new Map<string, Fetch>();
    let consoleErrors: string[] = [];
    let status = 0;
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    const cdp = await context.newCDPSession(page);
    cdp.on('Network.requestWillBeSent', (event) => {
      if (!event.request.url.startsWith(origin)) return;
      fetches.set(event.requestId, {
        path: event.request.url.slice(origin.length),
        type: event.type ?? 'Other',
        fromCache: false,
      });
    });
    cdp.on('Network.requestServedFromCache', (event) => {
      const fetch = fetches.get(event.requestId);
      if (fetch) fetch.fromCache = true;
    });
    cdp.on('Network.responseReceived', (event) => {
      const fetch = fetches.get(event.requestId);
      if (!fetch) return;
      fetch.status = event.response.status;
      if (event.response.fromDiskCache || event.response.fromPrefetchCache) fetch.fromCache = true;
      if (event.type === 'Document') status = event.response.status;
    });
    cdp.on('Network.loadingFailed', (event) => {
      const fetch = fetches.get(event.requestId);
      if (fetch) fetch.failure = event.errorText;
    });
    await cdp.send('Network.enable');
    return () => {
      const visit = { status, fetches: [...fetches.values()], consoleErrors };
      fetches = new Map();
      consoleErrors = [];
      status = 0;
      return visit;
    };
  }

  return async function open(pagePath, reuse) {
    const page = reuse ?? (await context.newPage());
    let finish = recorders.get(page);
    if (!finish) recorders.set(page, (finish = await record(page)));
    finish(); // forget the previous navigation
    if (pagePath === null) await page.reload({ waitUntil: 'load' });
    else await page.goto(origin + pagePath, { waitUntil: 'load' });
    await page.evaluate(async () => {
      await (globalThis as unknown as BrowserWindow).document.fonts.ready;
    });
    return { page, visit: finish() };
  };
}

/** Fetches that failed or answered 4xx/5xx. */
function failed(fetches: Fetch[]): Fetch[] {
  return fetches.filter((fetch) => fetch.failure || (fetch.status ?? 0) >= 400);
}

/** Paths of the stylesheets or scripts a page fetched (from the network or the cache). */
function assetPaths(fetches: Fetch[], kind: 'css' | 'js'): string[] {
  const type = kind === 'css' ? 'Stylesheet' : 'Script';
  return fetches.filter((fetch) => fetch.type === type).map((fetch) => fetch.path);
}

/**
 * What a page must load for `kind`: in production, one file per bundle holding any of its
 * needs (`/assets/main.<hash>.css`), in load order; in development, one file per needed asset,
 * in dependency order, named after it.
 */
function expectedAssets(mode: Mode, pagePath: string, kind: 'css' | 'js'): unknown[] {
  const needs = new Set(PAGES[pagePath].declares.flatMap((name) => assets.registry.closure(name)));
  if (mode === 'production') {
    return assets.registry.bundles
      .filter((bundle) => bundle.kind === kind && bundle.members.some((m) => needs.has(m.name)))
      .map((bundle) => expect.stringMatching(`^/assets/${bundle.group}\\.[0-9a-f]+\\.${kind}$`));
  }
  return assets.registry.order
    .filter((asset) => asset.kind === kind && needs.has(asset.name))
    .map((asset) => expect.stringContaining(asset.name.replace(/\.\w+$/, '')));
}

function styleOf(page: Page, selector: string, property: string): Promise<string> {
  return page.$eval(
    selector,
    (element, name) =>
      (globalThis as unknown as BrowserWindow).getComputedStyle(element).getPropertyValue(name),
    property,
  );
}

/** Runs `action` with the site's error log (a deliberate error's) silenced. */
async function quietly<T>(action: () => Promise<T>): Promise<T> {
  const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
  try {
    return await action();
  } finally {
    spy.mockRestore();
  }
}

async function startInProcess(): Promise<RunningSite> {
  const server: Server = await start(0, '127.0.0.1');
  const served: string[] = [];
  server.on('request', (req: { url?: string }) => served.push(req.url ?? ''));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts the site as `npm start` / `npm run dev` do, on a free port; resolves once it listens. */
function startChild(nodeEnv: string): Promise<RunningSite> {
  return startExampleSite({ NODE_ENV: nodeEnv });
}
