/**
 * bench/serve: how fast the middleware serves a real bundle (jQuery + lodash + a small app
 * script, built by the library into a temporary folder), side by side with
 *
 *   - express.static on outDir, default options (it has no precompressed variants: for the
 *     brotli run it sends what it has, the uncompressed file);
 *   - a hand-written Express middleware that sends a precomputed Buffer with the same headers
 *     through res.writeHead/res.end: the limit inside Express;
 *   - bare node:http sending the same Buffer: the limit of Node itself;
 *   - with --before-express, also the library's file server called before Express gets the
 *     request (`createFileServer(...)(req, res) || app(req, res)`), a proposal, not an API yet.
 *
 *   npx tsx bench/serve.ts [--duration=3] [--rounds=3] [--connections=50] [--before-express] [--keep]
 *   npx tsx bench/serve.ts --instructions [--instruction-rounds=3]   (needs valgrind, ~10 min)
 *
 * The servers run at once, each in its own child process on 127.0.0.1 (random ports), idle
 * but for the one being measured; wrk runs in another process (-t1 -c50), bounded: per scenario
 * (identity, brotli, 304) a 1 s warm-up of each server, then `rounds` timed runs of each, the
 * servers taking turns (every other round in reverse order). Ratios are taken within a round and
 * their median reported, as other processes on the machine move absolute figures a lot; the
 * server's CPU time per request (from process.cpuUsage in the child) is reported too. Nothing is
 * pinned: on a 2-core machine the server and wrk get about one core each. Needs wrk
 * (`apt-get install -y wrk`); about 2.5 minutes, 3 with --before-express.
 *
 * With --instructions, each server's instructions per request instead, counted by valgrind
 * (cachegrind, no cache simulation) for each scenario: requests per second on this shared
 * 2-core VM move by 2x between runs (the 304 row against the hand-written handler read 0.43-0.93x
 * over five runs), an instruction count by 1-3%. The server answers `few` and then `many`
 * requests (one keep-alive connection, one request at a time) in two processes; the difference
 * divided by `many - few` leaves out startup and warm-up. The kernel's work (copying a 159 kB
 * body through loopback) is not counted: this compares the servers' own work.
 */
import { fork, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { defineAssets } from '../src';
import type { AssetRegistry, ServedFile } from '../src';
import { createFileServer } from '../src/express/serve';
import { countedFork, haveValgrind, instructionsIn } from './valgrind';

const KINDS = [
  'ours',
  'express.static',
  'hand-written',
  'node:http',
  'ours before Express',
] as const;
type ServerKind = (typeof KINDS)[number];
/** The fifth, a proposal (the file server called ahead of Express), runs with --before-express. */
const SERVERS = KINDS.filter(
  (kind) => kind !== 'ours before Express' || process.argv.includes('--before-express'),
);
const SCENARIOS = ['identity', 'brotli', '304'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** The goals of issue 3's `bench/serve`. */
const TARGETS = { ofStatic: 4, ofHandWritten: 0.9 };

const REPO = path.resolve(__dirname, '..');
const NODE_MODULES = path.join(REPO, 'node_modules');
const JQUERY = 'jquery/dist/jquery.js';
const LODASH = 'lodash/lodash.js';
const APP = 'site/app.js';
const APP_JS = `/* site/app.js (bench corpus) */
(function ($, _) {
  'use strict';
  $(function () {
    var items = _.times(20, function (i) { return { id: i + 1, name: 'Item ' + (i + 1) }; });
    $('#list').html(_.map(items, function (item) {
      return '<li data-id="' + item.id + '">' + _.escape(item.name) + '</li>';
    }).join(''));
  });
})(jQuery, _);
`;

function registryIn(dir: string, requirePrebuilt: boolean): AssetRegistry {
  return defineAssets({
    root: [path.join(dir, 'src'), NODE_MODULES],
    outDir: path.join(dir, 'out'),
    mode: 'production',
    logger: false,
    requirePrebuilt,
    assets: [JQUERY, LODASH, { path: APP, deps: [JQUERY, LODASH] }],
  });
}

// The child process: one server, until killed.

interface Prepared {
  body: Buffer;
  etag: string;
  headers: OutgoingHttpHeaders;
  notModified: OutgoingHttpHeaders;
}

/** The headers src/serve.ts sends, made once, as a hand-written server at its best would. */
function prepare(file: ServedFile, encoding: 'identity' | 'br'): Prepared {
  const body = encoding === 'br' ? file.br! : file.body;
  const etag = encoding === 'br' ? `${file.etag.slice(0, -1)}-br"` : file.etag;
  const notModified = {
    'Cache-Control': 'public, max-age=31536000, immutable',
    ETag: etag,
    Vary: 'Accept-Encoding',
  };
  const headers: OutgoingHttpHeaders = {
    ...notModified,
    'Content-Type': file.type,
    'Content-Length': body.length,
  };
  if (encoding === 'br') headers['Content-Encoding'] = 'br';
  return { body, etag, headers, notModified };
}

function sendPrepared(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  identity: Prepared,
  br: Prepared,
): void {
  const accept = req.headers['accept-encoding'];
  const variant = accept !== undefined && accept.includes('br') ? br : identity;
  if (req.headers['if-none-match'] === variant.etag) {
    res.writeHead(304, variant.notModified);
    res.end();
    return;
  }
  res.writeHead(200, variant.headers);
  res.end(req.method === 'HEAD' ? undefined : variant.body);
}

async function serveInChild(kind: ServerKind, dir: string): Promise<void> {
  const assets = registryIn(dir, true);
  const build = await assets.build();
  const bundle = build.bundles.find((candidate) => candidate.id === 'main.js')!;
  const url = `/assets/${bundle.file}`;
  const file = build.files.get(bundle.file)!;
  const identity = prepare(file, 'identity');
  const br = prepare(file, 'br');

  let handler: http.RequestListener;
  if (kind === 'ours before Express') {
    const serve = createFileServer(() => build, assets.options.publicPath, true);
    const app = express().use(assets.middleware());
    handler = function assetsFirst(req, res) {
      if (!serve(req, res)) app(req, res);
    };
  } else if (kind === 'node:http') {
    handler = function bareNode(req, res) {
      if (req.url === url) return sendPrepared(req, res, identity, br);
      res.writeHead(404);
      res.end();
    };
  } else {
    const app = express();
    if (kind === 'ours') app.use(assets.middleware());
    if (kind === 'express.static') app.use('/assets', express.static(assets.options.outDir));
    if (kind === 'hand-written') {
      app.use(function handWritten(req, res, next) {
        if (req.url !== url) return next();
        sendPrepared(req, res, identity, br);
      });
    }
    handler = app;
  }
  const server = http.createServer(handler);
  // CPU time of this process, asked for around each run: unlike requests per second, it barely
  // moves when other processes load the machine.
  process.on('message', () => process.send!(process.cpuUsage()));
  // An orderly exit, for node --cpu-prof and for valgrind, which writes its counts at exit.
  process.on('SIGTERM', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => {
    process.send!({ port: (server.address() as AddressInfo).port, url });
  });
}

// The parent process: builds, starts each server in turn, runs wrk against it.

interface Started {
  child: ChildProcess;
  port: number;
  url: string;
}

function startServer(kind: ServerKind, dir: string, countedInto?: string): Promise<Started> {
  const child = fork(__filename, ['--child', kind, dir], {
    env: { ...process.env, NODE_ENV: 'production' },
    ...(countedInto && countedFork(countedInto)),
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number; url: string }) =>
      resolve({ child, ...message }),
    );
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function cpuMicroseconds({ child }: Started): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (usage: NodeJS.CpuUsage) => resolve(usage.user + usage.system));
    child.send('cpu');
  });
}

async function stopServer({ child }: Started): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
}

interface Probe {
  status: number;
  bytes: number;
  encoding: string;
  etag: string;
  headers: http.IncomingHttpHeaders;
}

function probe(
  port: number,
  url: string,
  headers: Record<string, string>,
  agent: http.Agent | false = false,
): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path: url, headers, agent };
    http
      .get(options, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            bytes,
            encoding: String(res.headers['content-encoding'] ?? 'identity'),
            etag: String(res.headers.etag),
            headers: res.headers,
          }),
        );
      })
      .on('error', reject);
  });
}

interface WrkRun {
  requests: number;
  requestsPerSecond: number;
  transferPerSecond: string;
  latencyAverage: string;
  bad: number;
}

function wrk(target: string, headers: Record<string, string>, seconds: number, c: number): WrkRun {
  const args = ['-t1', `-c${c}`, `-d${seconds}s`, '--timeout', '5s'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  const run = spawnSync('wrk', [...args, target], { encoding: 'utf8', timeout: 60_000 });
  const out = run.stdout ?? '';
  const requests = /(\d+) requests in/.exec(out);
  const perSecond = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (run.status !== 0 || !requests || !perSecond)
    throw new Error(`wrk failed: ${out}${run.stderr}`);
  const errors = /Socket errors: (.*)/.exec(out)?.[1];
  if (errors) console.warn(`  wrk socket errors: ${errors}`);
  return {
    requests: Number(requests[1]),
    requestsPerSecond: Number(perSecond[1]),
    transferPerSecond: /Transfer\/sec:\s+(\S+)/.exec(out)?.[1] ?? '?',
    latencyAverage: /Latency\s+(\S+)/.exec(out)?.[1] ?? '?',
    bad: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** The request headers of a scenario against one server (a 304 needs that server's ETag). */
async function headersFor(scenario: Scenario, server: Started): Promise<Record<string, string>> {
  if (scenario === 'identity') return {};
  if (scenario === 'brotli') return { 'Accept-Encoding': 'br' };
  const { etag } = await probe(server.port, server.url, {});
  return { 'If-None-Match': etag };
}

/** Response headers that ours and the hand-written servers must agree on. */
const COMPARED = ['content-type', 'content-length', 'content-encoding', 'etag', 'vary'];
const compared = (headers: http.IncomingHttpHeaders) =>
  JSON.stringify(COMPARED.map((name) => headers[name] ?? null).concat(headers['cache-control']!));

function argument(name: string, fallback: number): number {
  const found = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
}

function machine(): string[] {
  const wrkVersion = /wrk \S+/.exec(spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout)?.[0];
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- version of what is installed
  const expressVersion = (require('express/package.json') as { version: string }).version;
  return [
    `cores (nproc): ${os.availableParallelism()}, CPU: ${os.cpus()[0]?.model ?? '?'}`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `node ${process.version}, express ${expressVersion}, ${wrkVersion ?? 'wrk ?'}`,
  ];
}

const loadAverage = () =>
  os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');

/** One timed run of one server on one scenario. */
interface Measured extends WrkRun {
  /** CPU time the server process spent per request, in microseconds. */
  cpuPerRequest: number;
}

async function measure(
  server: Started,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
): Promise<Measured> {
  const target = `http://127.0.0.1:${server.port}${server.url}`;
  const before = await cpuMicroseconds(server);
  const run = wrk(target, headers, seconds, connections);
  const cpu = (await cpuMicroseconds(server)) - before;
  return { ...run, cpuPerRequest: cpu / run.requests };
}

/** Instructions one server executes per request of `scenario`, counted by valgrind. */
async function instructionsPerRequest(
  kind: ServerKind,
  scenario: Scenario,
  dir: string,
  round: number,
): Promise<number> {
  const [few, many] = [500, 3000];
  const counts = await Promise.all(
    [few, many].map(async (requests) => {
      const out = path.join(
        dir,
        `cachegrind-${kind.replace(/\W/g, '_')}-${scenario}-${requests}-${round}.out`,
      );
      const server = await startServer(kind, dir, out);
      const headers = await headersFor(scenario, server);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < requests; i++) {
        const answer = await probe(server.port, server.url, headers, agent);
        if (answer.status !== (scenario === '304' ? 304 : 200)) {
          throw new Error(`${kind} answered ${scenario} with ${answer.status}`);
        }
      }
      agent.destroy();
      await stopServer(server);
      return instructionsIn(out);
    }),
  );
  return (counts[1] - counts[0]) / (many - few);
}

/** --instructions: each server's instructions per request, rounds taking turns. */
async function countInstructions(dir: string): Promise<void> {
  if (!haveValgrind()) {
    console.error('valgrind is not installed: apt-get update && apt-get install -y valgrind');
    process.exit(1);
  }
  const rounds = argument('instruction-rounds', 3);
  const kinds: ServerKind[] = ['ours', 'hand-written', 'express.static', 'node:http'];
  const counts = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const scenario of SCENARIOS) {
      for (const kind of round % 2 ? [...kinds].reverse() : kinds) {
        const count = await instructionsPerRequest(kind, scenario, dir, round);
        counts.set(`${kind} ${scenario}`, [...(counts.get(`${kind} ${scenario}`) ?? []), count]);
        console.log(
          `  round ${round + 1} ${kind.padEnd(14)} ${scenario.padEnd(8)} ${Math.round(count)}`,
        );
      }
    }
  }
  const of = (kind: ServerKind, scenario: Scenario) => counts.get(`${kind} ${scenario}`)!;
  const ratio = (kind: ServerKind, other: ServerKind, scenario: Scenario) =>
    median(of(other, scenario).map((count, round) => count / of(kind, scenario)[round]));
  const verdict = (value: number, target: number) =>
    `${value.toFixed(2)}x ${value >= target ? 'PASS' : 'MISS'}`;
  console.log(
    `\nInstructions per request (valgrind; median of ${rounds} rounds). A server's speed relative` +
      ` to another is the inverse ratio of their counts: hand-written/ours is ours' speed as a` +
      ` share of the hand-written handler's.`,
  );
  console.log(
    `| scenario | ${kinds.join(' | ')} | hand-written/ours (target >= 0.9x) | static/ours (target >= 4x) | static/hand-written (the limit) |`,
  );
  console.log(`|---|${kinds.map(() => '---:|').join('')}---:|---:|---:|`);
  for (const scenario of SCENARIOS) {
    const cells = kinds.map((kind) => Math.round(median(of(kind, scenario))).toLocaleString('en'));
    console.log(
      `| ${scenario} | ${cells.join(' | ')} | ${verdict(ratio('ours', 'hand-written', scenario), TARGETS.ofHandWritten)} | ` +
        `${verdict(ratio('ours', 'express.static', scenario), TARGETS.ofStatic)} | ` +
        `${ratio('hand-written', 'express.static', scenario).toFixed(2)}x |`,
    );
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--instructions')) {
    const started = performance.now();
    console.log(machine().join('\n'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-registry-bench-serve-'));
    try {
      fs.mkdirSync(path.join(dir, 'src', 'site'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'src', APP), APP_JS);
      await registryIn(dir, false).build();
      await countInstructions(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log(`whole bench: ${Math.round((performance.now() - started) / 1000)} s`);
    return;
  }
  if (spawnSync('wrk', ['-v']).error) {
    console.error('wrk is not installed: apt-get update && apt-get install -y wrk');
    process.exit(1);
  }
  const seconds = argument('duration', 3);
  const rounds = argument('rounds', 3);
  const connections = argument('connections', 50);
  const started = performance.now();
  console.log(machine().join('\n'));
  console.log(
    `wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds taking turns between servers, ` +
      'after a 1 s warm-up of each; server and wrk unpinned',
  );
  console.log(`load average at start: ${loadAverage()}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-registry-bench-serve-'));
  const servers = new Map<ServerKind, Started>();
  try {
    fs.mkdirSync(path.join(dir, 'src', 'site'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', APP), APP_JS);
    const buildStart = performance.now();
    const build = await registryIn(dir, false).build();
    const bundle = build.bundles.find((candidate) => candidate.id === 'main.js')!;
    console.log(
      `built ${bundle.file} in ${Math.round(performance.now() - buildStart)} ms: ` +
        `${bundle.sizes.min} B, ${bundle.sizes.gzip} B gzip, ${bundle.sizes.brotli} B brotli`,
    );
    for (const kind of SERVERS) servers.set(kind, await startServer(kind, dir));

    const runs = new Map<string, Measured[]>();
    const answers = new Map<string, Probe>();
    for (const scenario of SCENARIOS) {
      const headers = new Map<ServerKind, Record<string, string>>();
      for (const [kind, server] of servers) {
        headers.set(kind, await headersFor(scenario, server));
        const answer = await probe(server.port, server.url, headers.get(kind)!);
        if (answer.status !== (scenario === '304' ? 304 : 200)) {
          throw new Error(`${kind} answered ${scenario} with ${answer.status}`);
        }
        answers.set(`${kind} ${scenario}`, answer);
        const same =
          compared(answer.headers) === compared(answers.get(`ours ${scenario}`)!.headers);
        if (kind !== 'ours' && kind !== 'express.static' && !same) {
          throw new Error(`${kind} sends other headers than ours for ${scenario}`);
        }
        wrk(`http://127.0.0.1:${server.port}${server.url}`, headers.get(kind)!, 1, connections);
      }
      for (let round = 0; round < rounds; round++) {
        // Every other round in reverse order, so that no server always runs first.
        const order = round % 2 ? [...servers].reverse() : [...servers];
        for (const [kind, server] of order) {
          const run = await measure(server, headers.get(kind)!, seconds, connections);
          const key = `${kind} ${scenario}`;
          runs.set(key, [...(runs.get(key) ?? []), run]);
          const answer = answers.get(key)!;
          console.log(
            `  ${kind.padEnd(14)} ${scenario.padEnd(8)} ${String(Math.round(run.requestsPerSecond)).padStart(6)} req/s` +
              ` ${run.cpuPerRequest.toFixed(1).padStart(6)} us CPU/req` +
              `  ${answer.status} ${answer.encoding} ${answer.bytes} B  ${run.transferPerSecond}/s` +
              `  latency ${run.latencyAverage}${run.bad ? `  ${run.bad} BAD RESPONSES` : ''}`,
          );
        }
      }
    }
    console.log(`load average at end: ${loadAverage()}`);
    report(runs, answers);
    console.log(`whole bench: ${Math.round((performance.now() - started) / 1000)} s`);
  } finally {
    for (const server of servers.values()) await stopServer(server);
    if (process.argv.includes('--keep')) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * Ratios are taken within each round (the servers ran back to back, under about the same load
 * from the rest of the machine), then the median over the rounds; requests per second shown are
 * the medians. CPU time per request of the server process is the figure least moved by load.
 */
function report(runs: Map<string, Measured[]>, answers: Map<string, Probe>): void {
  const of = (kind: ServerKind, scenario: Scenario) => runs.get(`${kind} ${scenario}`)!;
  const rate = (kind: ServerKind, scenario: Scenario) =>
    median(of(kind, scenario).map((run) => run.requestsPerSecond));
  const cpu = (kind: ServerKind, scenario: Scenario) =>
    median(of(kind, scenario).map((run) => run.cpuPerRequest));
  const ratio = (kind: ServerKind, other: ServerKind, scenario: Scenario) =>
    median(
      of(kind, scenario).map(
        (run, round) => run.requestsPerSecond / of(other, scenario)[round].requestsPerSecond,
      ),
    );
  const verdict = (value: number, target: number) =>
    `${value.toFixed(2)}x ${value >= target ? 'PASS' : 'MISS'}`;

  console.log(`\nRequests per second (median of the rounds); in brackets what was sent`);
  const early = SERVERS.includes('ours before Express');
  const heads = ['ours/static', 'ours/hand-written', ...(early ? ['before Express/static'] : [])];
  console.log(`| scenario | ${SERVERS.join(' | ')} | ${heads.join(' | ')} |`);
  console.log(`|---|${SERVERS.map(() => '---:|').join('')}${heads.map(() => '---:|').join('')}`);
  for (const scenario of SCENARIOS) {
    const cells = SERVERS.map((kind) => {
      const answer = answers.get(`${kind} ${scenario}`)!;
      const what = answer.status === 304 ? '304' : `${answer.encoding} ${answer.bytes} B`;
      return `${Math.round(rate(kind, scenario))} (${what})`;
    });
    const ratios = [
      verdict(ratio('ours', 'express.static', scenario), TARGETS.ofStatic),
      verdict(ratio('ours', 'hand-written', scenario), TARGETS.ofHandWritten),
    ];
    if (early) {
      ratios.push(
        verdict(ratio('ours before Express', 'express.static', scenario), TARGETS.ofStatic),
      );
    }
    console.log(`| ${scenario} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }

  console.log(`\nServer CPU time per request, microseconds (median of the rounds)`);
  console.log(`| scenario | ${SERVERS.join(' | ')} | hand-written/ours | static/ours |`);
  console.log(`|---|${SERVERS.map(() => '---:|').join('')}---:|---:|`);
  for (const scenario of SCENARIOS) {
    const cells = SERVERS.map((kind) => cpu(kind, scenario).toFixed(1));
    const ofHand = cpu('hand-written', scenario) / cpu('ours', scenario);
    const ofStatic = cpu('express.static', scenario) / cpu('ours', scenario);
    console.log(
      `| ${scenario} | ${cells.join(' | ')} | ${ofHand.toFixed(2)}x | ${ofStatic.toFixed(2)}x |`,
    );
  }
}

if (process.argv[2] === '--child') {
  serveInChild(process.argv[3] as ServerKind, process.argv[4]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
