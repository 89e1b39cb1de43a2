/**
 * bench/page-load: what a visitor on a slow link waits for. Chromium loads the example site's
 * catalogue page cold (a new context each time: empty cache, no cookie) over a link throttled
 * through CDP, at 300 ms / 400 kbit/s and at 800 ms / 250 kbit/s, taking turns between
 *
 *   - critical CSS: the page as the site sends a first visit once the page shape's critical CSS
 *     is made (the bench warms it first): the rules it uses inline, the bundles at the end;
 *   - plain tags: the page as the site sends it without `criticalCss` (the stylesheet in the
 *     head, its fonts preloaded). That is the shape's very first render after a start, before
 *     its critical CSS exists: the site's child process keeps it and serves it again;
 *   - the paint floor: that same page with every stylesheet, `<style>` and font preload removed.
 *
 * All three come from the same server process, through the site's `compression` and with its
 * CSP header (a fresh nonce each time). CDP adds the latency to each request once, before its
 * response starts, and shares the throughput among the requests in flight; it models no
 * connection set-up (a real first visit pays DNS, TCP and TLS on top, for the page and its
 * floors alike). The load floor of each load is computed from its own bytes: two dependent
 * round trips (the HTML, then what it names) plus every byte received at the link's rate.
 * After each critical-CSS load, the same context opens another page: a repeat visit.
 *
 *   npm run bench:page-load [-- --runs=5]
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import compression from 'compression';
import express from 'express';
import type { RequestHandler } from 'express';
import type { Browser, Page } from 'playwright-core';
import type * as ExampleServer from '../example-app/server';
import type { Fetch, Link, PaintFigures } from '../test/chromium';
import {
  ACTIVE_LINK_BACKGROUND,
  RECORD_PAINT,
  activeLinkBackground,
  fetchedTwice,
  isAsset,
  launchChromium,
  paintFigures,
  recordFetches,
  warmCriticalCss,
} from '../test/chromium';
import {
  argument,
  check,
  get,
  ms,
  run,
  spread,
  startChild,
  stopChild,
  table,
  times,
  turns,
  writeResults,
} from './common';

const PAGE = '/catalogue';
/** The repeat visit's page: another page, with the same CSS bundle. */
const NEXT = '/';
const LINKS: (Link & { name: string })[] = [
  { name: '300 ms / 400 kbit/s', latency: 300, throughput: 50_000 },
  { name: '800 ms / 250 kbit/s', latency: 800, throughput: 31_250 },
];
const ROUND_TRIPS = 2;
/** The paths the site's child process serves besides the site: plain tags and the paint floor. */
const PLAIN = '?plain';
const FLOOR = '?floor';
const VARIANTS = [
  { label: 'critical CSS', path: PAGE },
  { label: 'plain tags', path: PAGE + PLAIN },
  { label: 'paint floor', path: PAGE + FLOOR },
] as const;
type Variant = (typeof VARIANTS)[number]['label'];

interface Load extends PaintFigures {
  /** All bytes received, and the HTML's, headers included. */
  bytes: number;
  htmlBytes: number;
  requests: number;
  /** Assets (CSS, JS, fonts) fetched more than once. */
  twice: string[];
  repeat?: Repeat;
}

/** A repeat visit to {@link NEXT} in the same context; and the same page without the feature. */
interface Repeat {
  inlineStyles: number;
  fontPreloads: number;
  assetRequests: number;
  htmlBytes: number;
  plainHtmlBytes: number;
}

async function main(): Promise<void> {
  const runs = argument('runs', 5);
  const browser = await launchChromium();
  const site = await startChild<object>(__filename, ['--site']);
  try {
    const origin = `http://127.0.0.1:${site.port}`;
    await warmCriticalCss(origin + PAGE);
    const results: string[] = [];
    for (const link of LINKS) {
      const loads = new Map<Variant, Load[]>(VARIANTS.map((variant) => [variant.label, []]));
      for (let i = 0; i < runs; i++) {
        for (const variant of turns(VARIANTS, i)) {
          const load = await loadCold(browser, origin, variant.path, link);
          loads.get(variant.label)!.push(load);
          console.log(
            `${link.name}, ${variant.label}, run ${i + 1}: FCP ${ms(load.fcp)}, load ${ms(load.load)}`,
          );
        }
      }
      results.push(...report(link, loads), '');
    }
    writeResults('page-load', [
      `${runs} cold loads of \`${PAGE}\` per setup and link in Chromium ${browser.version()}, taking`,
      'turns. Median (min-max); bytes are all that was received for the page, headers included',
      '(CDP `encodedDataLength`); a ratio is taken between the loads of one round.',
      '',
      ...results,
      'Paint floor: the plain-tags page without its stylesheet, `<style>` or font preloads, from',
      'the same server and `compression`. Load floor: 2 dependent round trips (the HTML, then what',
      "it names) + the load's own bytes at the link's rate. CDP adds the latency once per request",
      'and models no connection set-up. Repeat visit: the same context then opens `/`; its HTML is',
      "compared with `/`'s page as sent without the feature (the shape's first render).",
    ]);
  } finally {
    await browser.close();
    await stopChild(site);
  }
}

/** The figures of one link: a row per setup, then the ratios and the repeat visit. */
function report(link: Link & { name: string }, loads: Map<Variant, Load[]>): string[] {
  const critical = loads.get('critical CSS')!;
  const plain = loads.get('plain tags')!;
  const floor = loads.get('paint floor')!;
  const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;
  const count = (value: number) => value.toLocaleString('en');
  const loadFloor = (load: Load) =>
    ROUND_TRIPS * link.latency + (load.bytes / link.throughput) * 1000;
  /** One round trip and the HTML's bytes: when the last byte of the page can be in. */
  const htmlFloor = (load: Load) => link.latency + (load.htmlBytes / link.throughput) * 1000;
  const column = (list: Load[], of: (load: Load, i: number) => number, format = times) =>
    spread(list.map(of), format);
  const row = (label: string, list: Load[]) => [
    label,
    column(list, (load) => load.fcp, ms),
    column(list, (load) => load.load, seconds),
    column(list, (load) => load.htmlBytes, count),
    column(list, (load) => load.bytes, count),
    list[0].requests,
    column(
      list,
      (load) => load.cls,
      (cls) => cls.toFixed(4),
    ),
    list.reduce((sum, load) => sum + load.violations.length, 0),
    list.every((load) => !load.twice.length) ? 'yes' : 'no',
  ];
  const repeats = critical.map((load) => load.repeat!);
  const most = (of: (repeat: Repeat) => number) => Math.max(...repeats.map(of));
  return [
    `### ${link.name} (${link.latency} ms, ${count(link.throughput)} bytes/s)`,
    '',
    table('setup|FCP|load|HTML bytes|bytes|requests|CLS|CSP violations|each file once'.split('|'), [
      row('critical CSS (first visit)', critical),
      row('plain tags (criticalCss off)', plain),
      row('paint floor (no CSS)', floor),
    ]),
    '',
    table(
      ['figure', 'value', 'target'],
      [
        [
          'critical CSS: FCP / paint floor',
          column(critical, (l, i) => l.fcp / floor[i].fcp),
          '<= 1.2x',
        ],
        ['plain tags: FCP / paint floor', column(plain, (l, i) => l.fcp / floor[i].fcp), ''],
        ['paint floor: 1 round trip + its HTML bytes', column(floor, htmlFloor, ms), ''],
        [
          'paint floor: FCP / 1 round trip + its HTML bytes',
          column(floor, (l) => l.fcp / htmlFloor(l)),
          '',
        ],
        [
          'critical CSS: load floor (2 round trips + its bytes)',
          column(critical, loadFloor, seconds),
          '',
        ],
        [
          'critical CSS: load / its floor',
          column(critical, (l) => l.load / loadFloor(l)),
          '<= 1.02x',
        ],
        ['plain tags: load / its floor', column(plain, (l) => l.load / loadFloor(l)), ''],
        ['critical CSS: load / plain tags', column(critical, (l, i) => l.load / plain[i].load), ''],
        [
          'repeat visit to `/`: inline styles, font preloads, CSS/JS/font requests (most of any run)',
          `${most((r) => r.inlineStyles)}, ${most((r) => r.fontPreloads)}, ${most((r) => r.assetRequests)}`,
          '0, 0, 0',
        ],
        [
          'repeat visit: HTML bytes with the feature / without',
          `${spread(
            repeats.map((r) => r.htmlBytes),
            count,
          )} / ${spread(
            repeats.map((r) => r.plainHtmlBytes),
            count,
          )}`,
          'not larger',
        ],
      ],
    ),
  ];
}

/** One cold load in a new context through the throttled link; for critical CSS, a repeat visit. */
async function loadCold(browser: Browser, origin: string, path: string, link: Link): Promise<Load> {
  const context = await browser.newContext();
  try {
    await context.addInitScript(RECORD_PAINT);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const fetches = await recordFetches(page, link);
    await page.goto(origin + path, { waitUntil: 'load', timeout: 120_000 });
    const figures = await paintFigures(page);
    const active = await activeLinkBackground(page);
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
    if (path !== PAGE + FLOOR)
      check(active === ACTIVE_LINK_BACKGROUND, `${path}: unstyled (${active})`);
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

// The site's child process.

/**
 * The example site as `npm start` runs it, plus `<page>?plain` and `<page>?floor`: before any
 * browser comes, it renders the two pages once (the first render of a shape has plain tags, as
 * without `criticalCss`) and keeps them, to send them again with a fresh nonce.
 */
async function serveSite(): Promise<void> {
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

if (process.argv[2] === '--site') run(serveSite);
else run(main);
