/**
 * bench/request: what declaring needs and printing tags cost per request.
 *
 *   npx tsx bench/request.ts [--iterations=400000] [--duration=3] [--rounds=5] [--source]
 *                            [--instructions]   (also counts instructions with valgrind: ~8 min)
 *                            [--instruction-rounds=3]
 *   npx tsx bench/request.ts --library=bench/out/patched/index.js   (a compiled variant)
 *
 * The library is measured as it ships: src/ is first compiled by the project's tsc into
 * bench/out/<temporary name> and loaded from there. (Loaded through tsx instead, with --source,
 * every closure the middleware makes per request goes through esbuild's `__name` helper, which
 * compiled code does not have.)
 *
 * 1. `page.require(5 names)` on a registry of 200 assets (180 scripts, 20 stylesheets, two
 *    bundle groups, each script depending on one to three others), in a tight loop timed with
 *    process.hrtime.bigint and process.cpuUsage: `iterations` calls a round, median of 5 rounds.
 *    A fresh PageAssets per call, as each request has its own; its construction is timed alone
 *    too. Then the whole middleware setup of a request (PageAssets, locals helpers, send/render
 *    wrappers, the AsyncLocalStorage scope) plus `res.requireAssets(5 names)`, with stand-in
 *    req/res objects, and the template with require + fill() against the template alone.
 * 2. A ~5 kB page rendered by an Express 5 app (a template function as view engine), once with
 *    the middleware (the handler requires the 5 names, the template prints
 *    `assetTags('css')`/`assetTags('js')`, the middleware fills them in and adds `Link`), once
 *    by the same app without it, printing the same tags as fixed strings, and once by that app
 *    behind a middleware that only calls next() (the floor of any middleware): all send the
 *    same HTML. Each app in its own child process, loaded by wrk (-t1 -c10, another process; an
 *    in-process client when wrk is missing), `rounds` runs of each, taking turns. The server's
 *    CPU time per request and requests per second.
 * 3. With --instructions, the servers' instructions per request counted by valgrind: CPU time on
 *    this shared machine varies 2-3x between runs, an instruction count much less (V8 still
 *    times some of its work by the clock: a count moves by 1-3% between processes). Each round
 *    counts the three apps; the verdict is on the median of the rounds.
 */
import { fork, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import type { Request, Response } from 'express';
import type * as LibraryModule from '../src';
import { countedFork, haveValgrind, instructionsIn } from './valgrind';
import type { AssetEntry, AssetRegistry } from '../src';

type Library = typeof LibraryModule;

const TARGETS = { requireNs: 500, renderRatio: 1.05 };
const NAMES = ['site/w012.js', 'site/w047.js', 'site/w090.js', 'admin/a150.js', 'site/w118.js'];
const REPO = path.resolve(__dirname, '..');

function argument(name: string, fallback: number): number {
  const found = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
}

/** Compiles src/ into `folder` (type errors elsewhere in the tree do not stop tsc emitting). */
function compileLibrary(folder: string): string {
  const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const config = path.join(REPO, 'tsconfig.build.json');
  const args = [tsc, '-p', config, '--outDir', folder, '--declaration', 'false'];
  spawnSync(process.execPath, [...args, '--sourceMap', 'false'], { stdio: 'ignore' });
  const entry = path.join(folder, 'index.js');
  if (!fs.existsSync(entry)) throw new Error(`tsc did not emit ${entry}`);
  return entry;
}

function loadLibrary(entry: string): Library {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled library
  return entry === 'source' ? (require('../src') as Library) : (require(entry) as Library);
}

/** 200 small assets: stylesheets s00..s19, scripts w000..w139 and admin a140..a179. */
function registryFiles(): { entries: AssetEntry[]; files: Record<string, string> } {
  const entries: AssetEntry[] = [];
  const files: Record<string, string> = {};
  const style = (i: number) => `site/s${String(i % 20).padStart(2, '0')}.css`;
  const script = (i: number) =>
    i < 140 ? `site/w${String(i).padStart(3, '0')}.js` : `admin/a${String(i).padStart(3, '0')}.js`;
  for (let i = 0; i < 20; i++) {
    files[style(i)] = `.s${i} { margin: ${i}px; color: #${String(i).padStart(3, '0')}; }\n`;
    entries.push(style(i));
  }
  for (let i = 0; i < 180; i++) {
    const deps = [style(i)];
    if (i % 4 !== 0) deps.push(script(i - 1)); // chains of up to four scripts
    if (i >= 20 && i % 3 === 0) deps.push(script(i % 20)); // a shared base script
    files[script(i)] = `window.w${i} = function (x) { return x * ${i} + ${i % 7}; };\n`;
    entries.push({ path: script(i), deps, bundle: i < 140 ? 'main' : 'admin' });
  }
  return { entries, files };
}

function registryIn(library: Library, dir: string, requirePrebuilt: boolean): AssetRegistry {
  return library.defineAssets({
    root: path.join(dir, 'src'),
    outDir: path.join(dir, 'out'),
    mode: 'production',
    logger: false,
    requirePrebuilt,
    assets: registryFiles().entries,
  });
}

interface Timing {
  /** Wall-clock nanoseconds per call (process.hrtime.bigint), median of 5 rounds. */
  wall: number;
  /** CPU nanoseconds per call of this process (process.cpuUsage), median of 5 rounds. */
  cpu: number;
}

/**
 * Times `iterations` calls of `body`, 5 rounds after a warm-up. Wall-clock time is what was
 * asked for; CPU time is given beside it because on a loaded machine the scheduler's time
 * slices inflate wall-clock figures, not CPU ones.
 */
function nsPerOp(iterations: number, body: () => void): Timing {
  for (let i = 0; i < Math.min(iterations, 100_000); i++) body();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < 5; round++) {
    const startCpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) body();
    wall.push(Number(process.hrtime.bigint() - start) / iterations);
    const used = process.cpuUsage(startCpu);
    cpu.push(((used.user + used.system) * 1000) / iterations);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[2];
  return { wall: median(wall), cpu: median(cpu) };
}

/** The page: ~5 kB of markup around the tags, as a template function would make it. */
function pageHtml(locals: { title: string; items: string[]; css: string; js: string }): string {
  const rows = locals.items
    .map(
      (item, i) =>
        `<li class="item item-${i}"><a href="/items/${i}">${item}</a> <span class="badge">${i * 7}</span></li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${locals.title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
${locals.css}
</head><body><header class="site-header"><h1>${locals.title}</h1></header>
<main><ul class="catalogue">
${rows}
</ul></main><footer class="site-footer">Served by a bench</footer>
${locals.js}
</body></html>`;
}

const ITEMS = Array.from({ length: 40 }, (_, i) => `Catalogue entry number ${i + 1}`);

/**
 * The three apps the page is served by: `with` the middleware (the handler requires, the
 * template prints the tags), `without` it (the same tags as fixed strings), and `noop`: without
 * it but with one middleware that only calls next(), the least any middleware costs.
 */
type Variant = 'with' | 'without' | 'noop';
const VARIANTS: readonly Variant[] = ['with', 'without', 'noop'];

/** An Express app whose view engine renders {@link pageHtml}; `views` is an empty folder. */
function appFor(
  assets: AssetRegistry | undefined,
  fixedTags: { css: string; js: string },
  views: string,
  noop = false,
) {
  fs.writeFileSync(path.join(views, 'page.page'), '');
  const app = express();
  app.set('views', views);
  app.set('view engine', 'page');
  app.set('view cache', true);
  app.engine('page', (_file, options, callback) => {
    const locals = options as Express.Locals & { title: string; items: string[] };
    const css = assets ? locals.assetTags('css') : fixedTags.css;
    const js = assets ? locals.assetTags('js') : fixedTags.js;
    callback(null, pageHtml({ title: locals.title, items: locals.items, css, js }));
  });
  if (assets) app.use(assets.middleware());
  if (noop) app.use((_req, _res, next) => next());
  app.get('/page', (_req: Request, res: Response) => {
    if (assets) res.requireAssets(...NAMES);
    res.render('page', { title: 'Catalogue', items: ITEMS });
  });
  return app;
}

/**
 * The child process: serves the page with the middleware or without it, until killed. Each in
 * its own process, so that the AsyncLocalStorage the middleware enables (async hooks, for the
 * whole process) is not charged to the app without it.
 */
async function serveInChild(variant: Variant, dir: string, entry: string): Promise<void> {
  const withTags = variant === 'with';
  const assets = registryIn(loadLibrary(entry), dir, true);
  await assets.build();
  const page = assets.page();
  page.require(...NAMES);
  const views = path.join(dir, `views-${variant}`);
  fs.mkdirSync(views, { recursive: true });
  const fixedTags = { css: page.tags('css'), js: page.tags('js') };
  const app = appFor(withTags ? assets : undefined, fixedTags, views, variant === 'noop');
  // Ends the process, for a count of instructions (valgrind writes it at exit).
  app.get('/quit', (_req, res) => {
    res.end();
    setImmediate(() => process.exit(0));
  });
  const server = http.createServer(app);
  process.on('message', () => process.send!(process.cpuUsage()));
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

interface Child {
  process: ChildProcess;
  port: number;
}

function startChild(
  variant: Variant,
  dir: string,
  entry: string,
  countedInto?: string,
): Promise<Child> {
  const child = fork(__filename, ['--child', variant, dir, entry], {
    env: { ...process.env, NODE_ENV: 'production' },
    ...(countedInto && countedFork(countedInto)),
  });
  return new Promise((resolve, reject) => {
    child.once('message', (port: number) => resolve({ process: child, port }));
    child.once('exit', (code) => reject(new Error(`page server exited with ${code}`)));
  });
}

/**
 * Instructions the server executes per page, counted by valgrind (cachegrind, no cache
 * simulation): the same on a busy machine as on an idle one, where CPU time on this shared
 * machine varies by 2-3x between runs. The server runs `few` and then `many` requests in two
 * processes; the difference divided by `many - few` leaves out startup and the JIT's warm-up.
 */
async function instructionsPerRequest(variant: Variant, dir: string, entry: string, round = 0) {
  const [few, many] = [1000, 6000];
  // The two processes side by side: a count does not depend on what else runs.
  const counts = await Promise.all(
    [few, many].map(async (requests) => {
      const out = path.join(dir, `cachegrind-${variant}-${requests}-${round}.out`);
      const child = await startChild(variant, dir, entry, out);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < requests; i++) await get(child.port, agent);
      const exited = new Promise((resolve) => child.process.once('exit', resolve));
      await get(child.port, agent, '/quit').catch(() => undefined);
      await exited;
      agent.destroy();
      return instructionsIn(out);
    }),
  );
  return (counts[1] - counts[0]) / (many - few);
}

function cpuMicroseconds(child: Child): Promise<number> {
  return new Promise((resolve) => {
    child.process.once('message', (usage: NodeJS.CpuUsage) => resolve(usage.user + usage.system));
    child.process.send('cpu');
  });
}

function get(
  port: number,
  agent: http.Agent,
  where = '/page',
): Promise<{ text: string; link?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: where, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${res.statusCode}: ${text}`));
          else resolve({ text, link: res.headers.link as string | undefined });
        });
      })
      .on('error', reject);
  });
}

const haveWrk = () => !spawnSync('wrk', ['-v']).error;

/** 10 requests in flight for `seconds`, by wrk when installed, else by this process. */
async function load(port: number, seconds: number): Promise<{ requests: number; rate: number }> {
  if (haveWrk()) {
    const args = ['-t1', '-c10', `-d${seconds}s`, `http://127.0.0.1:${port}/page`];
    const out = spawnSync('wrk', args, { encoding: 'utf8', timeout: 60_000 }).stdout ?? '';
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    if (!requests || /Non-2xx/.test(out)) throw new Error(`wrk failed: ${out}`);
    return { requests, rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]) };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const start = performance.now();
  let requests = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (performance.now() - start < seconds * 1000) {
        await get(port, agent);
        requests++;
      }
    }),
  );
  agent.destroy();
  return { requests, rate: requests / ((performance.now() - start) / 1000) };
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

async function main(): Promise<void> {
  const iterations = argument('iterations', 400_000);
  const seconds = argument('duration', 3);
  const rounds = argument('rounds', 5);
  const instructionRounds = argument('instruction-rounds', 3);
  const started = performance.now();
  console.log(
    `cores (nproc): ${os.availableParallelism()}, CPU: ${os.cpus()[0]?.model ?? '?'}, ` +
      `node ${process.version}, load average at start ${os.loadavg()[0].toFixed(2)}`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-registry-bench-request-'));
  const children: Child[] = [];
  const cleanup = [dir];
  try {
    // Inside the repository (bench/out is git-ignored), so the compiled code finds node_modules.
    const compiled = path.join(REPO, 'bench', 'out', path.basename(dir));
    cleanup.push(compiled);
    const given = process.argv.find((arg) => arg.startsWith('--library='))?.split('=')[1];
    let entry = given ? path.resolve(given) : 'source';
    if (!given && !process.argv.includes('--source')) entry = compileLibrary(compiled);
    console.log(`library: ${given ?? (entry === 'source' ? 'src/ through tsx' : 'src/ by tsc')}`);
    const library = loadLibrary(entry);
    for (const [name, text] of Object.entries(registryFiles().files)) {
      fs.mkdirSync(path.dirname(path.join(dir, 'src', name)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'src', name), text);
    }
    const assets = registryIn(library, dir, false);
    const buildStart = performance.now();
    await assets.build();
    const closure = new Set(NAMES.flatMap((name) => [...assets.registry.closure(name)]));
    console.log(
      `registry: ${assets.registry.order.length} assets, ${assets.current.bundles.length} ` +
        `bundles, built in ${Math.round(performance.now() - buildStart)} ms; ` +
        `the 5 names expand to ${closure.size} assets`,
    );

    // 1. The requirement path, in this process.
    let sink = 0;
    const fresh = nsPerOp(iterations, () => {
      const page = assets.page();
      page.require(...NAMES);
      sink += page.needs.size;
    });
    const construct = nsPerOp(iterations, () => {
      sink += assets.page().needs.size;
    });
    const again = assets.page();
    again.require(...NAMES);
    const repeated = nsPerOp(iterations, () => again.require(...NAMES));
    const probePage = assets.page();
    probePage.require(...NAMES);
    const fixedTags = { css: probePage.tags('css'), js: probePage.tags('js') };
    // The template with require + fill, against the template printing fixed strings.
    const renderFill = nsPerOp(iterations / 20, () => {
      const page = assets.page();
      page.require(...NAMES);
      const marks = { css: page.placeholder('css'), js: page.placeholder('js') };
      sink += page.fill(pageHtml({ title: 'Catalogue', items: ITEMS, ...marks })).length;
    });
    const renderPlain = nsPerOp(iterations / 20, () => {
      sink += pageHtml({ title: 'Catalogue', items: ITEMS, ...fixedTags }).length;
    });
    // The middleware's per-request setup, on a stand-in response whose prototype, like
    // Express's, owns `send` and `render` (the middleware extends it once).
    const middleware = assets.middleware();
    const req = { url: '/page', method: 'GET', headers: {} } as unknown as Request;
    const responseProto = { send() {}, render() {} };
    const setup = nsPerOp(iterations / 20, () => {
      const res = Object.assign(Object.create(responseProto), { locals: {} }) as Response;
      middleware(req, res, () => {});
      res.requireAssets(...NAMES);
      sink += res.locals.pageAssets.needs.size;
    });
    if (sink === 0) throw new Error('nothing was required');

    const row = (what: string, timing: Timing, note = '') =>
      console.log(`| ${what} | ${timing.wall.toFixed(0)} | ${timing.cpu.toFixed(0)} |${note}`);
    const difference = { wall: fresh.wall - construct.wall, cpu: fresh.cpu - construct.cpu };
    const target = (timing: Timing) =>
      ` wall ${verdict(timing.wall < TARGETS.requireNs)}, CPU ${verdict(timing.cpu < TARGETS.requireNs)} |`;
    console.log(
      `\n| timed in a tight loop, median of 5 rounds | ns wall | ns CPU | target < ${TARGETS.requireNs} ns |`,
    );
    console.log('|---|---:|---:|---|');
    row(`new PageAssets + require(5 names), ${iterations} calls a round`, fresh, target(fresh));
    row('new PageAssets alone', construct, ' |');
    row('require(5 names): the difference', difference, target(difference));
    row('require(5 names) again, all already needed', repeated, ' |');
    row(
      `middleware setup + res.requireAssets(5 names), ${iterations / 20} calls a round`,
      setup,
      ' |',
    );
    row(`template + require + fill(), ${iterations / 20} calls a round`, renderFill, ' |');
    row('the same template printing fixed tags', renderPlain, ' |');

    // 2. The page through Express and HTTP: with the middleware, without, and without but
    // behind a middleware that does nothing (what any middleware costs: the floor).
    for (const variant of VARIANTS) children.push(await startChild(variant, dir, entry));
    const agent = new http.Agent({ keepAlive: true });
    const pages = await Promise.all(children.map((child) => get(child.port, agent)));
    agent.destroy();
    if (pages.some((page) => page.text !== pages[0].text)) {
      throw new Error('the apps send different pages');
    }
    console.log(
      `\npage: ${Buffer.byteLength(pages[0].text)} B, the same from the three apps; ` +
        `Link header with the middleware: ${pages[0].link ? 'yes' : 'no'}; client: ` +
        (haveWrk() ? 'wrk -t1 -c10' : 'in-process, 10 in flight'),
    );
    for (const child of children) await load(child.port, 1); // warm-up
    const runs: { rate: number; cpu: number }[][] = VARIANTS.map(() => []);
    for (let round = 0; round < rounds; round++) {
      const order = VARIANTS.map((_, i) => i);
      for (const i of round % 2 ? order.reverse() : order) {
        const before = await cpuMicroseconds(children[i]);
        const { requests, rate } = await load(children[i].port, seconds);
        runs[i].push({ rate, cpu: ((await cpuMicroseconds(children[i])) - before) / requests });
      }
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1];
    const cpu = (i: number) => median(runs[i].map((run) => run.cpu));
    const rate = (i: number) => median(runs[i].map((run) => run.rate));
    const rateRatio = (i: number) =>
      median(runs[1].map((run, round) => run.rate / runs[i][round].rate));
    const pass = (ratio: number) => verdict(ratio < TARGETS.renderRatio);
    console.log(
      `\n| the page, ${rounds} rounds taking turns (medians) | with tags | without | ` +
        'with / without | no-op middleware / without |',
    );
    console.log('|---|---:|---:|---:|---:|');
    console.log(
      `| server CPU per request, us | ${cpu(0).toFixed(1)} | ${cpu(1).toFixed(1)} | ` +
        `${(cpu(0) / cpu(1)).toFixed(3)}x ${pass(cpu(0) / cpu(1))} | ${(cpu(2) / cpu(1)).toFixed(3)}x |`,
    );
    console.log(
      `| requests per second (ratio: without/with, per round) | ${rate(0).toFixed(0)} | ` +
        `${rate(1).toFixed(0)} | ${rateRatio(0).toFixed(3)}x ${pass(rateRatio(0))} | ` +
        `${rateRatio(2).toFixed(3)}x |`,
    );

    // 3. The same, counted in instructions: what a noisy machine cannot blur.
    if (process.argv.includes('--instructions')) {
      if (!haveValgrind())
        throw new Error('--instructions needs valgrind (apt-get install valgrind)');
      console.log(
        `\n| instructions per request (valgrind) | with tags | without | with / without | ` +
          'no-op middleware / without |',
      );
      console.log('|---|---:|---:|---:|---:|');
      const ratios: number[] = [];
      for (let round = 0; round < instructionRounds; round++) {
        // One app at a time, its two processes side by side: one per CPU here. (All six at once
        // spread the counts more: V8 times its garbage collections by the clock.)
        const counts: number[] = [];
        for (const variant of VARIANTS) {
          counts.push(await instructionsPerRequest(variant, dir, entry, round));
        }
        const [withTags, without, noop] = counts;
        ratios.push(withTags / without);
        console.log(
          `| round ${round + 1} | ${withTags.toFixed(0)} | ${without.toFixed(0)} | ` +
            `${(withTags / without).toFixed(3)}x | ${(noop / without).toFixed(3)}x |`,
        );
      }
      const median = ratios.sort((a, b) => a - b)[ratios.length >> 1];
      console.log(
        `| median of ${ratios.length} rounds | | | ${median.toFixed(3)}x ${pass(median)} | |`,
      );
    }
    console.log(
      `\nload average at end ${os.loadavg()[0].toFixed(2)}; ` +
        `whole bench ${Math.round((performance.now() - started) / 1000)} s`,
    );
  } finally {
    for (const child of children) {
      const exited = new Promise((resolve) => child.process.once('exit', resolve));
      child.process.kill();
      await exited;
    }
    if (process.argv.includes('--keep')) console.log(`kept ${dir}`);
    else for (const folder of cleanup) fs.rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [variant, dir, entry] = process.argv.slice(3);
  serveInChild(variant as Variant, dir, entry).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
