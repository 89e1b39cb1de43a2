/**
 * bench/load: 100,000 requests over 50 keep-alive connections against an Express app with the
 * middleware, pages (nunjucks, tags filled after the render) and bundles (br, gzip, identity,
 * 304) mixed. What must hold: no request fails, and the server's RSS after the run is within
 * 10% of what it was after a 20,000-request warm-up (both after two full GCs); a second run of
 * the same size shows whether anything grows with the requests.
 *
 *   npm run bench:load [-- --requests=100000] [--connections=50]
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import type { Build } from '../src';
import { NODE_MODULES, REPO, compileLibrary, loadLibrary, scratch, writeFile } from './common';
import { argument, run, table, writeResults } from './harness';
import { get, listen, startChild, stopChild } from './servers';

const TARGET_RSS_GROWTH = 0.1;

const ASSETS = [
  'jquery/dist/jquery.js',
  'lodash/lodash.js',
  { path: 'site/app.js', deps: ['jquery/dist/jquery.js', 'lodash/lodash.js'] },
  'site/site.less',
  { path: 'admin/admin.js', deps: ['site/app.js'], bundle: 'admin' },
];

const VIEWS: Record<string, string> = {
  'layout.njk': `<!doctype html><html><head><title>{{ title }}</title>{% assets "css" %}</head>
<body><main>{% block main %}{% endblock %}</main>{% assets "js" %}</body></html>`,
  'home.njk': `{% extends "layout.njk" %}{% block main %}{% requireAsset "site/app.js", "site/site.less" %}
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>{% endblock %}`,
  'admin.njk': `{% extends "layout.njk" %}{% block main %}{% include "panel.njk" %}{% endblock %}`,
  'panel.njk': `{% requireAsset "admin/admin.js" %}{% for item in items %}<p>{{ item }}</p>{% endfor %}`,
};

const registry = (entry: string, dir: string) =>
  loadLibrary(entry).defineAssets({
    root: [path.join(dir, 'assets'), NODE_MODULES],
    outDir: path.join(dir, 'gen'),
    mode: 'production',
    logger: false,
    assets: ASSETS,
  });

/** In the child process (node --expose-gc): the app, until killed. */
async function serve(entry: string, dir: string): Promise<void> {
  const assets = registry(entry, dir);
  const build = await assets.build();
  const app = express();
  app.use(assets.middleware());
  const loader = new nunjucks.FileSystemLoader(path.join(dir, 'views'));
  assets.nunjucks(new nunjucks.Environment(loader)).express(app);
  const items = Array.from({ length: 40 }, (_, i) => `Item ${i + 1}: a line of catalogue text`);
  app.get('/', (_req, res) => res.render('home.njk', { title: 'Home', items }));
  app.get('/admin', (_req, res) => res.render('admin.njk', { title: 'Admin', items }));
  app.get('/__memory', (_req, res) => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    gc();
    res.json(process.memoryUsage());
  });
  listen(app, { requests: mix(build) });
}

/** One kind of request, weighted, with the status and body length its answer must have. */
interface Kind {
  path: string;
  headers: Record<string, string>;
  status: number;
  /** The exact body length, or (a page) the URL its HTML must hold. */
  body: number | string;
}

function mix(build: Build): Kind[] {
  const page = (url: string, id: string): Kind => {
    const bundle = build.bundles.find((candidate) => candidate.id === id)!;
    return { path: url, headers: {}, status: 200, body: bundle.url };
  };
  const kinds = [page('/', 'main.js'), page('/', 'main.css'), page('/admin', 'admin.js')];
  for (const bundle of build.bundles) {
    const file = build.files.get(bundle.file)!;
    const url = new URL(bundle.url, 'http://localhost').pathname;
    const twin = (encoded?: Buffer) => Math.min(encoded?.length ?? Infinity, file.body.length);
    kinds.push(
      { path: url, headers: { 'accept-encoding': 'br' }, status: 200, body: twin(file.br) },
      { path: url, headers: { 'accept-encoding': 'gzip' }, status: 200, body: twin(file.gzip) },
      { path: url, headers: {}, status: 200, body: file.body.length },
      { path: url, headers: { 'if-none-match': file.etag }, status: 304, body: 0 },
    );
  }
  return kinds;
}

/** `requests` requests over `connections` keep-alive sockets; the failures, by reason. */
async function load(port: number, kinds: Kind[], requests: number, connections: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const failures = new Map<string, number>();
  const fail = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);
  let sent = 0;
  const one = (kind: Kind) =>
    new Promise<void>((resolve) => {
      const options = { host: '127.0.0.1', port, path: kind.path, headers: kind.headers, agent };
      http
        .get(options, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            const expected =
              typeof kind.body === 'number'
                ? body.length === kind.body
                : body.toString().includes(kind.body);
            if (res.statusCode !== kind.status || !expected) fail(`${kind.path} ${res.statusCode}`);
            resolve();
          });
        })
        .on('error', (error) => {
          fail(error.message);
          resolve();
        });
    });
  const started = performance.now();
  const loop = async () => {
    while (sent < requests) await one(kinds[sent++ % kinds.length]);
  };
  await Promise.all(Array.from({ length: connections }, loop));
  agent.destroy();
  const failed = [...failures.values()].reduce((sum, count) => sum + count, 0);
  return { failed, failures, perSecond: requests / ((performance.now() - started) / 1000) };
}

async function main(): Promise<void> {
  const requests = argument('requests', 100_000);
  const connections = argument('connections', 50);
  const dir = scratch('load');
  const entry = compileLibrary(dir);
  fs.cpSync(path.join(REPO, 'test', 'fixtures', 'real-site'), path.join(dir, 'assets'), {
    recursive: true,
  });
  writeFile(path.join(dir, 'assets', 'admin', 'admin.js'), 'window.admin = true;\n');
  for (const [name, text] of Object.entries(VIEWS)) writeFile(path.join(dir, 'views', name), text);
  await registry(entry, dir).build(); // as `asset-registry build` at deploy

  const server = await startChild<{ requests: Kind[] }>(
    __filename,
    ['--server', entry, dir],
    [...process.execArgv, '--expose-gc'],
  );
  const memory = async () =>
    JSON.parse((await get(server.port, '/__memory')).body.toString()) as NodeJS.MemoryUsage;
  try {
    const warmUp = await load(server.port, server.requests, 20_000, connections);
    const before = await memory();
    const first = await load(server.port, server.requests, requests, connections);
    const after = await memory();
    const second = await load(server.port, server.requests, requests, connections);
    const afterSecond = await memory();
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    const growth = (value: number) => `${(((value - before.rss) / before.rss) * 100).toFixed(1)}%`;
    const row = (
      name: string,
      run: { perSecond: number; failed: number },
      m: NodeJS.MemoryUsage,
    ) => [
      name,
      Math.round(run.perSecond),
      run.failed,
      mb(m.rss),
      m === before ? '' : growth(m.rss),
      mb(m.heapUsed),
    ];
    const failed = warmUp.failed + first.failed + second.failed;
    writeResults('load', [
      `${requests.toLocaleString('en')} requests a run over ${connections} keep-alive connections;`,
      `${server.requests.length} kinds of request in turn (pages, and each bundle as br, gzip,`,
      'identity and 304), every answer checked for its status and body.',
      '',
      table(
        [
          'run',
          'requests/s',
          'failed',
          'server RSS after it',
          'RSS vs after the warm-up',
          'heap used',
        ],
        [
          row('warm-up (20,000)', warmUp, before),
          row('run 1', first, after),
          row('run 2', second, afterSecond),
        ],
      ),
      '',
      `Failures: ${failed ? JSON.stringify([...first.failures, ...second.failures]) : 'none'}.`,
    ]);
    if (failed || (after.rss - before.rss) / before.rss > TARGET_RSS_GROWTH) process.exitCode = 1;
  } finally {
    await stopChild(server);
  }
}

if (process.argv[2] === '--server') run(() => serve(process.argv[3], process.argv[4]));
else run(main);
