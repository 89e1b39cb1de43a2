/**
 * bench/startup: what a production server's start costs the library, from a build made at
 * deploy: `require` of the library (compiled by tsc, as it ships) until a prebuilt `build()`
 * resolves, against `require('express')` measured in the same run. Each in a fresh node
 * process, the two taking turns. Also lists the build-only and development-only packages such a
 * start loads (it should load none).
 *
 *   npm run bench:startup [-- --runs=9]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { AssetOptions } from '../src';
import { CORPUS, REPO, compileLibrary, loadLibrary, scratch, writeCorpus } from './common';
import { argument, check, ms, run, spread, table, times, turns, writeResults } from './harness';

/** Packages a production start has no use for. */
const NOT_IN_PRODUCTION = ['acorn', 'terser', 'less', 'clean-css', 'chokidar', '@jridgewell'];

/** Prints how long `work` took from the process's start of it, and the packages loaded. */
const script = (work: string) => `
const t0 = performance.now();
Promise.resolve(${work}).then(() => {
  const ms = performance.now() - t0;
  const packages = new Set(Object.keys(require.cache)
    .map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file)?.[1]).filter(Boolean));
  process.stdout.write(JSON.stringify({ ms, packages: [...packages] }));
});`;

interface Start {
  ms: number;
  packages: string[];
}

function start(code: string, env: NodeJS.ProcessEnv = {}): Start {
  const child = spawnSync(process.execPath, ['-e', script(code)], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, ...env, NODE_ENV: 'production', DEBUG: '' },
  });
  check(child.status === 0, `a start failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as Start;
}

run(async function main() {
  const runs = argument('runs', 9);
  const dir = scratch('startup');
  const entry = compileLibrary(dir);
  const options: AssetOptions = {
    root: writeCorpus(path.join(dir, 'assets')),
    outDir: path.join(dir, 'gen'),
    mode: 'production',
    logger: false,
    requirePrebuilt: true,
    assets: CORPUS,
  };
  // The deploy step, as `asset-registry build` does it.
  await loadLibrary(entry)
    .defineAssets({ ...options, requirePrebuilt: false })
    .build();

  const kinds = {
    express: () => start(`require('express')`),
    library: () =>
      start(
        `require(${JSON.stringify(entry)}).defineAssets(JSON.parse(process.env.BENCH_OPTIONS)).build()`,
        { BENCH_OPTIONS: JSON.stringify(options) },
      ),
    // The same, then the Express adapter an app mounts next (it loads on first use).
    mounted: () =>
      start(
        `(async () => { const a = require(${JSON.stringify(entry)}).defineAssets(JSON.parse(process.env.BENCH_OPTIONS)); await a.build(); a.middleware(); })()`,
        { BENCH_OPTIONS: JSON.stringify(options) },
      ),
  };
  const taken = { express: [] as Start[], library: [] as Start[], mounted: [] as Start[] };
  for (let round = 0; round < runs; round++) {
    for (const kind of turns(['express', 'library', 'mounted'] as const, round))
      taken[kind].push(kinds[kind]());
  }
  const [express, library, mounted] = [taken.express, taken.library, taken.mounted].map((list) =>
    list.map((s) => s.ms),
  );
  const unwanted = taken.library[0].packages.filter((name) =>
    NOT_IN_PRODUCTION.some((prefix) => name.startsWith(prefix)),
  );
  writeResults('startup', [
    `${runs} fresh processes each, taking turns; median (min-max). Corpus: jQuery, lodash, an`,
    'app script and bootstrap 3 LESS, built before (as `asset-registry build` at deploy).',
    '',
    table(
      ['start', 'time', 'ratio to require(express)', 'goal'],
      [
        ["`require('express')`", spread(express, ms), '1.00x', 'the baseline'],
        [
          'the library: `require` + prebuilt `build()`',
          spread(library, ms),
          spread(
            library.map((value, i) => value / express[i]),
            times,
          ),
          '<= 0.50x',
        ],
        [
          'the same, then `assets.middleware()`',
          spread(mounted, ms),
          spread(
            mounted.map((value, i) => value / express[i]),
            times,
          ),
          '(what an app pays before it listens)',
        ],
      ],
    ),
    '',
    `Build-only or development-only packages loaded by the prebuilt start: ${unwanted.join(', ') || 'none'}.`,
    `All packages it loaded: ${taken.library[0].packages.sort().join(', ') || 'none'}; with the middleware: ${taken.mounted[0].packages.sort().join(', ')}.`,
  ]);
});
