/**
 * Critical CSS on a first visit, in Chromium: the example site in production (`criticalCss: true`,
 * `compression`, a strict nonce CSP), each page in a fresh context over a link throttled through
 * CDP (300 ms, 400 kbit/s), so that the bundles arrive well after the HTML as on a slow link.
 *
 * The comparison is the site's own page with plain tags: the first render of a page shape after
 * a start goes out before its critical CSS is made, exactly as without `criticalCss` (the
 * stylesheet in the head, its fonts preloaded). The tests load it first, then request the page
 * until a response carries the inline `<style>` (the shape is warm).
 *
 * These check behaviour, not speed: bench/page-load measures the times.
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import {
  ACTIVE_LINK_BACKGROUND,
  RECORD_PAINT,
  activeLinkBackground,
  fetchedTwice,
  isAsset,
  launchChromium,
  paintFigures,
  recordFetches,
  startExampleSite,
  warmCriticalCss,
} from '../chromium';
import type { Fetch, PaintFigures } from '../chromium';

const STARTUP_MS = 120_000;
const PAGE_MS = 90_000;
const PAGE = '/catalogue';
const NEXT = '/'; // another page, with the same CSS bundle
const LINK = { latency: 300, throughput: 50_000 };
/**
 * How much more layout shift the first visit may have than plain tags: the icon font's swap
 * shifts the navigation by 0.0005 when it lands after the first paint (always, with critical
 * CSS; with plain tags, only when the font comes after the stylesheet); a critical CSS that
 * missed a layout rule would move the page by tenths.
 */
const SHIFT_TOLERANCE = 0.005;

/** One navigation: what came over the wire and what the page shows once loaded. */
interface Visit {
  response: Response;
  html: string;
  /** The nonce of the response's CSP header. */
  nonce: string;
  /** The response's `Set-Cookie` (Playwright's `headers()` leaves it out). */
  setCookie: string | null;
  figures: PaintFigures;
  fetches: Fetch[];
  /** The stylesheets' `renderBlockingStatus` (resource timing): did they hold the first paint? */
  cssBlocking: string[];
  /** The resource timing entries of the stylesheets and fonts. */
  resources: Resource[];
}

interface Resource {
  name: string;
  renderBlockingStatus: string;
  startTime: number;
  responseEnd: number;
}

let browser: Browser;
let site: { origin: string; close: () => Promise<void> };
/** The page with plain tags, and `/` as the site sends it without critical CSS. */
let plain: Visit;
let plainNext: string;
/** The first visit once the shape is warm, in a context kept for the repeat visit. */
let firstContext: BrowserContext;
let firstPage: Page;
let first: Visit;

beforeAll(async () => {
  browser = await launchChromium();
  site = await startExampleSite({ NODE_ENV: 'production' });
  const context = await newContext();
  try {
    plain = await visit(await context.newPage(), PAGE);
  } finally {
    await context.close();
  }
  plainNext = await (await fetch(site.origin + NEXT)).text();
  await warmCriticalCss(site.origin + PAGE);
  firstContext = await newContext();
  firstPage = await firstContext.newPage();
  first = await visit(firstPage, PAGE);
}, STARTUP_MS);

afterAll(async () => {
  await firstContext?.close();
  await browser?.close();
  await site?.close();
});

test('the comparison: the first render of a shape has plain tags, its stylesheet blocks paint', () => {
  expect(plain.html).not.toContain('<style');
  expect(plain.figures).toMatchObject({ inlineStyles: 0, headStylesheets: 1, bodyStylesheets: 0 });
  expect(plain.cssBlocking).toEqual(['blocking']);
});

describe('a first visit', () => {
  test('has the critical CSS inline with the CSP nonce, the fonts preloaded, the bundles at the end', () => {
    const head = /<head>([\s\S]*)<\/head>/.exec(first.html)![1];
    expect(head).toContain(`<style nonce="${first.nonce}">`);
    expect(head).not.toMatch(/rel="stylesheet"|as="font"/);
    expect(first.response.headers().link).not.toContain('as=font');
    expect(first.html).toMatch(
      /<link rel="preload" href="[^"]+\.woff2" as="font" type="font\/woff2" crossorigin>\n<link rel="stylesheet" [^>]*>\s*<\/body>/,
    );
    expect(first.figures).toMatchObject({
      inlineStyles: 1,
      headStylesheets: 0,
      bodyStylesheets: 1,
      fontPreloads: 1,
    });
    expect(first.setCookie).toMatch(/^asset_css=[\w.-]+; Path=\/;/);
    expect(first.response.headers().vary).toMatch(/\bCookie\b/);
  });

  test('paints without waiting for the bundle or the font, breaks no CSP rule, fetches each file once', () => {
    expect(first.cssBlocking).toEqual(['non-blocking']);
    // The font comes with its stylesheet, not after it, and the first paint waits for neither.
    const [font] = first.resources.filter((entry) => entry.name.endsWith('.woff2'));
    const [stylesheet] = first.resources.filter((entry) => entry.name.endsWith('.css'));
    expect(font.startTime).toBeLessThan(stylesheet.responseEnd);
    expect(first.figures.fcp).toBeLessThan(Math.min(font.responseEnd, stylesheet.responseEnd));
    expect(first.figures.violations).toEqual([]);
    const kinds = first.fetches.filter(isAsset).map((fetch) => fetch.url.replace(/.*\./, ''));
    expect(kinds.sort()).toEqual(['css', 'js', 'woff2']);
    expect(fetchedTwice(first.fetches)).toEqual([]);
  });

  test('looks right once loaded: the full bundle applies, the icon font is in, no more shift than plain tags', async () => {
    const style = /<style[^>]*>([\s\S]*?)<\/style>/.exec(first.html)![1];
    expect(style).not.toContain('.active'); // so the rule below comes from the bundle
    expect(await activeLinkBackground(firstPage)).toBe(ACTIVE_LINK_BACKGROUND);
    expect(first.figures.loadedFonts).toContain('Glyphicons Halflings');
    expect(first.figures.cls).toBeLessThanOrEqual(plain.figures.cls + SHIFT_TOLERANCE);
  });
});

test(
  'a repeat visit to another page: plain tags, no font preloads, nothing fetched but the HTML, HTML no larger',
  async () => {
    const next = await visit(firstPage, NEXT);
    expect(next.html).not.toContain('<style');
    expect(next.figures).toMatchObject({ inlineStyles: 0, fontPreloads: 0, headStylesheets: 1 });
    expect(next.response.headers().link).not.toContain('as=font');
    expect(next.setCookie).toBeNull();
    expect(next.fetches.filter((fetch) => isAsset(fetch) && !fetch.fromCache)).toEqual([]);
    expect(next.figures.violations).toEqual([]);
    expect(await activeLinkBackground(firstPage)).toBe(ACTIVE_LINK_BACKGROUND);
    // The same nonce length in both: only the tags differ.
    expect(Buffer.byteLength(next.html)).toBeLessThanOrEqual(Buffer.byteLength(plainNext));
  },
  PAGE_MS,
);

test(
  "a visitor whose cookie names an earlier release's bundles gets a first visit again",
  async () => {
    const context = await newContext();
    try {
      // A deploy changed the CSS bundle: the cookie still names the one the browser holds.
      const earlier = 'AAAAAAAAAAAA';
      await context.addCookies([{ name: 'asset_css', value: earlier, url: site.origin }]);
      const page = await context.newPage();
      const again = await visit(page, PAGE);
      expect(again.html).toContain(`<style nonce="${again.nonce}">`);
      expect(again.figures).toMatchObject({ headStylesheets: 0, bodyStylesheets: 1 });
      const cookie = /^asset_css=([\w.-]+);/.exec(again.setCookie ?? '')![1];
      expect(cookie.split('.')).toEqual([expect.not.stringMatching(earlier), earlier]);
      const next = await visit(page, NEXT);
      expect(next.figures).toMatchObject({ inlineStyles: 0, headStylesheets: 1 });
      expect(next.fetches.filter((fetch) => isAsset(fetch) && !fetch.fromCache)).toEqual([]);
    } finally {
      await context.close();
    }
  },
  PAGE_MS,
);

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addInitScript(RECORD_PAINT);
  return context;
}

/** Opens `path` in `page` over the throttled link (a fresh page is throttled on first use). */
const logs = new WeakMap<Page, Fetch[]>();
async function visit(page: Page, path: string): Promise<Visit> {
  let log = logs.get(page);
  if (!log) logs.set(page, (log = await recordFetches(page, LINK)));
  const from = log.length;
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const response = (await page.goto(site.origin + path, { waitUntil: 'load', timeout: PAGE_MS }))!;
  expect(response.status()).toBe(200);
  // site.js marks the current page in the navigation: the script ran.
  await page.waitForSelector(`.site-header li.active > a[href="${path}"]`);
  const figures = await paintFigures(page);
  expect(errors).toEqual([]);
  const resources = await page.evaluate(() =>
    (
      globalThis as unknown as { performance: { getEntriesByType(type: string): Resource[] } }
    ).performance
      .getEntriesByType('resource')
      .filter((entry) => /\.(css|woff2)$/.test(entry.name))
      .map(({ name, renderBlockingStatus, startTime, responseEnd }) => ({
        name,
        renderBlockingStatus,
        startTime,
        responseEnd,
      })),
  );
  const css = resources.filter((entry) => entry.name.endsWith('.css'));
  return {
    response,
    html: (await response.body()).toString(),
    nonce: /'nonce-([^']+)'/.exec(response.headers()['content-security-policy'])![1],
    setCookie: await response.headerValue('set-cookie'),
    figures,
    fetches: log.slice(from),
    cssBlocking: css.map((entry) => entry.renderBlockingStatus),
    resources,
  };
}
