/**
 * What the browser tests and the page-load bench share: Debian's Chromium as this machine can run
 * it, and the example site started as `npm start` / `npm run dev` start it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

/** Debian's package; jest's globalSetup (test/setup/prerequisites.ts) finds or installs it. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Headless, as root, and with no background connections (the network here is closed). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

const REPO = path.resolve(__dirname, '..');

/** The example site in a child process on a free loopback port; resolves once it listens. */
export function startExampleSite(
  env: Record<string, string>,
): Promise<{ origin: string; close: () => Promise<void> }> {
  const child = spawn(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['example-app/server.ts'], {
    cwd: REPO,
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill();
    await exited;
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /http:\/\/localhost:(\d+)\//.exec(output);
      if (listening) resolve({ origin: `http://127.0.0.1:${listening[1]}`, close });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the site exited (${code}):\n${output}`)));
  });
}

/** A link as CDP emulates it: `latency` is added once to every request, before its response. */
export interface Link {
  /** Round-trip time in ms. */
  latency: number;
  /** Bytes per second, shared by the requests in flight. */
  throughput: number;
}

/** One request of a page as the browser's network log (CDP `Network.*`) tells it. */
export interface Fetch {
  url: string;
  /** CDP resource type: Document, Stylesheet, Script, Font... */
  type: string;
  /** Served from the memory or disk cache: nothing went over the network. */
  fromCache: boolean;
  /** Bytes received, headers included (`encodedDataLength`); 0 until it finished. */
  bytes: number;
  status?: number;
}

/**
 * Records every request of `page` from now on, and throttles it to `link` if one is given.
 * Returns the log, which keeps growing: slice it, or read it after each navigation.
 */
export async function recordFetches(page: Page, link?: Link): Promise<Fetch[]> {
  const fetches: Fetch[] = [];
  const byId = new Map<string, Fetch>();
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (event) => {
    if (event.request.url.startsWith('data:')) return;
    const fetch: Fetch = {
      url: event.request.url,
      type: event.type ?? 'Other',
      fromCache: false,
      bytes: 0,
    };
    byId.set(event.requestId, fetch);
    fetches.push(fetch);
  });
  cdp.on('Network.requestServedFromCache', (event) => {
    const fetch = byId.get(event.requestId);
    if (fetch) fetch.fromCache = true;
  });
  cdp.on('Network.responseReceived', (event) => {
    const fetch = byId.get(event.requestId);
    if (!fetch) return;
    fetch.status = event.response.status;
    if (event.response.fromDiskCache || event.response.fromPrefetchCache) fetch.fromCache = true;
  });
  cdp.on('Network.loadingFinished', (event) => {
    const fetch = byId.get(event.requestId);
    if (fetch) fetch.bytes = event.encodedDataLength;
  });
  await cdp.send('Network.enable');
  if (link) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: link.latency,
      downloadThroughput: link.throughput,
      uploadThroughput: link.throughput,
    });
  }
  return fetches;
}

/** Whether a fetch is a bundle or a file a bundle references (CSS, JS, fonts). */
export function isAsset(fetch: Fetch): boolean {
  return /\.(css|js|woff2?|ttf|eot|svg)(\?|#|$)/.test(new URL(fetch.url).pathname);
}

/**
 * An init script (`context.addInitScript`) that records, from before the page's first byte,
 * its CSP violations and the layout shifts not caused by input; {@link paintFigures} reads them.
 */
export const RECORD_PAINT = `(() => {
  const seen = (window.__paint = { violations: [], shift: 0 });
  document.addEventListener('securitypolicyviolation', (event) =>
    seen.violations.push(event.violatedDirective + ' ' + (event.blockedURI || 'inline')),
  );
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) seen.shift += entry.value;
  }).observe({ type: 'layout-shift', buffered: true });
})();`;

/** What a loaded page shows of its first paint, its styles and its fonts. */
export interface PaintFigures {
  /** First contentful paint, ms from navigation start. */
  fcp: number;
  /** The load event's start, ms from navigation start. */
  load: number;
  /** When the last byte of the page or of any file it fetched came in, ms from navigation start. */
  lastByte: number;
  /** Cumulative layout shift: the sum of the `layout-shift` entries. */
  cls: number;
  /** `securitypolicyviolation` events: directive and blocked URL. */
  violations: string[];
  /** `<style>` elements, and the stylesheet links in the head and in the body. */
  inlineStyles: number;
  headStylesheets: number;
  bodyStylesheets: number;
  /** `<link rel=preload as=font>` elements. */
  fontPreloads: number;
  /** Font families with a face that loaded. */
  loadedFonts: string[];
}

/**
 * Reads {@link PaintFigures} once the page has loaded, its fonts are settled and the tasks
 * queued meanwhile (violation reports, layout-shift entries) have run.
 */
export async function paintFigures(page: Page): Promise<PaintFigures> {
  // This project compiles without the DOM types: the page function types what it uses.
  return page.evaluate(async () => {
    interface Element {
      parentElement: { tagName: string } | null;
    }
    const window = globalThis as unknown as {
      __paint: { violations: string[]; shift: number };
      performance: {
        getEntriesByName(name: string): { startTime: number }[];
        getEntriesByType(type: string): { loadEventStart: number; responseEnd: number }[];
      };
      document: {
        fonts: { ready: Promise<unknown> } & Iterable<{ family: string; status: string }>;
        querySelectorAll(selector: string): ArrayLike<Element>;
      };
      setTimeout(callback: () => void, ms: number): void;
    };
    const { document, performance } = window;
    await document.fonts.ready;
    await new Promise<void>((resolve) => window.setTimeout(resolve, 200));
    const links = Array.from(document.querySelectorAll('link[rel=stylesheet]'));
    // No named functions in here: tsx would wrap them in a helper the page does not have.
    return {
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
      load: performance.getEntriesByType('navigation')[0]?.loadEventStart ?? NaN,
      lastByte: Math.max(
        ...['navigation', 'resource'].flatMap((type) =>
          performance.getEntriesByType(type).map((entry) => entry.responseEnd),
        ),
      ),
      cls: window.__paint.shift,
      violations: window.__paint.violations,
      inlineStyles: document.querySelectorAll('style').length,
      headStylesheets: links.filter((link) => link.parentElement?.tagName === 'HEAD').length,
      bodyStylesheets: links.filter((link) => link.parentElement?.tagName === 'BODY').length,
      fontPreloads: document.querySelectorAll('link[rel=preload][as=font]').length,
      loadedFonts: [
        ...new Set(
          Array.from(document.fonts)
            .filter((face) => face.status === 'loaded')
            .map((face) => face.family.replace(/"/g, '')),
        ),
      ],
    };
  });
}

/** The CSS, JS and font URLs among `fetches` requested more than once (a preload not reused). */
export function fetchedTwice(fetches: Fetch[]): string[] {
  const counts = new Map<string, number>();
  for (const { url } of fetches.filter(isAsset)) counts.set(url, (counts.get(url) ?? 0) + 1);
  return [...counts].filter(([, count]) => count > 1).map(([url]) => url);
}

/**
 * Requests `url` (no cookie: a first visit) until a response carries the page shape's critical
 * CSS: it is made after the shape's first responses, off their path.
 */
export async function warmCriticalCss(url: string): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    if ((await (await fetch(url)).text()).includes('<style nonce=')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never got its critical CSS`);
}

/**
 * The example site's `.site-header .navbar-nav > .active > a` background, once site.js has
 * marked the current page: the rule is in the full CSS bundle only, never in a page's critical
 * CSS (the class is not in the HTML the server sends).
 */
export const ACTIVE_LINK_BACKGROUND = 'rgb(19, 34, 56)';

export function activeLinkBackground(page: Page): Promise<string> {
  return page.locator('.site-header .navbar-nav > .active > a').evaluate((element) => {
    const window = globalThis as unknown as {
      getComputedStyle(element: unknown): { backgroundColor: string };
    };
    return window.getComputedStyle(element).backgroundColor;
  });
}
