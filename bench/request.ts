/**
 * bench/request: what the library costs a realistic page. An Express 5 app renders a Nunjucks
 * page of about 10 kB (a layout with `extends`, two `include`s and a `{% for %}` loop over 40
 * products), after a handler that awaits 1 ms as a database call would:
 *
 *   - with the library: the handler calls `res.requireAssets`, the layout requires its stylesheet
 *     and prints `{% assets "css" %}` / `{% assets "js" %}`, the middleware fills them in and adds
 *     the `Link` preloads;
 *   - without it: the same app and templates, the same tags written in as fixed strings.
 *
 * Both send the same HTML (checked). Each app runs in its own child process on loopback, started
 * afresh each round and loaded by wrk -t1 in turns after a warm-up: the ratio is taken within a
 * round, its median and spread (min-max) over `rounds` reported; beside requests per second, the
 * server's CPU time per request (process.cpuUsage), which a busy machine disturbs less.
 *
 *   npm run bench:request [-- --rounds=5] [--duration=5] [--connections=10]
 *                         [--library=<dist dir>]   (a compiled library, e.g. an older version's)
 */
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import {
  APP,
  CORPUS,
  SITE,
  argument,
  check,
  compileLibrary,
  cpuTime,
  get,
  listen,
  loadLibrary,
  run,
  scratch,
  spread,
  startChild,
  stopChild,
  table,
  times,
  turns,
  writeCorpus,
  writeFile,
  writeResults,
  wrk,
} from './common';
import type { Child } from './common';

const VARIANTS = ['with the library', 'without it'] as const;
type Variant = (typeof VARIANTS)[number];

/** The templates: the layout differs only in where its tags come from. */
const VIEWS: Record<string, string> = {
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

/** What the handler renders: the page's data, the same for every request. */
function pageData() {
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** In a child: the app of one variant, served on loopback. */
function serve(variant: Variant, entry: string, dir: string): void {
  const library = loadLibrary(entry);
  const views = path.join(dir, 'views');
  const assets = library.defineAssets({
    ...registryOptions(dir),
    requirePrebuilt: true,
  });
  const withLibrary = variant === 'with the library';
  const env = new nunjucks.Environment(
    new nunjucks.FileSystemLoader([
      path.join(views, withLibrary ? 'with' : 'without'),
      path.join(views, 'common'),
    ]),
    { autoescape: true },
  );
  const app = express();
  env.express(app);
  app.set('view engine', 'njk');
  const data = pageData();
  if (withLibrary) {
    assets.nunjucks(env);
    app.use(assets.middleware());
  }
  void assets.build().then(() => {
    const page = assets.page();
    page.require(APP, SITE);
    const tags = { css: page.tags('css'), js: page.tags('js') };
    app.get('/', async (_req, res) => {
      await sleep(1); // the page's data, from a database
      if (withLibrary) {
        res.requireAssets(APP);
        res.render('page.njk', data);
      } else {
        res.render('page.njk', { ...data, tags });
      }
    });
    listen(app);
  });
}

function registryOptions(dir: string) {
  return {
    root: [path.join(dir, 'assets'), path.join(__dirname, '..', 'node_modules')],
    outDir: path.join(dir, 'gen'),
    assets: CORPUS,
    mode: 'production' as const,
    logger: false as const,
  };
}

async function main(): Promise<void> {
  const rounds = argument('rounds', 5);
  const duration = argument('duration', 5);
  const connections = argument('connections', 10);
  const given = process.argv.find((arg) => arg.startsWith('--library='))?.split('=')[1];
  const dir = scratch('request');
  const entry = given ? path.resolve(given, 'index.js') : compileLibrary(dir);
  writeCorpus(path.join(dir, 'assets'));
  for (const [name, text] of Object.entries(VIEWS)) writeFile(path.join(dir, 'views', name), text);
  await loadLibrary(entry).defineAssets(registryOptions(dir)).build();

  const start = async () => {
    const servers = new Map<Variant, Child>();
    for (const variant of VARIANTS) {
      servers.set(variant, await startChild(__filename, ['--child', variant, entry, dir]));
    }
    return servers;
  };
  const url = (child: Child) => `http://127.0.0.1:${child.port}/`;

  const first = await start();
  const [ours, plain] = await Promise.all(
    VARIANTS.map((variant) => get(first.get(variant)!.port, '/')),
  );
  await Promise.all([...first.values()].map(stopChild));
  check(ours.status === 200 && plain.status === 200, 'both apps answer 200');
  check(ours.body.equals(plain.body), 'both apps send the same HTML');
  check(/<link rel="stylesheet"[^>]+>/.test(ours.body.toString()), 'the page has its tags');
  check(String(ours.headers.link).includes('rel=preload'), 'the page has its Link header');

  const perSecond = new Map<Variant, number[]>(VARIANTS.map((variant) => [variant, []]));
  const cpuPerRequest = new Map<Variant, number[]>(VARIANTS.map((variant) => [variant, []]));
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Fresh processes each round: one process's luck (its JIT, where the machine's other load
    // falls) is not carried through every round.
    const servers = await start();
    try {
      for (const child of servers.values()) wrk(url(child), {}, 1, connections); // warm-up
      const got = new Map<Variant, { rate: number; cpu: number }>();
      for (const variant of turns(VARIANTS, round)) {
        const server = servers.get(variant)!;
        const cpuBefore = await cpuTime(server);
        const rate = wrk(url(server), {}, duration, connections);
        const cpu = (await cpuTime(server)) - cpuBefore;
        got.set(variant, { rate, cpu: cpu / (rate * duration) });
        perSecond.get(variant)!.push(rate);
        cpuPerRequest.get(variant)!.push(got.get(variant)!.cpu);
      }
      const [withIt, withoutIt] = VARIANTS.map((variant) => got.get(variant)!);
      ratios.push(withIt.rate / withoutIt.rate);
      cpuRatios.push(withIt.cpu / withoutIt.cpu);
      console.log(
        `round ${round + 1}: ` +
          VARIANTS.map(
            (v) => `${v} ${got.get(v)!.rate.toFixed(0)}/s ${got.get(v)!.cpu.toFixed(0)} µs`,
          ).join(', '),
      );
    } finally {
      await Promise.all([...servers.values()].map(stopChild));
    }
  }
  const perSecondText = (value: number) => `${value.toFixed(0)}/s`;
  writeResults('request', [
    `A ${(ours.body.length / 1024).toFixed(1)} kB Nunjucks page (layout, includes, a loop of ` +
      `40), a handler awaiting 1 ms; wrk -t1 -c${connections}, ${rounds} rounds of ` +
      `${duration} s, in turns. Library: ${given ? given : 'src/ compiled by tsc'}.`,
    '',
    table(
      ['app', 'requests per second', "server's CPU time per request"],
      VARIANTS.map((variant) => [
        variant,
        spread(perSecond.get(variant)!, perSecondText),
        spread(cpuPerRequest.get(variant)!, (value) => `${value.toFixed(0)} µs`),
      ]),
    ),
    '',
    `With / without, per round, median (min-max): requests per second ${spread(ratios, times)}, ` +
      `CPU time per request ${spread(cpuRatios, times)}.`,
    `Command: npx tsx bench/request.ts ${process.argv.slice(2).join(' ')}`.trim(),
  ]);
}

if (process.argv[2] === '--child') {
  serve(process.argv[3] as Variant, process.argv[4], process.argv[5]);
} else {
  run(main);
}
