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
 *   - the paint floor: that same page with every stylesheet, `<style>` and font preload removed;
 *   - the wire limit: the critical-CSS page's bytes in two dependent round trips and as many
 *     files, with only the page's script to run (a page of its HTML's size naming a script per
 *     file, each the size of that file: the page's script then a comment, or a comment): how
 *     near Chromium and the throttled link come to the load floor with the page's own work.
 *
 * All four come from the same server process, through the site's `compression` and with its
 * CSP header (a fresh nonce each time). CDP adds the latency to each request once, before its
 * response starts, and shares the throughput among the requests in flight; it models no
 * connection set-up (a real first visit pays DNS, TCP and TLS on top, for the page and its
 * floors alike). The load floor of each load is computed from its own bytes: two dependent
 * round trips (the HTML, then what it names) plus every byte received at the link's rate.
 * After each critical-CSS load, the same context opens another page: a repeat visit.
 *
 *   npm run bench:page-load [-- --runs=5]
 */
import type { Link } from '../test/chromium';
import { launchChromium, warmCriticalCss } from '../test/chromium';
import type { Load, Repeat } from './cold-load';
import { loadCold } from './cold-load';
import { argument, ms, run, spread, table, times, turns, writeResults } from './harness';
import { PAGE, VARIANTS, serveSite } from './page-variants';
import type { Variant } from './page-variants';
import { startChild, stopChild } from './servers';

const LINKS: (Link & { name: string })[] = [
  { name: '300 ms / 400 kbit/s', latency: 300, throughput: 50_000 },
  { name: '800 ms / 250 kbit/s', latency: 800, throughput: 31_250 },
];
const ROUND_TRIPS = 2;

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
      "compared with `/`'s page as sent without the feature (the shape's first render). Wire limit:",
      "the first visit's bytes in two dependent round trips and as many files, with only the page's",
      'script to run (an HTML page of its size naming a script per file, each as brotli the size',
      "of that file: the page's script then a random comment, or a comment): the nearest to the",
      "load floor this browser and throttled link come with the page's own work.",
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
  const wire = loads.get('wire limit')!;
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
      row('wire limit (same files and bytes, only the script run)', wire),
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
        ['wire limit: load / its floor', column(wire, (l) => l.load / loadFloor(l)), ''],
        [
          'from the last byte in to the load event: critical CSS / plain tags / wire limit',
          [critical, plain, wire]
            .map((list) => column(list, (l) => l.load - l.lastByte, ms))
            .join(' / '),
          '',
        ],
        [
          'critical CSS: load / wire limit (load / its floor, over the same for the wire limit)',
          column(critical, (l, i) => l.load / loadFloor(l) / (wire[i].load / loadFloor(wire[i]))),
          '<= 1.02x',
        ],
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

if (process.argv[2] === '--site') run(serveSite);
else run(main);
