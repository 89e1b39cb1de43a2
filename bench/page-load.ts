/**
 * bench/page-load: what a visitor on a slow link waits for. Chromium loads the example site's
 * catalogue page cold (a new browser context each time: empty cache, no open connection) over
 * a link throttled through CDP (`Network.emulateNetworkConditions`: 300 ms latency, 400 kbit/s
 * = 50,000 bytes/s down and up), from navigation start to the load event:
 *
 *   (a)  through this library in production (`npm start`), without and with Early Hints;
 *   (b)  the same page with the same assets as separate, unminified files served by
 *        express.static (each LESS file compiled once to unminified CSS), one tag per file;
 *   (b+) (b) gzipped on the fly, as the `compression` middleware would: to tell how much of the
 *        gain is compression and how much is bundling and minifying.
 *
 * The physical floor of (a) is handshake + HTML + one parallel round for the bundles, 3 round
 * trips, plus its bytes at 50,000 bytes/s. Results go to bench/results-page-load.md.
 *
 *   npx tsx bench/page-load.ts            (RUNS=5 by default; setups are interleaved run by run)
 */
import fs from 'node:fs';
import http from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import express from 'express';
import type { RequestHandler } from 'express';
import less from 'less';
import type { Browser } from 'playwright-core';
import { assets } from '../example-app/assets';
import type { Manifest } from '../src';
import { launchChromium, startExampleSite } from '../test/chromium';

const REPO = path.resolve(__dirname, '..');
const PAGE = '/catalogue';
const RUNS = Number(process.env.RUNS ?? 5);
const LINK = { offline: false, latency: 300, downloadThroughput: 50_000, uploadThroughput: 50_000 };
const ROUND_TRIPS_FLOOR = 3; // handshake, HTML, one parallel round for the bundles
const TARGETS = { ofFloor: 1.15, fasterThanStatic: 3 };
const RESULTS = path.join(__dirname, 'results-page-load.md');

interface Setup {
  label: string;
  origin: string;
  close(): Promise<void>;
}

/** One resource of one cold load. */
interface Resource {
  path: string;
  type: string;
  status?: number;
  /** Bytes received for it, headers included (CDP `encodedDataLength`). */
  bytes: number;
  /** Milliseconds after the page's own request: when it was asked for, and when it was done. */
  start: number;
  end?: number;
}

interface Run {
  /** Navigation start to the load event, in milliseconds. */
  load: number;
  resources: Resource[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const totalBytes = (run: Run) => run.resources.reduce((sum, resource) => sum + resource.bytes, 0);

async function main(): Promise<void> {
  const browser = await launchChromium();
  const setups: Setup[] = [];
  const compiled = fs.mkdtempSync(path.join(os.tmpdir(), 'page-load-'));
  try {
    const library = await startSite(false, '(a) library, production');
    setups.push(library);
    const hinting = await startSite(true, '(a) library, production, earlyHints: true');
    setups.push(hinting);
    const hints = await earlyHintsOf(hinting.origin + PAGE);
    if (!hints.length) throw new Error(`${PAGE} sent no 103 Early Hints with earlyHints: true`);
    const html = await separateFilesPage(library.origin, compiled);
    setups.push(await startStatic(html, compiled, false, '(b) separate unminified files'));
    setups.push(await startStatic(html, compiled, true, '(b+) separate files, gzipped'));

    const runs = new Map<Setup, Run[]>(setups.map((setup) => [setup, []]));
    // Interleaved, and in reverse order every other run, so that other load on the machine
    // and a warming browser spread over every setup alike.
    for (let i = 0; i < RUNS; i++) {
      for (const setup of i % 2 ? [...setups].reverse() : setups) {
        const run = await loadCold(browser, setup.origin + PAGE);
        runs.get(setup)!.push(run);
        console.log(`${setup.label}, run ${i + 1}: ${Math.round(run.load)} ms`);
      }
    }
    const report = reportOf(runs, setups, hints, await browserVersion(browser));
    console.log(`\n${report}`);
    fs.writeFileSync(RESULTS, report);
    console.log(`written to ${path.relative(REPO, RESULTS)}`);
  } finally {
    await browser.close();
    for (const setup of setups) await setup.close();
    fs.rmSync(compiled, { recursive: true, force: true });
  }
}

/** One cold load in a new context, through the throttled link, with its network log. */
async function loadCold(browser: Browser, url: string): Promise<Run> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    const origin = new URL(url).origin;
    const resources = new Map<string, Resource>();
    let zero: number | undefined;
    const since = (timestamp: number) => (timestamp - (zero ?? timestamp)) * 1000;
    cdp.on('Network.requestWillBeSent', (event) => {
      if (!event.request.url.startsWith(origin)) return;
      zero ??= event.timestamp;
      resources.set(event.requestId, {
        path: event.request.url.slice(origin.length),
        type: event.type ?? 'Other',
        bytes: 0,
        start: since(event.timestamp),
      });
    });
    cdp.on('Network.responseReceived', (event) => {
      const resource = resources.get(event.requestId);
      if (resource) resource.status = event.response.status;
    });
    cdp.on('Network.loadingFinished', (event) => {
      const resource = resources.get(event.requestId);
      if (!resource) return;
      resource.bytes = event.encodedDataLength;
      resource.end = since(event.timestamp);
    });
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', LINK);
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
    const measured = await page.evaluate(() => {
      const window = globalThis as unknown as BrowserWindow;
      const [navigation] = window.performance.getEntriesByType('navigation');
      const button = window.document.querySelector('.btn-primary');
      return {
        load: navigation.loadEventStart,
        primary: button && window.getComputedStyle(button).backgroundColor,
      };
    });
    // A broken page would load fast: make sure both setups show the same working page.
    const failed = [...resources.values()].filter((resource) => resource.status !== 200);
    if (errors.length || failed.length || measured.primary !== 'rgb(51, 122, 183)') {
      throw new Error(
        `${url} did not load cleanly: ${JSON.stringify({ errors, failed, measured })}`,
      );
    }
    return { load: measured.load, resources: [...resources.values()] };
  } finally {
    await context.close();
  }
}

/** The browser globals the page function uses: this project compiles without the DOM types. */
interface BrowserWindow {
  performance: { getEntriesByType(type: string): { loadEventStart: number }[] };
  document: { querySelector(selector: string): unknown };
  getComputedStyle(element: unknown): { backgroundColor: string };
}

/**
 * The library's catalogue page with each bundle tag replaced by one tag per member, in the
 * bundle's order: the same assets, as separate files under `/raw/` (their name in the load
 * path). LESS members are compiled once, unminified, into `compiled`, at the same place, so
 * that their relative `url()`s (bootstrap's fonts) still resolve.
 */
async function separateFilesPage(libraryOrigin: string, compiled: string): Promise<string> {
  const html = await (await fetch(libraryOrigin + PAGE)).text();
  const manifest = JSON.parse(
    fs.readFileSync(path.join(assets.options.outDir, 'manifest.json'), 'utf8'),
  ) as Manifest;
  const tagsFor = async (url: string) => {
    const bundle = manifest.bundles.find((candidate) => candidate.url === url);
    if (!bundle) throw new Error(`no bundle at ${url} in the manifest`);
    const tags: string[] = [];
    for (const { asset } of bundle.members) {
      if (bundle.kind === 'js') {
        tags.push(`<script src="/raw/${asset}" defer></script>`);
        continue;
      }
      const css = asset.replace(/\.less$/, '.css');
      if (asset.endsWith('.less')) await compileLess(asset, path.join(compiled, css));
      tags.push(`<link rel="stylesheet" href="/raw/${css}">`);
    }
    return tags.join('\n');
  };
  const tag = /<link rel="stylesheet" href="([^"]+)"[^>]*>|<script src="([^"]+)"[^>]*><\/script>/g;
  const replacements = new Map<string, string>();
  for (const match of html.matchAll(tag)) {
    replacements.set(match[0], await tagsFor(match[1] ?? match[2]));
  }
  if (replacements.size === 0) throw new Error(`no bundle tags in ${PAGE}:\n${html}`);
  return html.replace(tag, (found) => replacements.get(found)!);
}

async function compileLess(asset: string, to: string): Promise<void> {
  const file = assets.options.roots
    .map((root) => path.join(root, asset))
    .find((candidate) => fs.existsSync(candidate));
  if (!file) throw new Error(`${asset} is in no folder of the load path`);
  const output = await less.render(fs.readFileSync(file, 'utf8'), {
    filename: file,
    paths: [...assets.options.roots],
    rewriteUrls: 'all',
  });
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.writeFileSync(to, output.css);
}

/** Serves the page and its separate files: the compiled CSS first, then the load path. */
async function startStatic(
  html: string,
  compiled: string,
  gzip: boolean,
  label: string,
): Promise<Setup> {
  const folders = [compiled, ...assets.options.roots];
  const app = express();
  app.get(PAGE, (_req, res) => {
    res.type('html').send(html);
  });
  if (gzip) app.use('/raw', gzipFrom(folders));
  for (const folder of folders) app.use('/raw', express.static(folder));
  const server = await new Promise<Server>((resolve) => {
    const listening: Server = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    label,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Text files gzipped (level 6, zlib's default, as `compression` does), cached in memory. */
function gzipFrom(folders: string[]): RequestHandler {
  const cache = new Map<string, Buffer>();
  return function gzipped(req, res, next) {
    const name = decodeURIComponent(req.path).replace(/^\/+/, '');
    if (!/\bgzip\b/.test(req.headers['accept-encoding'] ?? '') || name.includes('..')) {
      next();
      return;
    }
    const file = folders.map((folder) => path.join(folder, name)).find(fs.existsSync);
    if (!file || !/\.(css|js|svg)$/.test(file)) {
      next();
      return;
    }
    let body = cache.get(file);
    if (!body) cache.set(file, (body = zlib.gzipSync(fs.readFileSync(file), { level: 6 })));
    res.type(path.extname(file)).set({ 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
    res.send(body);
  };
}

/** The example site as `npm start` runs it, in a child process on a free port. */
async function startSite(earlyHints: boolean, label: string): Promise<Setup> {
  const site = await startExampleSite({
    NODE_ENV: 'production',
    EARLY_HINTS: earlyHints ? '1' : '0',
  });
  return { label, ...site };
}

/** The `Link` values of the 103 responses a plain HTTP/1.1 client gets for `url`. */
function earlyHintsOf(url: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const links: string[] = [];
    const request = http.get(url, (response) => {
      response.resume();
      response.on('end', () => resolve(links));
    });
    request.on('information', (info: http.InformationEvent) => {
      if (info.statusCode === 103)
        links.push(...String(info.headers.link ?? '').split(/,\s*(?=<)/));
    });
    request.on('error', reject);
  });
}

async function browserVersion(browser: Browser): Promise<string> {
  return `Chromium ${browser.version()}`;
}

function reportOf(
  runs: Map<Setup, Run[]>,
  setups: Setup[],
  hints: string[],
  chromiumVersion: string,
): string {
  const [library, libraryHints, separate, separateGzip] = setups;
  const loadOf = (setup: Setup) => median(runs.get(setup)!.map((run) => run.load));
  const bytesOf = (setup: Setup) => median(runs.get(setup)!.map(totalBytes));
  const requestsOf = (setup: Setup) => median(runs.get(setup)!.map((run) => run.resources.length));
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const floor =
    ROUND_TRIPS_FLOOR * LINK.latency + (bytesOf(library) / LINK.downloadThroughput) * 1000;
  const ofFloor = loadOf(library) / floor;
  const faster = loadOf(separate) / loadOf(library);
  const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');

  const rows = setups.map((setup) => {
    const loads = runs.get(setup)!.map((run) => run.load);
    return (
      `| ${setup.label} | ${seconds(loadOf(setup))} | ${seconds(Math.min(...loads))} – ` +
      `${seconds(Math.max(...loads))} | ${requestsOf(setup)} | ${bytesOf(setup).toLocaleString('en')} | ` +
      `${(loadOf(setup) / loadOf(library)).toFixed(2)}x |`
    );
  });
  const waterfall = (setup: Setup) => [
    '| request | type | bytes | asked at | done at |',
    '|---|---|---:|---:|---:|',
    ...runs
      .get(setup)![0]
      .resources.map(
        (r) =>
          `| \`${r.path}\` | ${r.type} | ${r.bytes.toLocaleString('en')} | ${Math.round(r.start)} ms | ` +
          `${r.end === undefined ? '?' : `${Math.round(r.end)} ms`} |`,
      ),
  ];
  const cpu = /model name\s*:\s*(.*)/.exec(readOr('/proc/cpuinfo'))?.[1] ?? os.cpus()[0]?.model;

  return [
    '# bench/page-load: the catalogue page on a slow link',
    '',
    `Run: \`npx tsx bench/page-load.ts\` on ${new Date().toISOString().slice(0, 10)}, ${RUNS} cold`,
    'loads per setup, interleaved. Chromium throttled through CDP `Network.emulateNetworkConditions`:',
    `${LINK.latency} ms latency, ${LINK.downloadThroughput.toLocaleString('en')} bytes/s (400 kbit/s)`,
    'down and up. Time: navigation start to the load event (Navigation Timing `loadEventStart`),',
    'median. Bytes: everything received for the page, headers included (CDP `encodedDataLength`).',
    '',
    '| setup | load (median) | min – max | requests | bytes | vs (a) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Physical floor of (a): ${ROUND_TRIPS_FLOOR} round trips (${ROUND_TRIPS_FLOOR * LINK.latency} ms)`,
    `+ ${bytesOf(library).toLocaleString('en')} bytes / ${LINK.downloadThroughput.toLocaleString('en')}`,
    `bytes/s = **${seconds(floor)}**.`,
    '',
    `- (a) is ${ofFloor.toFixed(2)}x the floor (target: within ${TARGETS.ofFloor}x): ${verdict(ofFloor <= TARGETS.ofFloor)}.`,
    `- (a) is ${faster.toFixed(2)}x faster than (b) (target: at least ${TARGETS.fasterThanStatic}x): ${verdict(faster >= TARGETS.fasterThanStatic)}.`,
    `- Compression alone, (b+), makes (b) ${(loadOf(separate) / loadOf(separateGzip)).toFixed(2)}x faster; the`,
    `  library is then another ${(loadOf(separateGzip) / loadOf(library)).toFixed(2)}x faster (minified, brotli, fewer requests).`,
    `- Early Hints: ${seconds(loadOf(libraryHints))} with, ${seconds(loadOf(library))} without. Chromium acts on`,
    '  `103 Early Hints` only over HTTP/2 and HTTP/3; this bench speaks HTTP/1.1 on loopback, where',
    '  Chromium reads and ignores the 103, so no difference is expected and any difference is noise.',
    `  The server did send one: \`103\` with ${hints.map((link) => `\`${link.split(';')[0]}\``).join(', ')}`,
    '  (what the catalogue handler required before awaiting its data; the layout and the partials',
    '  add their needs later, during the render).',
    '',
    'How to read the floor: CDP emulation adds the latency to each request and models no connection',
    'set-up, so the handshake round trip of the floor never happens here. What does happen is a',
    'third, dependent request: the glyphicon font, which the browser asks for only once the CSS has',
    'arrived and the page uses it, and whose latency partly overlaps the end of the JS download',
    '(see the waterfall). So (a) pays HTML + bundles + part of a font round trip, and a quiet run',
    'can come in just under the 3-round-trip floor. Bytes dominate: the bundles and the font are',
    'read at the full 50,000 bytes/s, in parallel.',
    '',
    'Loads of each run, in milliseconds:',
    '',
    ...setups.map(
      (setup) =>
        `- ${setup.label}: ${runs
          .get(setup)!
          .map((run) => Math.round(run.load))
          .join(', ')}`,
    ),
    '',
    '## Where the time goes: the first run of (a)',
    '',
    ...waterfall(library),
    '',
    '## The first run of (a) with Early Hints',
    '',
    ...waterfall(libraryHints),
    '',
    '## The first run of (b)',
    '',
    ...waterfall(separate),
    '',
    '## Machine',
    '',
    `- nproc ${os.availableParallelism()}, ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${os.type()} ${os.release()}`,
    `- node ${process.version}, ${chromiumVersion}, playwright-core ${packageVersion('playwright-core')}`,
    `- load average at the end: ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')} (other processes on the machine add noise to the absolute figures)`,
    '',
  ].join('\n');
}

function packageVersion(name: string): string {
  const file = path.join(REPO, 'node_modules', name, 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
