/**
 * bench/serve: requests per second for a real bundle (jQuery + lodash + the app script, built by
 * the library) served by `assets.middleware()`, against
 *
 *   - a hand-written Express middleware that sends the same prepared bytes with the same headers:
 *     the limit of anything inside Express;
 *   - express.static on the same outDir, its defaults: what an app would use otherwise (it has no
 *     precompressed twins, so it answers the brotli request with the whole file).
 *
 * Each server runs in its own child process; wrk -t1 -c50 loads one at a time, servers taking
 * turns, a 1 s warm-up each, then `rounds` timed runs per scenario (identity, brotli, 304).
 * Ratios are taken within a round, then their median and spread reported.
 *
 *   npm run bench:serve [-- --rounds=5] [--duration=3] [--connections=50]   (needs wrk)
 */
import type http from 'node:http';
import path from 'node:path';
import express from 'express';
import type { AssetOptions, ServedFile } from '../src';
import {
  APP,
  JQUERY,
  LODASH,
  NODE_MODULES,
  compileLibrary,
  loadLibrary,
  scratch,
  writeCorpus,
} from './common';
import { argument, check, run, spread, table, times, turns, writeResults } from './harness';
import { cpuTime, get, listen, startChild, stopChild, wrk } from './servers';
import type { Child } from './servers';

const SERVERS = ['ours', 'hand-written', 'express.static'] as const;
type Server = (typeof SERVERS)[number];
const SCENARIOS = ['identity', 'brotli', '304'] as const;
/** Response headers that ours and the hand-written handler must agree on. */
const COMPARED = [
  'content-type',
  'content-length',
  'content-encoding',
  'etag',
  'vary',
  'cache-control',
];

const options = (dir: string): AssetOptions => ({
  root: [path.join(dir, 'assets'), NODE_MODULES],
  outDir: path.join(dir, 'gen'),
  mode: 'production',
  logger: false,
  assets: [JQUERY, LODASH, { path: APP, deps: [JQUERY, LODASH] }],
});

/** In a child process: one server, until killed. */
async function serve(kind: Server, entry: string, dir: string): Promise<void> {
  const assets = loadLibrary(entry).defineAssets({ ...options(dir), requirePrebuilt: true });
  const build = await assets.build();
  const bundle = build.bundles.find((candidate) => candidate.kind === 'js')!;
  const app = express();
  if (kind === 'ours') app.use(assets.middleware());
  if (kind === 'express.static') app.use('/assets', express.static(options(dir).outDir));
  if (kind === 'hand-written') app.use(handWritten(bundle.url, build.files.get(bundle.file)!));
  listen(app, { url: bundle.url });
}

/** The bundle with ours' headers, prepared once: a handler at its best. */
function handWritten(url: string, file: ServedFile): express.RequestHandler {
  const variant = (encoding: 'identity' | 'br') => {
    const body = encoding === 'br' ? file.br! : file.body;
    const etag = encoding === 'br' ? `${file.etag.slice(0, -1)}-br"` : file.etag;
    const cache = { 'Cache-Control': 'public, max-age=31536000, immutable', ETag: etag };
    const notModified = { ...cache, Vary: 'Accept-Encoding' };
    const headers: http.OutgoingHttpHeaders = {
      ...notModified,
      'Content-Type': file.type,
      'Content-Length': body.length,
      ...(encoding === 'br' && { 'Content-Encoding': 'br' }),
    };
    return { body, etag, headers, notModified };
  };
  const identity = variant('identity');
  const br = variant('br');
  return function handWrittenBundle(req, res, next) {
    if (req.url !== url) return next();
    const chosen = req.headers['accept-encoding']?.includes('br') ? br : identity;
    if (req.headers['if-none-match'] === chosen.etag) {
      res.writeHead(304, chosen.notModified).end();
      return;
    }
    res.writeHead(200, chosen.headers).end(chosen.body);
  };
}

async function main(): Promise<void> {
  const rounds = argument('rounds', 5);
  const seconds = argument('duration', 3);
  const connections = argument('connections', 50);
  const dir = scratch('serve');
  const entry = compileLibrary(dir);
  writeCorpus(path.join(dir, 'assets'));
  const built = await loadLibrary(entry).defineAssets(options(dir)).build();
  const bundle = built.bundles.find((candidate) => candidate.kind === 'js')!;

  const servers = new Map<Server, Child & { url: string }>();
  for (const kind of SERVERS)
    servers.set(kind, await startChild(__filename, ['--child', kind, entry, dir]));
  const rates = new Map<string, number[]>();
  const cpus = new Map<string, number[]>();
  const record = (into: Map<string, number[]>, key: string, value: number) =>
    into.set(key, [...(into.get(key) ?? []), value]);
  try {
    for (const scenario of SCENARIOS) {
      const headers = new Map<Server, Record<string, string>>();
      for (const [kind, server] of servers) {
        const etag = String((await get(server.port, server.url)).headers.etag);
        const sent: Record<string, string> =
          scenario === 'identity'
            ? {}
            : scenario === 'brotli'
              ? { 'Accept-Encoding': 'br' }
              : { 'If-None-Match': etag };
        headers.set(kind, sent);
        const answer = await get(server.port, server.url, sent);
        check(answer.status === (scenario === '304' ? 304 : 200), `${kind} ${scenario}`);
        if (kind === 'hand-written') {
          const ours = await get(servers.get('ours')!.port, server.url, sent);
          const same = COMPARED.every((name) => ours.headers[name] === answer.headers[name]);
          check(same, `the hand-written handler's ${scenario} headers differ from ours`);
        }
        wrk(`http://127.0.0.1:${server.port}${server.url}`, sent, 1, connections);
      }
      for (let round = 0; round < rounds; round++) {
        for (const [kind, server] of turns([...servers], round)) {
          const url = `http://127.0.0.1:${server.port}${server.url}`;
          const cpuBefore = await cpuTime(server);
          const rate = wrk(url, headers.get(kind)!, seconds, connections);
          const cpu = (await cpuTime(server)) - cpuBefore;
          record(rates, `${kind} ${scenario}`, rate);
          record(cpus, `${kind} ${scenario}`, cpu / (rate * seconds));
          console.log(`${scenario} round ${round + 1}: ${kind} ${Math.round(rate)} req/s`);
        }
      }
    }
  } finally {
    for (const server of servers.values()) await stopChild(server);
  }

  const of = (kind: Server, scenario: string, from = rates) => from.get(`${kind} ${scenario}`)!;
  const ratio = (kind: Server, other: Server, scenario: string, from = rates) =>
    spread(
      of(kind, scenario, from).map((value, round) => value / of(other, scenario, from)[round]),
      times,
    );
  const microseconds = (value: number) => `${value.toFixed(0)} us`;
  const perSecond = (value: number) => String(Math.round(value));
  writeResults('serve', [
    `Bundle: ${bundle.file}, ${bundle.sizes.min} B, ${bundle.sizes.brotli} B brotli. wrk -t1`,
    `-c${connections} -d${seconds}s, ${rounds} rounds, servers taking turns; requests per second`,
    'and ratios as median (min-max) over the rounds.',
    '',
    table(
      ['request', 'ours', 'hand-written', 'express.static', 'ours / hand-written', 'ours / static'],
      SCENARIOS.map((scenario) => [
        scenario,
        ...SERVERS.map((kind) => spread(of(kind, scenario), perSecond)),
        ratio('ours', 'hand-written', scenario),
        ratio('ours', 'express.static', scenario),
      ]),
    ),
    '',
    'Server CPU time per request (less moved by other load on the machine than requests per',
    "second); the ratios are the other server's time over ours, so above 1.00x is ours cheaper:",
    '',
    table(
      ['request', 'ours', 'hand-written', 'express.static', 'hand-written / ours', 'static / ours'],
      SCENARIOS.map((scenario) => [
        scenario,
        ...SERVERS.map((kind) => spread(of(kind, scenario, cpus), microseconds)),
        ratio('hand-written', 'ours', scenario, cpus),
        ratio('express.static', 'ours', scenario, cpus),
      ]),
    ),
    '',
    'express.static answers the brotli request with the whole file, uncompressed.',
  ]);
}

if (process.argv[2] === '--child') {
  const [kind, entry, dir] = process.argv.slice(3);
  run(() => serve(kind as Server, entry, dir));
} else {
  run(main);
}
