/**
 * bench/request: what the library, and its critical CSS, cost a realistic page. An Express 5 app
 * renders a Nunjucks page of about 10 kB (a layout with `extends`, two `include`s and a
 * `{% for %}` loop over 40 products, in bootstrap 3's markup), after a handler that awaits 1 ms
 * as a database call would. Four rows, each its own child process:
 *
 *   - without the library: the same app and templates, the tags written in as fixed strings;
 *   - criticalCss off: the handler calls `res.requireAssets`, the layout requires its stylesheet
 *     (bootstrap 3's LESS and the site's rules) and prints `{% assets "css" %}` / `{% assets "js" %}`,
 *     the middleware fills them in and adds the `Link` preloads (the same HTML as without: checked);
 *   - criticalCss on, first visit: no `asset_css` cookie, the page shape's critical CSS already
 *     made (the app is warmed until a response carries the inline `<style>`), so each page gets
 *     it inline, the bundles' tags at the end of the body, `Set-Cookie` and `Vary: Cookie`;
 *   - criticalCss on, returning visitor: the cookie lists the bundles, the page gets plain tags.
 *
 * Each round starts the apps afresh on loopback and loads them with wrk -t1 in turns after a
 * warm-up, each app's `duration` cut into `slices` of whole seconds (taken in turns too); a
 * ratio is taken within a round, its median and spread (min-max) over `rounds`
 * reported. The figure that decides is the server's CPU time per request (process.cpuUsage,
 * all its threads): it is the server time a page costs, and a busy machine disturbs it less
 * than requests per second, reported beside it.
 *
 *   npm run bench:request [-- --rounds=5] [--duration=5] [--slices=1] [--connections=10]
 *                         [--library=<dist dir>]   (a compiled library, e.g. an older version's;
 *                                                   without criticalCss, its rows are left out)
 */
import path from 'node:path';
import { compileLibrary, loadLibrary, scratch, writeCorpus } from './common';
import { argument, run, sleep, spread, table, times, turns, writeResults } from './harness';
import { hasCriticalCss, registryOptions, serve, writeViews } from './request-app';
import type { AppKind } from './request-app';
import {
  FIRST,
  OFF,
  RETURNING,
  SIZED,
  WITHOUT,
  checkPages,
  headersOf,
  warmCritical,
  writeFirstVisit,
} from './request-pages';
import type { Variant } from './request-pages';
import { cpuTime, startChild, stopChild, wrk } from './servers';
import type { Child } from './servers';

/** How long the critical CSS worker outlives its last page (src/page/beasties.ts). */
const WORKER_IDLE_MS = 5_000;

/**
 * Waits until the server is idle (under 2% of a CPU for 250 ms): the critical CSS worker may
 * still be learning from the warm-up's pages, and its CPU time would count as the requests'.
 */
async function settle(child: Child): Promise<void> {
  for (let before = await cpuTime(child); ;) {
    await sleep(250);
    const now = await cpuTime(child);
    if (now - before < 5_000) return;
    before = now;
  }
}

async function main(): Promise<void> {
  const rounds = argument('rounds', 5);
  const duration = argument('duration', 5);
  const connections = argument('connections', 10);
  const slices = argument('slices', 1);
  const slice = Math.max(1, Math.round(duration / slices)); // wrk takes whole seconds
  const given = process.argv.find((arg) => arg.startsWith('--library='))?.split('=')[1];
  const dir = scratch('request');
  const entry = given ? path.resolve(given, 'index.js') : compileLibrary(dir);
  writeCorpus(path.join(dir, 'assets'));
  writeViews(dir);
  await loadLibrary(entry).defineAssets(registryOptions(dir)).build();
  const critical = hasCriticalCss(entry, dir);
  const variants = critical ? [WITHOUT, OFF, SIZED, FIRST, RETURNING] : [WITHOUT, OFF];
  if (critical) await writeFirstVisit(__filename, entry, dir);

  /** Fresh processes, the critical CSS made: one process's luck is not carried through rounds. */
  const start = async () => {
    const servers = new Map<Variant, Child>();
    for (const variant of variants) {
      servers.set(variant, await startChild(__filename, ['--child', variant.app, entry, dir]));
    }
    if (critical) await Promise.all([FIRST, RETURNING].map((v) => warmCritical(servers.get(v)!)));
    return servers;
  };
  const stopAll = (servers: Map<Variant, Child>) =>
    Promise.all([...servers.values()].map(stopChild));
  let pages: Awaited<ReturnType<typeof checkPages>> | undefined;
  const cpu = new Map<Variant, number[]>(variants.map((variant) => [variant, []]));
  const rate = new Map<Variant, number[]>(variants.map((variant) => [variant, []]));
  for (let round = 0; round < rounds; round++) {
    const servers = await start();
    try {
      pages ??= await checkPages(servers);
      const load = (variant: Variant, seconds: number) =>
        wrk(
          `http://127.0.0.1:${servers.get(variant)!.port}/`,
          headersOf(variant, pages!.cookie),
          seconds,
          connections,
        );
      for (const variant of variants) load(variant, 1); // warm-up
      // Steady state: the critical CSS worker has made the page's CSS and ends after 5 s
      // without a page; its end (and the GCs after its work) are no request's cost.
      if (critical) await sleep(WORKER_IDLE_MS + 1_000);
      // Each variant's time is cut into slices, taken in turns: the machine's drift within a
      // round falls on every variant alike.
      const used = new Map<Variant, number>(variants.map((variant) => [variant, 0]));
      const requests = new Map<Variant, number>(variants.map((variant) => [variant, 0]));
      for (let i = 0; i < slices; i++) {
        for (const variant of turns(variants, round + i)) {
          const server = servers.get(variant)!;
          await settle(server);
          const cpuBefore = await cpuTime(server);
          const perSecond = load(variant, slice);
          used.set(variant, used.get(variant)! + (await cpuTime(server)) - cpuBefore);
          requests.set(variant, requests.get(variant)! + perSecond * slice);
        }
      }
      for (const variant of variants) {
        rate.get(variant)!.push(requests.get(variant)! / (slice * slices));
        cpu.get(variant)!.push(used.get(variant)! / requests.get(variant)!);
      }
      console.log(
        `round ${round + 1}: ` +
          variants
            .map(
              (v) =>
                `${v.name} ${rate.get(v)![round].toFixed(0)}/s ${cpu.get(v)![round].toFixed(0)} µs`,
            )
            .join(', '),
      );
    } finally {
      await stopAll(servers);
    }
  }
  /** Per round, `variant`'s figure over the baseline's: median (min-max). */
  const ratio = (figures: Map<Variant, number[]>, variant: Variant, baseline: Variant) =>
    spread(
      figures.get(variant)!.map((value, i) => value / figures.get(baseline)![i]),
      times,
    );
  const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
  writeResults('request', [
    `A Nunjucks page (layout, includes, a loop of 40) in bootstrap 3's markup, a handler ` +
      `awaiting 1 ms; wrk -t1 -c${connections}, ${rounds} rounds of ${slices} x ${slice} s per app, in turns, ` +
      `fresh processes each round. Library: ${given ? given : 'src/ compiled by tsc'}.` +
      (pages?.inline
        ? ` Inline critical CSS: ${kB(pages.inline)} (of bootstrap 3 and the site's rules).`
        : ''),
    '',
    table(
      [
        'app',
        'HTML',
        "server's CPU time per request",
        'CPU / off',
        'requests per second',
        'req/s / off',
      ],
      variants.map((variant) => [
        variant.name,
        kB(pages!.bytes.get(variant)!),
        spread(cpu.get(variant)!, (value) => `${value.toFixed(0)} µs`),
        ratio(cpu, variant, OFF),
        spread(rate.get(variant)!, (value) => `${value.toFixed(0)}/s`),
        ratio(rate, variant, OFF),
      ]),
    ),
    '',
    ...(critical
      ? [
          "The same page's two sizes, each over the same bytes without the library: a first visit " +
            `over the first visit's tags as fixed strings ${ratio(cpu, FIRST, SIZED)}, ` +
            `criticalCss off over without the library ${ratio(cpu, OFF, WITHOUT)}: the library's ` +
            'share of each, so their gap is what critical CSS costs beyond the bytes it adds.',
          '',
        ]
      : []),
    'Ratios are per round, median (min-max); "off" is the library with criticalCss off.',
    `Command: npx tsx bench/request.ts ${process.argv.slice(2).join(' ')}`.trim(),
  ]);
}

if (process.argv[2] === '--child') {
  serve(process.argv[3] as AppKind, process.argv[4], process.argv[5]);
} else {
  run(main);
}
