/**
 * bench/build: what a build costs and what it produces, on a real corpus (jQuery, lodash and
 * bootstrap 3's LESS sources from node_modules, plus a small app script, a site stylesheet and a
 * LESS partial written to a temporary folder), side by side with the compilers called directly
 * on the same files and with esbuild's minifier, the physical floor of a one-file change
 * (recompressing its bundle), where the rest of a rebuild's time goes, and a PASS/MISS verdict
 * for each target of issue 2. Results and their discussion: bench/README.md.
 *
 *   npx tsx bench/build.ts            (or: npm run bench:build)
 *   npx tsx bench/build.ts --keep     (keep the temporary folder and print where it is)
 *
 * Timings are wall-clock milliseconds in this process (compilers and JIT warm after the first
 * cold build), median of several runs; a fresh-process cold and warm start are measured too.
 * Byte sizes are compressed exactly as the library compresses (brotli 11 text mode, gzip 9).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import CleanCSS from 'clean-css';
import createDebug from 'debug';
import * as esbuild from 'esbuild';
import less from 'less';
import * as terser from 'terser';
import { concatenate } from '../src/build/bundle';
import { ownLess } from '../src/compile/less';
import { rewriteUrls } from '../src/compile/urls';
import { compressWithDictionary } from '../src/build/dictionaries';
import type { SourceMap } from '../src/compile/types';
import { defineAssets } from '../src';
import type { AssetOptions, Build } from '../src';
import { compress, isCompressible } from '../src/build/output';

const RUNS = { cold: 5, warm: 7, change: 5, tool: 3 };

/** The goals of issue 2's `bench/build`. */
const TARGETS = {
  warmOfCold: 0.05,
  changeOfOwnCompile: 1.5,
  cssOfBestCleanCss: 1.02,
};

/** Exactly the options of src/compile/javascript.ts. */
const TERSER_OPTIONS: terser.MinifyOptions = {
  compress: { passes: 2 },
  mangle: true,
  format: { comments: 'some' },
  sourceMap: { includeSources: true },
};

const REPO = path.resolve(__dirname, '..');
const NODE_MODULES = path.join(REPO, 'node_modules');

const APP_JS = `/* site/app.js: the site's own script (bench corpus) */
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
`;

const SITE_LESS = `// site/site.less: bootstrap from node_modules plus the site's own rules (bench corpus)
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
`;

const THEME_LESS = `// site/theme.less: a partial imported by site.less (bench corpus)
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
`;

const JQUERY = 'jquery/dist/jquery.js';
const LODASH = 'lodash/lodash.js';
const APP = 'site/app.js';
const SITE = 'site/site.less';
const THEME = 'site/theme.less';

type Stats = { runs: number[]; median: number; min: number; max: number };

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const started = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-registry-bench-'));
  // Removed on exit, also when a check fails half-way.
  if (!keep) process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const appRoot = path.join(dir, 'assets');
  const outDir = path.join(dir, 'out');
  const roots = [appRoot, NODE_MODULES];
  writeFile(path.join(appRoot, APP), APP_JS);
  writeFile(path.join(appRoot, SITE), SITE_LESS);
  writeFile(path.join(appRoot, THEME), THEME_LESS);
  const fileOf = (name: string) =>
    roots.map((root) => path.join(root, name)).find((file) => fs.existsSync(file))!;

  const options: AssetOptions = {
    root: roots,
    outDir,
    mode: 'production',
    logger: false,
    assets: [JQUERY, LODASH, { path: APP, deps: [JQUERY, LODASH] }, SITE],
  };

  // What each build compiled, from the library's own debug log ("compiling <name>").
  const compiledLog: string[] = [];
  createDebug.enable('asset-registry:build');
  createDebug.log = (...args: unknown[]) => {
    const match = /compiling (\S+)/.exec(format(...args));
    if (match) compiledLog.push(match[1]);
  };
  const timedBuild = async () => {
    compiledLog.length = 0;
    const t = performance.now();
    const build = await defineAssets(options).build();
    return { ms: performance.now() - t, build, compiled: [...compiledLog] };
  };
  const bundleOf = (build: Build, kind: 'js' | 'css') => {
    const bundle = build.bundles.find((candidate) => candidate.kind === kind)!;
    return { bundle, body: build.files.get(bundle.file)!.body };
  };

  printMachine();

  // 1. Cold builds: empty outDir.
  const cold: number[] = [];
  let coldBuild: Build | undefined;
  for (let i = 0; i < RUNS.cold; i++) {
    fs.rmSync(outDir, { recursive: true, force: true });
    const run = await timedBuild();
    expect(!run.build.reused && run.compiled.length === 4, `cold build compiled ${run.compiled}`);
    cold.push(run.ms);
    coldBuild = run.build;
  }
  const coldJs = bundleOf(coldBuild!, 'js');
  const coldCss = bundleOf(coldBuild!, 'css');

  // 2. The compilers alone, on the same files, with the library's options.
  const own = {
    jquery: await timeRuns(RUNS.tool, () => minifyJs(JQUERY, fileOf(JQUERY))),
    lodash: await timeRuns(RUNS.tool, () => minifyJs(LODASH, fileOf(LODASH))),
    app: await timeRuns(RUNS.warm, () => minifyJs(APP, fileOf(APP))),
  };
  const lessRuns: number[] = [];
  const cleanRuns: number[] = [];
  let lessOutput: LessOutput | undefined;
  // The library's less instance (src/compile/less.ts) taking turns with stock less.
  const libraryLessRuns: number[] = [];
  for (let i = 0; i < RUNS.tool; i++) {
    lessOutput = await compileLess(fileOf(SITE), roots);
    lessRuns.push(lessOutput.lessMs);
    cleanRuns.push(lessOutput.cleanMs);
    libraryLessRuns.push((await compileLess(fileOf(SITE), roots, ownLess())).lessMs);
  }
  const compressRuns = {
    js: await timeRuns(RUNS.warm, () => compress(coldJs.body)),
    css: await timeRuns(RUNS.warm, () => compress(coldCss.body)),
    both: await timeRuns(RUNS.warm, () =>
      Promise.all([compress(coldJs.body), compress(coldCss.body)]),
    ),
  };

  // 3. Bytes: our bundles against esbuild and clean-css run directly on the same input.
  const jsMembers = coldJs.bundle.members.map((member) =>
    member.asset === APP ? APP_JS : fs.readFileSync(fileOf(member.asset), 'utf8'),
  );
  const jsRows: SizeRow[] = [];
  jsRows.push(
    await sizeRow('ours: library bundle (terser, per file)', stripMapComment(coldJs.body)),
  );
  const esbuildJs = await esbuild.transform(jsMembers.join('\n;\n'), {
    minify: true,
    loader: 'js',
  });
  jsRows.push(await sizeRow('esbuild transform minify (concatenated)', esbuildJs.code));
  // terser called directly on each member, joined as the library joins them; the first row is
  // the library's own options (it must give the library's bytes), the others are experiments.
  const terserVariants: [string, terser.MinifyOptions][] = [
    ['terser passes:2, library options, direct', TERSER_OPTIONS],
    ['terser passes:1 (experiment)', { ...TERSER_OPTIONS, compress: { passes: 1 } }],
    ['terser passes:2 ecma:2020 (experiment)', { ...TERSER_OPTIONS, ecma: 2020 }],
  ];
  const variantMs: Record<string, Stats> = {};
  for (const [label, variant] of terserVariants) {
    let code = '';
    variantMs[label] = await timeRuns(RUNS.tool, async () => {
      const parts: string[] = [];
      for (const source of jsMembers) {
        parts.push(((await terser.minify(source, variant)).code ?? '').replace(/;?\s*$/, ';'));
      }
      code = parts.join('\n');
    });
    jsRows.push(await sizeRow(label, code));
  }

  const cssInput = lessOutput!.rewritten;
  const cssRows: SizeRow[] = [];
  cssRows.push(
    await sizeRow('ours: library bundle (clean-css level 2)', stripMapComment(coldCss.body)),
  );
  const level1 = cleanCss(cssInput, 1);
  const level2 = cleanCss(cssInput, 2);
  cssRows.push(await sizeRow('clean-css level 1, direct', level1));
  cssRows.push(await sizeRow('clean-css level 2, direct', level2));
  const esbuildCss = await esbuild.transform(cssInput, { minify: true, loader: 'css' });
  cssRows.push(await sizeRow('esbuild css minify (extra)', esbuildCss.code));
  cssRows.push(
    await sizeRow(
      'clean-css level 2 + restructureRules (experiment)',
      cleanCss(cssInput, { 2: { restructureRules: true } }),
    ),
  );
  cssRows.push(await sizeRow('less output, not minified', cssInput));

  // 4. Warm startups: nothing changed, a new registry instance reuses outDir.
  const warm: number[] = [];
  for (let i = 0; i < RUNS.warm; i++) {
    const run = await timedBuild();
    expect(run.build.reused && run.compiled.length === 0, 'warm startup did not reuse the build');
    warm.push(run.ms);
  }

  // 5. One file changed: a statement appended to the app script. Interleaved with the same
  // file's own compile and the recompression of the new bundle, so both see the same machine.
  const jsChange: number[] = [];
  const jsDcz: { js: number; css: number }[] = [];
  const jsOwn: number[] = [];
  const jsFloorCompress: number[] = [];
  let appSource = APP_JS;
  for (let i = 0; i < RUNS.change; i++) {
    appSource += `window.benchEdits = ${i + 1};\n`;
    fs.writeFileSync(fileOf(APP), appSource);
    const run = await timedBuild();
    expect(
      !run.build.reused && run.compiled.join() === APP,
      `app.js change recompiled [${run.compiled}]`,
    );
    jsChange.push(run.ms);
    jsOwn.push((await timeRuns(1, () => minifyJs(APP, fileOf(APP)))).median);
    const body = bundleOf(run.build, 'js').body;
    jsFloorCompress.push((await timeRuns(1, () => compress(body))).median);
    jsDcz.push(dictionaryBodies(run.build));
  }

  // 6. One LESS partial changed: a rule appended to theme.less, imported by site.less.
  const lessChange: number[] = [];
  const lessDcz: { js: number; css: number }[] = [];
  const lessOwn: number[] = [];
  // The same compile with the library's less instance (src/compile/less.ts: source-map positions
  // without less's quadratic line splitting): what a build itself spends compiling.
  const lessLibrary: number[] = [];
  const lessFloorCompress: number[] = [];
  let themeSource = THEME_LESS;
  let previousCss = coldCss.bundle.file;
  for (let i = 0; i < RUNS.change; i++) {
    themeSource += `.bench-edit-${i} { color: #${String(i + 1).repeat(3)}; }\n`;
    fs.writeFileSync(fileOf(THEME), themeSource);
    const run = await timedBuild();
    const css = bundleOf(run.build, 'css');
    expect(
      !run.build.reused && run.compiled.join() === SITE && css.bundle.file !== previousCss,
      `theme.less change recompiled [${run.compiled}], css bundle ${css.bundle.file}`,
    );
    previousCss = css.bundle.file;
    lessChange.push(run.ms);
    const direct = await compileLess(fileOf(SITE), roots);
    lessOwn.push(direct.lessMs + direct.cleanMs);
    const library = await compileLess(fileOf(SITE), roots, ownLess());
    lessLibrary.push(library.lessMs + library.cleanMs);
    lessFloorCompress.push((await timeRuns(1, () => compress(css.body))).median);
    lessDcz.push(dictionaryBodies(run.build));
  }

  // 7. Where a one-file change spends its time besides the compile and the floor.
  const lastBuild = (await timedBuild()).build;
  const copies = Object.entries(lastBuild.manifest.copies).map(([name, from]) => ({
    name,
    data: fs.readFileSync(fileOf(from)),
  }));
  const copiesCompress = await timeRuns(RUNS.warm, async () => {
    for (const copy of copies) if (isCompressible(copy.name)) await compress(copy.data);
  });
  const cacheDir = path.join(outDir, '.cache');
  const cacheRead = await timeRuns(RUNS.warm, async () => {
    // As src/cache.ts reads an entry: its JSON line parsed, the sources' contents after it kept
    // as bytes (inputs.json, the stat record, is one JSON line).
    for (const entry of fs.readdirSync(cacheDir)) {
      const data = await fs.promises.readFile(path.join(cacheDir, entry));
      const end = data.indexOf(10);
      JSON.parse(data.toString('utf8', 0, end === -1 ? data.length : end));
    }
  });
  const jsCompiled = await Promise.all(
    [JQUERY, LODASH, APP].map(async (name) => ({ name, ...(await minifyJs(name, fileOf(name))) })),
  );
  const concatJs = await timeRuns(RUNS.warm, async () => concatenate('js', jsCompiled, 'main.js'));
  // Compression Dictionary Transport bodies (issue 9): each bundle against each kept older version.
  const lastJs = bundleOf(lastBuild, 'js').body;
  const lastCss = bundleOf(lastBuild, 'css').body;
  const dcz = {
    js: await timeRuns(RUNS.tool, async () => compressWithDictionary(lastJs, coldJs.body)),
    css: await timeRuns(RUNS.tool, async () => compressWithDictionary(lastCss, coldCss.body)),
  };
  const brotliLevels = await Promise.all(
    [5, 9, 11].map(async (quality) => {
      const t = performance.now();
      const bytes = zlib.brotliCompressSync(coldJs.body, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: coldJs.body.length,
        },
      }).length;
      return { quality, ms: performance.now() - t, bytes };
    }),
  );

  // 8. Fresh processes: what a server's startup really pays (modules, JIT, and build()).
  const freshCold = fresh(options, outDir, true);
  const freshWarm = [fresh(options, outDir, false), fresh(options, outDir, false)];
  freshWarm.push(fresh(options, outDir, false));

  // Report.
  const s = {
    cold: stats(cold),
    warm: stats(warm),
    jsChange: stats(jsChange),
    jsOwn: stats(jsOwn),
    jsFloorCompress: stats(jsFloorCompress),
    lessChange: stats(lessChange),
    lessOwn: stats(lessOwn),
    lessLibrary: stats(lessLibrary),
    lessFloorCompress: stats(lessFloorCompress),
  };
  const jsFloor = s.jsOwn.median + s.jsFloorCompress.median;
  const lessFloor = s.lessOwn.median + s.lessFloorCompress.median;

  section('Startup through the library (ms, in-process; median of runs)');
  table(
    ['case', 'runs', 'median', 'min', 'max', 'recompiled'],
    [
      ['cold build (empty outDir)', RUNS.cold, ...mmm(s.cold), 'all 4 assets'],
      ['warm startup (nothing changed)', RUNS.warm, ...mmm(s.warm), 'none (reused)'],
      ['one file changed: site/app.js', RUNS.change, ...mmm(s.jsChange), APP],
      ['one partial changed: site/theme.less', RUNS.change, ...mmm(s.lessChange), SITE],
      ['fresh process: cold build()', 1, ms(freshCold.buildMs), '', '', freshCold.loaded],
      [
        'fresh process: warm build()',
        freshWarm.length,
        ms(median(freshWarm.map((run) => run.buildMs))),
        ms(Math.min(...freshWarm.map((run) => run.buildMs))),
        ms(Math.max(...freshWarm.map((run) => run.buildMs))),
        `reused; compilers loaded: ${freshWarm[0].loaded || 'none'}`,
      ],
    ],
  );
  console.log(
    `  (fresh process: require('src/index') through tsx took ${ms(freshWarm[0].requireMs)} ms, not counted)`,
  );

  section('The compilers alone, same files, same options (ms, median)');
  table(
    ['tool', 'file', 'runs', 'median', 'min', 'max'],
    [
      ['terser.minify', JQUERY, RUNS.tool, ...mmm(own.jquery)],
      ['terser.minify', LODASH, RUNS.tool, ...mmm(own.lodash)],
      ['terser.minify', `${APP} (interleaved)`, RUNS.change, ...mmm(s.jsOwn)],
      ['less.render', SITE, RUNS.tool, ...mmm(stats(lessRuns))],
      ["the library's less.render", SITE, RUNS.tool, ...mmm(stats(libraryLessRuns))],
      ['clean-css level 2', `${SITE} output`, RUNS.tool, ...mmm(stats(cleanRuns))],
      ['less + clean-css', `${SITE} (interleaved)`, RUNS.change, ...mmm(s.lessOwn)],
      [
        "the library's less + clean-css",
        `${SITE} (interleaved)`,
        RUNS.change,
        ...mmm(s.lessLibrary),
      ],
      [
        'compress: br 11 + gzip 9',
        `JS bundle ${kb(coldJs.body.length)}`,
        RUNS.warm,
        ...mmm(compressRuns.js),
      ],
      [
        'compress: br 11 + gzip 9',
        `CSS bundle ${kb(coldCss.body.length)}`,
        RUNS.warm,
        ...mmm(compressRuns.css),
      ],
      [
        'compress: both bundles',
        'in parallel, as build() does',
        RUNS.warm,
        ...mmm(compressRuns.both),
      ],
      [
        'compress: url() copies',
        `${copies.filter((c) => isCompressible(c.name)).length} font files, in turn`,
        RUNS.warm,
        ...mmm(copiesCompress),
      ],
      [
        'read + parse .cache/*.json',
        `${fs.readdirSync(cacheDir).length} entries`,
        RUNS.warm,
        ...mmm(cacheRead),
      ],
      ['concatenate + flatten maps', 'JS bundle', RUNS.warm, ...mmm(concatJs)],
      ['dcz body (zstd 19)', 'JS bundle vs an older one', RUNS.tool, ...mmm(dcz.js)],
      ['dcz body (zstd 19)', 'CSS bundle vs an older one', RUNS.tool, ...mmm(dcz.css)],
    ],
  );
  const toolSum =
    own.jquery.median +
    own.lodash.median +
    own.app.median +
    median(lessRuns) +
    median(cleanRuns) +
    compressRuns.both.median;
  console.log(
    `  sum of compilers + compression for a cold build: ${ms(toolSum)} ms; cold build median ${ms(s.cold.median)} ms (${ratio(s.cold.median / toolSum)})`,
  );
  // Since bundles whose inputs did not change are kept whole, a change costs its own bundle
  // only: the compile, the compile-cache reads of the bundle's other members and the join (JS),
  // and the recompression, with the dcz bodies made on the main thread while brotli runs.
  for (const [label, change, compile, changed, bodies, others] of [
    ['app.js', s.jsChange, s.jsOwn, compressRuns.js, jsDcz, cacheRead.median + concatJs.median],
    ['theme.less', s.lessChange, s.lessOwn, compressRuns.css, lessDcz, 0],
  ] as const) {
    const made = {
      js: median(bodies.map((count) => count.js)),
      css: median(bodies.map((count) => count.css)),
    };
    const parts: Record<string, number> = {
      compile: compile.median,
      'own bundle recompressed': changed.median,
    };
    if (others) parts['cache read + join of the other members'] = others;
    const sum = Object.values(parts).reduce((a, b) => a + b, 0);
    const dczMs = made.js * dcz.js.median + made.css * dcz.css.median;
    console.log(
      `  ${label} change by parts: ${Object.entries(parts)
        .map(([name, value]) => `${name} ${ms(value)}`)
        .join(' + ')} = ${ms(sum)} ms; measured ${ms(change.median)} ms ` +
        `(dcz bodies, ${made.js} JS + ${made.css} CSS: ${ms(dczMs)} ms, during the recompression)`,
    );
  }
  console.log(
    `  brotli quality of the JS bundle (sync): ${brotliLevels.map((b) => `q${b.quality} ${ms(b.ms)} ms ${b.bytes} B`).join('; ')}`,
  );

  section('JS bundle bytes (same members, compressed as the library does)');
  sizeTable(jsRows, jsRows[1], 'vs esbuild');
  console.log(
    `  library bundle minus its sourceMappingURL line == terser direct, library options: ${
      jsRows[0].raw === jsRows[2].raw && jsRows[0].brotli === jsRows[2].brotli
        ? 'same bytes'
        : 'DIFFERENT'
    }`,
  );
  console.log(
    `  terser time for the three files (median of ${RUNS.tool}): ` +
      terserVariants
        .map(([label]) => `${label.split(/,| \(/)[0]} ${ms(variantMs[label].median)} ms`)
        .join('; '),
  );

  section('CSS bundle bytes (the less output with urls rewritten, as the library minifies it)');
  const bestCleanCss = [cssRows[1], cssRows[2]].reduce((a, b) => (b.brotli < a.brotli ? b : a));
  sizeTable(cssRows, bestCleanCss, 'vs best clean-css');
  console.log(
    `  library bundle minus its sourceMappingURL line == clean-css level 2 direct: ${
      stripMapComment(coldCss.body) === level2 ? 'identical bytes' : 'DIFFERENT'
    }`,
  );

  section('Targets (issue 2)');
  const verdicts: [string, string, string, string, boolean][] = [];
  const jsBytes = jsRows[0].brotli;
  const cssBytes = cssRows[0].brotli;
  verdicts.push([
    'warm <= 5% of cold',
    `${ms(s.warm.median)} / ${ms(s.cold.median)} ms`,
    pct(s.warm.median / s.cold.median),
    '<= 5%',
    s.warm.median <= TARGETS.warmOfCold * s.cold.median,
  ]);
  verdicts.push([
    'JS one-file change <= 1.5x its compile',
    `${ms(s.jsChange.median)} vs ${ms(s.jsOwn.median)} ms`,
    ratio(s.jsChange.median / s.jsOwn.median),
    '<= 1.50x',
    s.jsChange.median <= TARGETS.changeOfOwnCompile * s.jsOwn.median,
  ]);
  verdicts.push([
    '  floor: compile + recompress JS bundle',
    `${ms(jsFloor)} ms (${ms(s.jsOwn.median)} + ${ms(s.jsFloorCompress.median)})`,
    `${ratio(jsFloor / s.jsOwn.median)} of compile; change = ${ratio(s.jsChange.median / jsFloor)} of floor`,
    '(context)',
    jsFloor <= TARGETS.changeOfOwnCompile * s.jsOwn.median,
  ]);
  verdicts.push([
    'LESS partial change <= 1.5x its compile',
    `${ms(s.lessChange.median)} vs ${ms(s.lessOwn.median)} ms`,
    ratio(s.lessChange.median / s.lessOwn.median),
    '<= 1.50x',
    s.lessChange.median <= TARGETS.changeOfOwnCompile * s.lessOwn.median,
  ]);
  verdicts.push([
    '  floor: compile + recompress CSS bundle',
    `${ms(lessFloor)} ms (${ms(s.lessOwn.median)} + ${ms(s.lessFloorCompress.median)})`,
    `${ratio(lessFloor / s.lessOwn.median)} of compile; change = ${ratio(s.lessChange.median / lessFloor)} of floor`,
    '(context)',
    lessFloor <= TARGETS.changeOfOwnCompile * s.lessOwn.median,
  ]);
  verdicts.push([
    "  the change vs the library's own compile",
    `${ms(s.lessChange.median)} vs ${ms(s.lessLibrary.median)} ms`,
    `${ratio(s.lessChange.median / s.lessLibrary.median)} (its less has no quadratic map step)`,
    '(context)',
    s.lessChange.median <= TARGETS.changeOfOwnCompile * s.lessLibrary.median,
  ]);
  verdicts.push([
    'JS brotli bytes <= esbuild',
    `${jsBytes} vs ${jsRows[1].brotli} B`,
    ratio(jsBytes / jsRows[1].brotli),
    '<= 1.00x',
    jsBytes <= jsRows[1].brotli,
  ]);
  verdicts.push([
    'CSS brotli within 2% of best clean-css',
    `${cssBytes} vs ${bestCleanCss.brotli} B`,
    ratio(cssBytes / bestCleanCss.brotli),
    '<= 1.02x',
    cssBytes <= TARGETS.cssOfBestCleanCss * bestCleanCss.brotli,
  ]);
  table(
    ['target', 'measured', 'ratio', 'goal', 'verdict'],
    verdicts.map(([name, measured, r, goal, pass]) => [
      name,
      measured,
      r,
      goal,
      goal === '(context)' ? (pass ? 'reachable' : 'above goal') : pass ? 'PASS' : 'MISS',
    ]),
  );

  console.log(
    `\nbench finished in ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
      `load average at end: ${loadAverage()} (other processes on the machine add noise)`,
  );
  if (keep) console.log(`corpus and outDir kept in ${dir}`);
}

// ---- the compilers, called the way the library calls them -----------------------------------

async function minifyJs(name: string, file: string): Promise<{ code: string; map: SourceMap }> {
  const result = await terser.minify({ [name]: fs.readFileSync(file, 'utf8') }, TERSER_OPTIONS);
  return { code: result.code ?? '', map: JSON.parse(String(result.map)) as SourceMap };
}

interface LessOutput {
  lessMs: number;
  cleanMs: number;
  /** The CSS that the library hands to clean-css: less output with url()s rewritten. */
  rewritten: string;
}

/** less.render, then (untimed) the library's url rewrite, then clean-css level 2 with maps. */
async function compileLess(
  file: string,
  roots: string[],
  compiler: typeof less = less,
): Promise<LessOutput> {
  // As src/compile/stylesheet.ts: no sourceMappingURL annotation at the end of less's output.
  const sourceMap: Less.SourceMapOption & { disableSourcemapAnnotation: boolean } = {
    outputSourceFiles: true,
    disableSourcemapAnnotation: true,
  };
  const t0 = performance.now();
  const output = await compiler.render(fs.readFileSync(file, 'utf8'), {
    filename: file,
    paths: [...roots],
    rewriteUrls: 'all',
    javascriptEnabled: false,
    sourceMap,
  });
  const lessMs = performance.now() - t0;
  const lessMap = JSON.parse(output.map) as SourceMap;
  lessMap.sources = lessMap.sources.map((source) => path.resolve(path.dirname(file), source));
  const rewritten = await rewriteUrls(output.css, {
    asset: 'site/site.less',
    baseDir: path.dirname(file),
    roots,
    urlPrefix: '',
    read: (other) => fs.promises.readFile(other).catch(() => undefined),
    origin: () => ({ file: 'site/site.less' }),
  });
  const t1 = performance.now();
  const minified = new CleanCSS({
    level: 2,
    inline: false,
    rebase: false,
    sourceMap: true,
    sourceMapInlineSources: true,
  }).minify({ [file]: { styles: rewritten.css, sourceMap: JSON.stringify(lessMap) } });
  const cleanMs = performance.now() - t1;
  expect(minified.errors.length === 0, `clean-css: ${minified.errors.join('; ')}`);
  return { lessMs, cleanMs, rewritten: rewritten.css };
}

function cleanCss(css: string, level: CleanCSS.OptionsOutput['level']): string {
  const result = new CleanCSS({ level, inline: false, rebase: false }).minify(css);
  expect(result.errors.length === 0, `clean-css: ${result.errors.join('; ')}`);
  return result.styles;
}

/** How many dcz bodies (one per bundle and kept older version) a build's manifest lists. */
function dictionaryBodies(build: Build): { js: number; css: number } {
  const count = (kind: 'js' | 'css') =>
    build.bundles
      .filter((bundle) => bundle.kind === kind)
      .reduce((total, bundle) => total + (bundle.dictionaries?.length ?? 0), 0);
  return { js: count('js'), css: count('css') };
}

// ---- fresh processes --------------------------------------------------------------------------

interface FreshRun {
  requireMs: number;
  buildMs: number;
  reused: boolean;
  loaded: string;
}

/**
 * Starts a new node process (through the same tsx loader) that requires the library and runs
 * one build(), reporting its time and which compilers ended up loaded.
 */
function fresh(options: AssetOptions, outDir: string, empty: boolean): FreshRun {
  if (empty) fs.rmSync(outDir, { recursive: true, force: true });
  const script = `
    const t0 = performance.now();
    const { defineAssets } = require(${JSON.stringify(path.join(REPO, 'src', 'index'))});
    const t1 = performance.now();
    defineAssets(JSON.parse(process.env.BENCH_OPTIONS)).build().then((build) => {
      const t2 = performance.now();
      const loaded = ['terser', 'less', 'clean-css'].filter((name) =>
        Object.keys(require.cache).some((key) => key.includes('/node_modules/' + name + '/')));
      process.stdout.write(JSON.stringify({ requireMs: t1 - t0, buildMs: t2 - t1,
        reused: build.reused, loaded: loaded.join(', ') }));
    });`;
  const child = spawnSync(process.execPath, [...process.execArgv, '-e', script], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, BENCH_OPTIONS: JSON.stringify(options), DEBUG: '' },
  });
  expect(child.status === 0, `fresh process failed: ${child.stderr}`);
  const run = JSON.parse(child.stdout) as FreshRun;
  expect(run.reused === !empty, `fresh process: reused=${run.reused}, expected ${!empty}`);
  return run;
}

// ---- measuring and printing -------------------------------------------------------------------

async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<Stats> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return stats(times);
}

function stats(runs: number[]): Stats {
  return { runs, median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface SizeRow {
  label: string;
  raw: number;
  gzip: number;
  brotli: number;
}

async function sizeRow(label: string, code: string | Buffer): Promise<SizeRow> {
  const body = Buffer.from(code);
  const twins = await compress(body);
  return { label, raw: body.length, gzip: twins.gzip.length, brotli: twins.br.length };
}

/** The bundle as served minus its last line, `sourceMappingURL`, which the others lack. */
function stripMapComment(body: Buffer): string {
  return body.toString('utf8').replace(/\n[^\n]*sourceMappingURL=[^\n]*\n$/, '');
}

function sizeTable(rows: SizeRow[], base: SizeRow, against: string): void {
  table(
    ['output', 'raw B', 'gzip B', 'brotli B', `brotli ${against}`],
    rows.map((row) => [row.label, row.raw, row.gzip, row.brotli, ratio(row.brotli / base.brotli)]),
  );
}

function printMachine(): void {
  const cpu = /model name\s*:\s*(.*)/.exec(readOr('/proc/cpuinfo'))?.[1] ?? os.cpus()[0]?.model;
  const versions = ['terser', 'less', 'clean-css', 'esbuild', 'jquery', 'lodash', 'bootstrap']
    .map((name) => `${name} ${packageVersion(name)}`)
    .join(', ');
  section('Machine');
  console.log(
    `  ${os.availableParallelism()} CPUs (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `node ${process.version}, ${os.type()} ${os.release()}`,
  );
  console.log(`  load average at start: ${loadAverage()}`);
  console.log(`  ${versions}`);
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

function packageVersion(name: string): string {
  const manifest = path.join(NODE_MODULES, name, 'package.json');
  return String((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version);
}

function section(title: string): void {
  console.log(`\n## ${title}\n`);
}

function table(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.every((row) => /^[\d.,x%-]*$/.test(String(row[i]))));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`;
  console.log(line(headers));
  console.log(
    `|${widths.map((width, i) => (numeric[i] ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`,
  );
  for (const row of cells.slice(1)) console.log(line(row));
}

function mmm(s: Stats): string[] {
  return [ms(s.median), ms(s.min), ms(s.max)];
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function ratio(value: number): string {
  return `${value.toFixed(2)}x`;
}

function pct(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function writeFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(`bench/build: ${message}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
