/**
 * What the benchmarks share: the corpus (jQuery, lodash and bootstrap 3's LESS straight from
 * node_modules, plus a small site of their own), the library compiled by tsc as it ships,
 * medians and spreads, markdown tables and results files, child-process servers and wrk.
 */
import { fork, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type * as LibraryModule from '../src';
import type { AssetOptions } from '../src';

export type Library = typeof LibraryModule;

export const REPO = path.resolve(__dirname, '..');
export const NODE_MODULES = path.join(REPO, 'node_modules');
const OUT = path.join(__dirname, 'out');

export const JQUERY = 'jquery/dist/jquery.js';
export const LODASH = 'lodash/lodash.js';
export const APP = 'site/app.js';
export const SITE = 'site/site.less';
export const THEME = 'site/theme.less';

/** One JS bundle (jQuery, lodash, the app) and one CSS bundle (bootstrap 3 and the site's rules). */
export const CORPUS: AssetOptions['assets'] = [
  JQUERY,
  LODASH,
  { path: APP, deps: [JQUERY, LODASH] },
  SITE,
];

const CORPUS_FILES: Record<string, string> = {
  [APP]: `/* site/app.js: the site's own script (bench corpus) */
(function ($, _) {
  'use strict';

  var state = { clicks: 0, filter: '' };

  function renderItems(items) {
    return _.map(items, function (item) {
      return '<li class="list-group-item" data-id="' + _.escape(String(item.id)) + '">' +
        _.escape(item.name) + ' <span class="badge">' + item.count + '</span></li>';
    }).join('');
  }

  function visible(items, filter) {
    var needle = filter.toLowerCase();
    return _.filter(items, function (item) {
      return !needle || item.name.toLowerCase().indexOf(needle) !== -1;
    });
  }

  $(function () {
    var items = _.times(20, function (i) {
      return { id: i + 1, name: 'Item ' + (i + 1), count: (i * 7) % 13 };
    });
    var $list = $('#catalogue');
    var refresh = _.debounce(function () {
      $list.html(renderItems(visible(items, state.filter)));
    }, 50);
    $('#filter').on('input', function () {
      state.filter = $(this).val();
      refresh();
    });
    $('#more').on('click', function (event) {
      event.preventDefault();
      state.clicks += 1;
      $('#clicks').text(state.clicks);
    });
    refresh();
  });
})(jQuery, _);
`,
  [SITE]: `// site/site.less: bootstrap from node_modules plus the site's own rules (bench corpus)
@import "bootstrap/less/bootstrap.less";
@import "theme.less";

@brand-primary: #2a6f97;

.site-header {
  background: @brand-primary;
  color: #fff;
  padding: (@line-height-computed / 2) 0;
  .navbar-brand { color: #fff; font-weight: bold; }
}

.catalogue .list-group-item {
  .clearfix();
  &:hover { background: lighten(@brand-primary, 55%); }
}
`,
  [THEME]: `// site/theme.less: a partial imported by site.less (bench corpus)
@brand-accent: #e07a1f;

.btn-accent {
  .button-variant(#fff; @brand-accent; darken(@brand-accent, 5%));
}

.site-footer {
  border-top: 1px solid @gray-lighter;
  margin-top: @line-height-computed * 2;
  color: @gray;
  a { color: @brand-accent; }
}
`,
};

/** A fresh folder under bench/out, removed when the process exits (unless --keep). */
export function scratch(prefix: string): string {
  fs.mkdirSync(OUT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(OUT, `${prefix}-`));
  if (process.argv.includes('--keep')) console.log(`keeping ${dir}`);
  else process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes the site's own files into `dir`; returns the load path (`dir`, then node_modules). */
export function writeCorpus(dir: string): string[] {
  for (const [name, text] of Object.entries(CORPUS_FILES)) writeFile(path.join(dir, name), text);
  return [dir, NODE_MODULES];
}

export function writeFile(file: string, text: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/**
 * Compiles src/ with the project's tsc into `dir/lib` and returns its entry: the library as it
 * ships, not through tsx. (Type errors elsewhere in the tree do not stop tsc emitting.)
 */
export function compileLibrary(dir: string): string {
  const folder = path.join(dir, 'lib');
  const tsc = path.join(NODE_MODULES, 'typescript', 'bin', 'tsc');
  const config = path.join(REPO, 'tsconfig.build.json');
  spawnSync(process.execPath, [tsc, '-p', config, '--outDir', folder, '--declaration', 'false'], {
    stdio: 'ignore',
  });
  const entry = path.join(folder, 'index.js');
  if (!fs.existsSync(entry)) throw new Error(`tsc did not emit ${entry}`);
  return entry;
}

export function loadLibrary(entry: string): Library {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled library
  return require(entry) as Library;
}

/** Brotli 11 (text mode) and gzip 9, as the library makes a bundle's twins. */
export async function compress(data: Buffer): Promise<{ br: Buffer; gzip: Buffer }> {
  const [br, gzip] = await Promise.all([
    promisify(zlib.brotliCompress)(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }),
    promisify(zlib.gzip)(data, { level: 9 }),
  ]);
  return { br, gzip };
}

export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `median (min-max)` of `values`, each written by `format`: `1.02x (0.98-1.10x)`. */
export function spread(values: number[], format: (value: number) => string): string {
  const [mid, low, high] = [median(values), Math.min(...values), Math.max(...values)].map(format);
  const unit = /[^\d]*$/.exec(mid)![0];
  const bare = (text: string) => (unit && text.endsWith(unit) ? text.slice(0, -unit.length) : text);
  return `${mid} (${bare(low)}-${high})`;
}

export const ms = (value: number) => `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
export const times = (value: number) => `${value.toFixed(2)}x`;
export const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/** Items in order on even rounds, reversed on odd ones, so none always goes first. */
export function turns<T>(items: readonly T[], round: number): T[] {
  return round % 2 ? [...items].reverse() : [...items];
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(): string {
  const load = os
    .loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
  return (
    `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average ${load}`
  );
}

/** Prints the report and writes it to bench/results-<name>.md, replacing the last run's. */
export function writeResults(name: string, lines: string[]): void {
  const text = [
    `# bench/${name}`,
    '',
    `\`npm run bench:${name}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC;`,
    `${machine()} at the end. Ratios are taken within the run: the machine is shared.`,
    '',
    ...lines,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(__dirname, `results-${name}.md`), text);
  console.log(`\n${text}`);
}

export function argument(name: string, fallback: number): number {
  const found = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
}

export function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`bench: ${what}`);
}

/** Runs `main`, printing its error and setting the exit code. */
export function run(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

// Servers in child processes: the child calls `listen`, the parent `startChild`.

export interface Child {
  process: ChildProcess;
  port: number;
}

/** In the child: serves `handler` on a free loopback port and tells the parent which. */
export function listen(handler: http.RequestListener, extra: object = {}): void {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  process.on('SIGTERM', () => process.exit(0));
  // CPU time, asked for around a run: unlike requests per second, it barely moves when other
  // processes load the machine.
  process.on('message', () => process.send!(process.cpuUsage()));
  server.listen(0, '127.0.0.1', () => {
    process.send!({ ...extra, port: (server.address() as AddressInfo).port });
  });
}

/** Forks `script` with `args`; resolves with what its `listen` sent. */
export function startChild<T extends object>(
  script: string,
  args: string[],
  execArgv = process.execArgv,
): Promise<Child & T> {
  const child = fork(script, args, {
    execArgv,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  process.on('exit', () => child.kill());
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ ...(message as Child & T), process: child }));
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited (${code})`)));
  });
}

/** The CPU time the child has used so far, in microseconds. */
export function cpuTime(child: Child): Promise<number> {
  return new Promise((resolve) => {
    child.process.once('message', (usage: NodeJS.CpuUsage) => resolve(usage.user + usage.system));
    child.process.send('cpu');
  });
}

export async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill();
  await exited;
}

/** wrk -t1 against `url`: requests per second (fails on errors or non-2xx/3xx answers). */
export function wrk(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
): number {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  const ran = spawnSync('wrk', [...args, url], { encoding: 'utf8', timeout: 120_000 });
  if (ran.error) throw new Error('wrk is not installed: apt-get install -y wrk');
  const perSecond = /Requests\/sec:\s+([\d.]+)/.exec(ran.stdout);
  const bad = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(ran.stdout);
  check(ran.status === 0 && perSecond && !bad, `wrk ${url}: ${ran.stdout}${ran.stderr}`);
  return Number(perSecond[1]);
}

/** One GET on loopback: status, headers and body. */
export function get(
  port: number,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      })
      .on('error', reject);
  });
}

// The realistic page of bench/request: a catalogue page in bootstrap 3's markup, about 10 kB.

/**
 * Its Nunjucks templates: `with/` prints the library's tags, `without/` the same tags given as
 * fixed strings; `common/` holds the page (`extends`, a loop of 40) and its two includes.
 */
export const CATALOGUE_VIEWS: Record<string, string> = {
  'with/layout.njk': `{% requireAsset "${SITE}" %}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }} · Catalogue</title>
{% assets "css" %}
</head>
<body>
{% include "header.njk" %}
<main class="container">{% block content %}{% endblock %}</main>
{% include "footer.njk" %}
{% assets "js" %}
</body>
</html>
`,
  'without/layout.njk': `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }} · Catalogue</title>
{{ tags.css | safe }}
</head>
<body>
{% include "header.njk" %}
<main class="container">{% block content %}{% endblock %}</main>
{% include "footer.njk" %}
{{ tags.js | safe }}
</body>
</html>
`,
  'common/header.njk': `<header class="site-header navbar">
  <a class="navbar-brand" href="/">Catalogue</a>
  <ul class="nav navbar-nav">{% for link in nav %}
    <li{% if link.active %} class="active"{% endif %}><a href="{{ link.href }}">{{ link.label }}</a></li>{% endfor %}
  </ul>
  <form class="navbar-form" action="/search"><input id="filter" name="q" placeholder="Filter" value="{{ query }}"></form>
</header>
`,
  'common/footer.njk': `<footer class="site-footer">
  <p>{{ products | length }} products · page {{ pageNumber }} of {{ pages }} · <a href="/about">About</a> · <a href="/contact">Contact</a></p>
</footer>
`,
  'common/page.njk': `{% extends "layout.njk" %}
{% block content %}
<h1>{{ title }}</h1>
<p class="lead">{{ intro }}</p>
<ul id="catalogue" class="list-group catalogue">
{% for product in products %}
  <li class="list-group-item{% if loop.index is even %} even{% endif %}" data-id="{{ product.id }}">
    <a href="/products/{{ product.id }}">{{ product.name }}</a>
    <span class="badge">{{ product.count }}</span>
    <span class="price">{{ product.price }} €</span>
    {% if product.tags.length %}<small>{{ product.tags | join(", ") }}</small>{% endif %}
  </li>
{% endfor %}
</ul>
<button id="more" class="btn btn-accent">More <span id="clicks">0</span></button>
{% endblock %}
`,
};

/** What its handler renders: the page's data, the same for every request. */
export function catalogueData() {
  return {
    title: 'Kitchen & garden',
    intro: 'Everything for the kitchen and the garden, <delivered> in two days.',
    query: '',
    pageNumber: 1,
    pages: 12,
    nav: ['Home', 'Kitchen', 'Garden', 'Tools', 'Offers'].map((label, i) => ({
      label,
      href: `/${label.toLowerCase()}`,
      active: i === 1,
    })),
    products: Array.from({ length: 40 }, (_, i) => ({
      id: 1000 + i,
      name: `Product ${i + 1} "${['copper', 'steel', 'oak', 'clay'][i % 4]}"`,
      count: (i * 7) % 13,
      price: (9.5 + i * 1.25).toFixed(2),
      tags: i % 3 ? ['kitchen', 'new'] : [],
    })),
  };
}
