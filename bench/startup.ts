/**
 * bench/startup: what a production server's start costs with and without a prebuilt outDir,
 * measured in fresh processes running the built package (dist/), as a deploy runs it:
 *
 * - cold start: an empty outDir; the server's build() compiles everything (no deploy build);
 * - `asset-registry build`: the CLI at deploy, on an empty outDir;
 * - prebuilt start: outDir made by the CLI; the server's build() checks the inputs against the
 *   manifest and loads the bundles, and must not load terser, less or clean-css.
 *
 * Corpus: jQuery and lodash from node_modules, a small app script, and a stylesheet importing
 * bootstrap 3's LESS sources (with its font url()s). Times are wall-clock milliseconds, median
 * of several runs; "in process" is from the process's time origin to build() resolved.
 *
 *   npx tsx bench/startup.ts          (or: npm run bench:startup)   writes bench/results-startup.md
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, ensureDist, writeRegistryModule } from '../test/dist';

const RUNS = { baseline: 5, cold: 3, cli: 3, prebuilt: 7 };
const RESULTS = path.join(__dirname, 'results-startup.md');

const SITE_LESS = '@import "bootstrap/less/bootstrap.less";\n.site { color: @brand-primary; }\n';
const APP_JS =
  '(function ($, _) {\n  $(function () { $("#n").text(_.sum([1, 2, 3])); });\n})(jQuery, _);\n';

/** The server's start, as test/fixtures/deploy/serve.js does it, with timings. */
const START = `
const t0 = performance.now();
const { assets } = require('./assets.js');
const t1 = performance.now();
assets.build().then((build) => {
  const t2 = performance.now();
  const files = Object.keys(require.cache);
  const packages = new Set(files.map((f) => /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(f)?.[1]).filter(Boolean));
  process.stdout.write(JSON.stringify({ boot: t0, load: t1 - t0, build: t2 - t1, total: t2,
    reused: build.reused, modules: files.length, packages: [...packages].sort(),
    rss: process.memoryUsage().rss }));
});
`;

interface Start {
  boot: number;
  load: number;
  build: number;
  total: number;
  reused: boolean;
  modules: number;
  packages: string[];
  rss: number;
  /** Spawn to exit, seen from this process. */
  wall: number;
}

function run(args: string[], cwd: string): { wall: number; stdout: string } {
  const started = performance.now();
  const child = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production', DEBUG: '' },
  });
  const wall = performance.now() - started;
  if (child.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${child.stderr}`);
  return { wall, stdout: child.stdout };
}

function start(dir: string): Start {
  const { wall, stdout } = run(['start.js'], dir);
  return { ...(JSON.parse(stdout) as Omit<Start, 'wall'>), wall };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function medianOf<T>(runs: T[], pick: (run: T) => number): string {
  return median(runs.map(pick)).toFixed(0);
}

async function main(): Promise<void> {
  await ensureDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-registry-startup-'));
  const outDir = path.join(dir, 'out');
  fs.mkdirSync(path.join(dir, 'assets', 'site'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'assets', 'site', 'app.js'), APP_JS);
  fs.writeFileSync(path.join(dir, 'assets', 'site', 'site.less'), SITE_LESS);
  const nodeModules = path.relative(dir, path.join(__dirname, '..', 'node_modules'));
  const jquery = 'jquery/dist/jquery.js';
  const lodash = 'lodash/lodash.js';
  writeRegistryModule(path.join(dir, 'assets.js'), {
    root: ['assets', nodeModules],
    outDir: 'out',
    assets: [jquery, lodash, { path: 'site/app.js', deps: [jquery, lodash] }, 'site/site.less'],
  });
  fs.writeFileSync(path.join(dir, 'start.js'), START);

  const baseline = Array.from({ length: RUNS.baseline }, () => run(['-e', '0'], dir).wall);
  const cold = Array.from({ length: RUNS.cold }, () => {
    fs.rmSync(outDir, { recursive: true, force: true });
    return start(dir);
  });
  const deploy = Array.from({ length: RUNS.cli }, () => {
    fs.rmSync(outDir, { recursive: true, force: true });
    return run([CLI, 'build', 'assets.js'], dir).wall;
  });
  const prebuilt = Array.from({ length: RUNS.prebuilt }, () => start(dir));
  if (cold.some((s) => s.reused) || prebuilt.some((s) => !s.reused)) {
    throw new Error('a cold start reused outDir, or a prebuilt start compiled');
  }
  const compilers = ['terser', 'less', 'clean-css'];
  const loadedCompilers = (s: Start) => compilers.filter((name) => s.packages.includes(name));
  const bundles = fs.readdirSync(outDir).filter((f) => /\.(js|css)$/.test(f));

  const row = (label: string, runs: Start[]) =>
    `| ${label} | ${medianOf(runs, (s) => s.wall)} | ${medianOf(runs, (s) => s.total)} | ` +
    `${medianOf(runs, (s) => s.load)} | ${medianOf(runs, (s) => s.build)} | ` +
    `${runs[0].modules} | ${(median(runs.map((s) => s.rss)) / 2 ** 20).toFixed(0)} | ` +
    `${loadedCompilers(runs[0]).join(', ') || 'none'} |`;
  const lines = [
    '# bench/startup: starting a server from a prebuilt manifest',
    '',
    `Generated by \`npx tsx bench/startup.ts\` on ${new Date().toISOString().slice(0, 10)}: ` +
      `${os.availableParallelism()} CPUs, node ${process.version}, load average ` +
      `${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (times on a busy machine are longer).`,
    '',
    `Corpus: ${jquery}, ${lodash}, site/app.js, site/site.less (bootstrap 3 LESS). ` +
      `Output: ${bundles.join(', ')}.`,
    '',
    'Milliseconds, median of the runs. *wall*: spawn to exit seen from outside; *in process*: ' +
      "from the process's time origin to build() resolved; *load*: require() of the registry " +
      'module and the library; *build()*: the call itself.',
    '',
    '| start | wall | in process | load | build() | modules loaded | RSS MiB | compilers loaded |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    row(`cold: empty outDir (${RUNS.cold} runs)`, cold),
    row(`prebuilt by \`asset-registry build\` (${RUNS.prebuilt} runs)`, prebuilt),
    '',
    `- \`node -e 0\` (node's own start): ${median(baseline).toFixed(0)} ms wall.`,
    `- \`asset-registry build\` on an empty outDir (the deploy step): ${median(deploy).toFixed(0)} ms wall.`,
    `- Prebuilt start is ${(median(cold.map((s) => s.wall)) / median(prebuilt.map((s) => s.wall))).toFixed(1)}x ` +
      `faster than a cold start (wall), ` +
      `${(median(cold.map((s) => s.build)) / median(prebuilt.map((s) => s.build))).toFixed(0)}x for build() alone.`,
    `- Packages loaded by a prebuilt start: ${prebuilt[0].packages.join(', ')}.`,
    `- Packages loaded by a cold start: ${cold[0].packages.join(', ')}.`,
    '',
  ];
  fs.writeFileSync(RESULTS, lines.join('\n'));
  console.log(lines.join('\n'));
  console.log(`written to ${path.relative(process.cwd(), RESULTS)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
