/**
 * One cold load of bench/page-load in Chromium: a new context (empty cache, no cookie), the link
 * throttled through CDP, the page's paint figures and bytes; for the critical-CSS page, a repeat
 * visit to another page in the same context.
 */
import type { Browser, Page } from 'playwright-core';
import type { Fetch, Link, PaintFigures } from '../test/chromium';
import {
  ACTIVE_LINK_BACKGROUND,
  RECORD_PAINT,
  activeLinkBackground,
  fetchedTwice,
  isAsset,
  paintFigures,
  recordFetches,
} from '../test/chromium';
import { check } from './harness';
import { FLOOR, NEXT, PAGE, PLAIN, WIRE } from './page-variants';

export interface Load extends PaintFigures {
  /** All bytes received, and the HTML's, headers included. */
  bytes: number;
  htmlBytes: number;
  requests: number;
  /** Assets (CSS, JS, fonts) fetched more than once. */
  twice: string[];
  repeat?: Repeat;
}

/** A repeat visit to {@link NEXT} in the same context; and the same page without the feature. */
export interface Repeat {
  inlineStyles: number;
  fontPreloads: number;
  assetRequests: number;
  htmlBytes: number;
  plainHtmlBytes: number;
}

/** One cold load in a new context through the throttled link; for critical CSS, a repeat visit. */
export async function loadCold(
  browser: Browser,
  origin: string,
  path: string,
  link: Link,
): Promise<Load> {
  const context = await browser.newContext();
  try {
    await context.addInitScript(RECORD_PAINT);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const fetches = await recordFetches(page, link);
    await page.goto(origin + path, { waitUntil: 'load', timeout: 120_000 });
    const figures = await paintFigures(page);
    const failed = fetches.filter((fetch) => fetch.status !== 200).map((fetch) => fetch.url);
    check(!failed.length && !errors.length, `${path}: ${[...failed, ...errors].join(', ')}`);
    const load: Load = {
      ...figures,
      bytes: fetches.reduce((sum, fetch) => sum + fetch.bytes, 0),
      htmlBytes: fetches.find((fetch) => fetch.type === 'Document')?.bytes ?? NaN,
      requests: fetches.length,
      twice: fetchedTwice(fetches),
    };
    // A broken page would paint fast: each setup must show what it stands for.
    if (path !== PAGE + FLOOR && path !== PAGE + WIRE) {
      const active = await activeLinkBackground(page);
      check(active === ACTIVE_LINK_BACKGROUND, `${path}: unstyled (${active})`);
    }
    if (path === PAGE) {
      check(load.inlineStyles === 1 && load.bodyStylesheets === 1, `${path}: no critical CSS`);
      load.repeat = await repeatVisit(origin, page, fetches);
    }
    return load;
  } finally {
    await context.close();
  }
}

/** Opens {@link NEXT} in the context that loaded the page, then the same page without the feature. */
async function repeatVisit(origin: string, page: Page, fetches: Fetch[]): Promise<Repeat> {
  const open = async (path: string) => {
    const from = fetches.length;
    await page.goto(origin + path, { waitUntil: 'load', timeout: 120_000 });
    const figures = await paintFigures(page);
    const own = fetches.slice(from);
    const html = own.find((fetch) => fetch.type === 'Document');
    return { figures, assets: own.filter((fetch) => isAsset(fetch) && !fetch.fromCache), html };
  };
  const next = await open(NEXT);
  const plain = await open(NEXT + PLAIN);
  return {
    inlineStyles: next.figures.inlineStyles,
    fontPreloads: next.figures.fontPreloads,
    assetRequests: next.assets.length,
    htmlBytes: next.html?.bytes ?? NaN,
    plainHtmlBytes: plain.html?.bytes ?? NaN,
  };
}
