/**
 * bench/page-load: what a visitor on a slow link waits for. Chromium loads the example site's
 * catalogue page cold (a new context each time: empty cache, no open connection) over a link
 * throttled through CDP (300 ms latency, 400 kbit/s = 50,000 bytes/s), from navigation start to
 * the load event, taking turns between
 *
 *   (a) the example site in production (`npm start`): one CSS and one JS bundle;
 *   (b) the same page with the same assets as separate, unminified files from express.static
 *       (LESS compiled once, unminified), one tag per file: the baseline.
 *
 * The floor of each load of (a) is computed from that load's own bytes: two dependent round
 * trips (the HTML, then the bundles it names) plus every byte received at 50,000 bytes/s.
 *
 *   npm run bench:page-load [-- --runs=5]
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import less from 'less';
import type { Browser } from 'playwright-core';
import { assets } from '../example-app/assets';
import type { Manifest } from '../src';
import { launchChromium, startExampleSite } from '../test/chromium';
import { argument, check, run, scratch, spread, table, times, turns, writeResults } from './common';

const PAGE = '/catalogue';
const LINK = { offline: false, latency: 300, downloadThroughput: 50_000, uploadThroughput: 50_000 };
const ROUND_TRIPS = 2;

interface Setup {
  label: string;
  origin: string;
  close(): Promise<void>;
}

interface Load {
  ms: number;
  bytes: number;
  requests: number;
}

run(async function main() {
  const runs = argument('runs', 5);
  const browser = await launchChromium();
  const setups: Setup[] = [];
  try {
    const library = {
      label: '(a) library',
      ...(await startExampleSite({ NODE_ENV: 'production' })),
    };
    setups.push(library);
    setups.push(await startSeparateFiles(library.origin));
    const loads = new Map<Setup, Load[]>(setups.map((setup) => [setup, []]));
    for (let i = 0; i < runs; i++) {
      for (const setup of turns(setups, i)) {
        const load = await loadCold(browser, setup.origin + PAGE);
        loads.get(setup)!.push(load);
        console.log(`${setup.label}, run ${i + 1}: ${Math.round(load.ms)} ms`);
      }
    }
    const [a, b] = setups.map((setup) => loads.get(setup)!);
    const floor = (load: Load) =>
      ROUND_TRIPS * LINK.latency + (load.bytes / LINK.downloadThroughput) * 1000;
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const row = (setup: Setup, list: Load[]) => [
      setup.label,
      spread(
        list.map((load) => load.ms),
        seconds,
      ),
      list[0].requests,
      spread(
        list.map((load) => load.bytes),
        (bytes) => bytes.toLocaleString('en'),
      ),
    ];
    writeResults('page-load', [
      `${runs} cold loads each in Chromium ${browser.version()}, taking turns; ${LINK.latency} ms latency,`,
      `${LINK.downloadThroughput.toLocaleString('en')} bytes/s. Median (min-max); bytes are all that`,
      'was received for the page, headers included (CDP `encodedDataLength`).',
      '',
      table(['setup', 'load', 'requests', 'bytes'], [row(setups[0], a), row(setups[1], b)]),
      '',
      table(
        ['figure', 'value'],
        [
          ['(a): floor of each load', spread(a.map(floor), seconds)],
          [
            '(a) / its floor',
            spread(
              a.map((load) => load.ms / floor(load)),
              times,
            ),
          ],
          [
            '(b) / (a)',
            spread(
              a.map((load, i) => b[i].ms / load.ms),
              times,
            ),
          ],
        ],
      ),
      '',
      `Floor: ${ROUND_TRIPS} dependent round trips (the HTML, then the bundles it names) + the`,
      "load's bytes at the link's rate. CDP's emulation models no connection set-up. The glyphicon",
      'font is preloaded with the CSS (preloadFonts), so it no longer waits for the CSS to arrive.',
    ]);
  } finally {
    await browser.close();
    for (const setup of setups) await setup.close();
  }
});

/** One cold load in a new context, through the throttled link; checks the page works. */
async function loadCold(browser: Browser, url: string): Promise<Load> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    const received = new Map<string, number>();
    const failed: string[] = [];
    cdp.on('Network.loadingFinished', (event) =>
      received.set(event.requestId, event.encodedDataLength),
    );
    cdp.on('Network.responseReceived', (event) => {
      if (event.response.status !== 200)
        failed.push(`${event.response.status} ${event.response.url}`);
    });
    page.on('pageerror', (error) => failed.push(error.message));
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', LINK);
    await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
    // This project compiles without the DOM types: the page function types what it uses.
    const measured = await page.evaluate(() => {
      const window = globalThis as unknown as {
        performance: { getEntriesByType(type: string): { loadEventStart: number }[] };
        document: { querySelector(selector: string): unknown };
        getComputedStyle(element: unknown): { backgroundColor: string };
      };
      const button = window.document.querySelector('.btn-primary');
      return {
        ms: window.performance.getEntriesByType('navigation')[0].loadEventStart,
        primary: button && window.getComputedStyle(button).backgroundColor,
      };
    });
    // A broken page would load fast: both setups must show the same working page.
    check(!failed.length && measured.primary === 'rgb(51, 122, 183)', `${url}: ${failed}`);
    const bytes = [...received.values()].reduce((sum, count) => sum + count, 0);
    return { ms: measured.ms, bytes, requests: received.size };
  } finally {
    await context.close();
  }
}

/**
 * (b): the library's page with each bundle tag replaced by one tag per member, in the bundle's
 * order, served as separate files under `/raw/`. LESS members are compiled once, unminified, at
 * the same place, so that their relative `url()`s (bootstrap's fonts) still resolve.
 */
async function startSeparateFiles(libraryOrigin: string): Promise<Setup> {
  const compiled = scratch('page-load');
  const manifestFile = path.join(assets.options.outDir, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  const tagsFor = async (url: string) => {
    const bundle = manifest.bundles.find((candidate) => candidate.url === url);
    check(bundle, `no bundle at ${url} in the manifest`);
    const tags: string[] = [];
    for (const { asset } of bundle.members) {
      if (bundle.kind === 'js') tags.push(`<script src="/raw/${asset}" defer></script>`);
      else tags.push(`<link rel="stylesheet" href="/raw/${await compileLess(asset, compiled)}">`);
    }
    return tags.join('\n');
  };
  const tag = /<link rel="stylesheet" href="([^"]+)"[^>]*>|<script src="([^"]+)"[^>]*><\/script>/g;
  // Separate files have no preloads: their fonts are found through the CSS, as without the library.
  let html = (await (await fetch(libraryOrigin + PAGE)).text()).replace(
    /<link rel="preload"[^>]*>\n?/g,
    '',
  );
  for (const match of [...html.matchAll(tag)]) {
    html = html.replace(match[0], await tagsFor(match[1] ?? match[2]));
  }
  const app = express();
  app.get(PAGE, (_req, res) => res.type('html').send(html));
  for (const folder of [compiled, ...assets.options.roots]) app.use('/raw', express.static(folder));
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    label: '(b) separate unminified files',
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Compiles a LESS member (a `.css` one is served as it is); returns the name to fetch. */
async function compileLess(asset: string, into: string): Promise<string> {
  if (!asset.endsWith('.less')) return asset;
  const roots = assets.options.roots;
  const file = roots.map((root) => path.join(root, asset)).find((name) => fs.existsSync(name));
  check(file, `${asset} is in no folder of the load path`);
  const output = await less.render(fs.readFileSync(file, 'utf8'), {
    filename: file,
    paths: [...roots],
    rewriteUrls: 'all',
  });
  const css = asset.replace(/\.less$/, '.css');
  fs.mkdirSync(path.dirname(path.join(into, css)), { recursive: true });
  fs.writeFileSync(path.join(into, css), output.css);
  return css;
}
