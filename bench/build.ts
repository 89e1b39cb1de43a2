/**
 * bench/build: what a production build costs, against the compilers called directly on the same
 * files with the library's options (terser; less + clean-css level 2) plus compressing the
 * bundles (brotli 11, gzip 9): the floor of any build that ships minified, precompressed bundles.
 * Cold builds, warm starts (nothing changed) and one-file changes (the app script; a LESS
 * partial), each round taking turns with its floor. Bundle bytes against esbuild's minifier and
 * clean-css called directly.
 *
 *   npm run bench:build [-- --rounds=3] [--keep]
 */
import fs from 'node:fs';
import path from 'node:path';
import CleanCSS from 'clean-css';
import * as esbuild from 'esbuild';
import less from 'less';
import * as terser from 'terser';
import type { Build } from '../src';
import {
  APP,
  CORPUS,
  JQUERY,
  LODASH,
  SITE,
  THEME,
  compileLibrary,
  compress,
  loadLibrary,
  scratch,
  writeCorpus,
} from './common';
import {
  argument,
  check,
  ms,
  percent,
  spread,
  times,
  run,
  table,
  timed,
  writeResults,
} from './harness';

/** The options of src/compile/javascript.ts. */
const TERSER: terser.MinifyOptions = {
  compress: { passes: 2 },
  mangle: true,
  format: { comments: 'some' },
  sourceMap: { includeSources: true },
};

run(async function main() {
  const rounds = argument('rounds', 5);
  const dir = scratch('build');
  const library = loadLibrary(compileLibrary(dir));
  const roots = writeCorpus(path.join(dir, 'assets'));
  const outDir = path.join(dir, 'gen');
  const fileOf = (name: string) =>
    roots.map((root) => path.join(root, name)).find((file) => fs.existsSync(file))!;
  const build = () =>
    timed(() =>
      library
        .defineAssets({ root: roots, outDir, mode: 'production', logger: false, assets: CORPUS })
        .build(),
    );
  const body = (built: Build, kind: 'js' | 'css') =>
    built.files.get(built.bundles.find((bundle) => bundle.kind === kind)!.file)!.body;

  const minifyJs = (name: string) =>
    terser.minify({ [name]: fs.readFileSync(fileOf(name), 'utf8') }, TERSER);
  const compileLess = async () => {
    const file = fileOf(SITE);
    const output = await less.render(fs.readFileSync(file, 'utf8'), {
      filename: file,
      paths: roots,
      rewriteUrls: 'all',
      sourceMap: { outputSourceFiles: true },
    });
    const options = { level: 2, inline: false, rebase: false, sourceMap: true } as const;
    const minified = new CleanCSS(options).minify({
      [file]: { styles: output.css, sourceMap: output.map },
    });
    check(minified.errors.length === 0, `clean-css: ${minified.errors.join('; ')}`);
    return output.css;
  };

  const members = [JQUERY, LODASH, APP].map((name) => fs.readFileSync(fileOf(name), 'utf8'));
  const taken: Record<string, number[]> = {};
  const add = (key: string, value: number) => (taken[key] ??= []).push(value);
  let first: { build: Build; less: string } | undefined;
  for (let round = 0; round < rounds; round++) {
    fs.rmSync(outDir, { recursive: true, force: true });
    const cold = await build();
    check(!cold.value.reused, 'a cold build reused outDir');
    add('cold', cold.ms);
    const tools = await timed(async () => {
      for (const name of [JQUERY, LODASH, APP]) await minifyJs(name);
      const css = await compileLess();
      first ??= { build: cold.value, less: css };
      await Promise.all([compress(body(cold.value, 'js')), compress(body(cold.value, 'css'))]);
    });
    add('cold floor', tools.ms);

    const warm = await build();
    check(warm.value.reused, 'a warm start did not reuse the build');
    add('warm', warm.ms);

    fs.appendFileSync(fileOf(APP), `window.benchEdit = ${round};\n`);
    const js = await build();
    check(!body(js.value, 'js').equals(body(warm.value, 'js')), 'the app change made no bundle');
    add('app.js change', js.ms);
    const jsFloor = await timed(async () => {
      await minifyJs(APP);
      await compress(body(js.value, 'js'));
    });
    add('app.js floor', jsFloor.ms);

    fs.appendFileSync(
      fileOf(THEME),
      `.bench-edit-${round} { color: #${round}${round}${round}; }\n`,
    );
    const css = await build();
    check(!css.value.reused, 'the LESS change reused the build');
    add('theme.less change', css.ms);
    const cssFloor = await timed(async () => {
      await compileLess();
      await compress(body(css.value, 'css'));
    });
    add('theme.less floor', cssFloor.ms);
    console.log(`round ${round + 1} of ${rounds} done`);
  }

  // Bytes of the first cold build (before any edit) against esbuild and clean-css on the same
  // input. A bundle's last line, its sourceMappingURL, is left out.
  const esbuilt = await esbuild.transform(members.join('\n;\n'), { minify: true, loader: 'js' });
  const cleanCss = new CleanCSS({ level: 2, inline: false, rebase: false }).minify(first!.less);
  const brotli = async (text: string | Buffer) => (await compress(Buffer.from(text))).br.length;
  const ours = async (kind: 'js' | 'css') =>
    brotli(
      body(first!.build, kind)
        .toString()
        .replace(/\n[^\n]*sourceMappingURL=[^\n]*\n$/, ''),
    );
  const bytes = {
    js: [await ours('js'), await brotli(esbuilt.code)],
    css: [await ours('css'), await brotli(cleanCss.styles)],
  };

  const row = (what: string, key: string, floor: string, goal: string) => {
    const ratios = taken[key].map((value, i) => value / taken[floor][i]);
    const format = key === 'warm' ? percent : times;
    return [what, spread(taken[key], ms), spread(taken[floor], ms), spread(ratios, format), goal];
  };
  writeResults('build', [
    `Corpus: ${JQUERY}, ${LODASH} and bootstrap 3's LESS from node_modules, a 1.2 kB app script`,
    `and a site stylesheet with one partial; one JS and one CSS bundle. ${rounds} rounds; each`,
    'figure is the median (min-max), each ratio the median of the per-round ratios.',
    '',
    table(
      ['case', 'library', 'floor or baseline', 'ratio', 'goal'],
      [
        row('cold build', 'cold', 'cold floor', 'the compilers + compression, one after another'),
        row('warm start (nothing changed)', 'warm', 'cold', '<= 5% of a cold build'),
        row(
          'app.js changed',
          'app.js change',
          'app.js floor',
          'its compile + its bundle compressed',
        ),
        row('theme.less changed', 'theme.less change', 'theme.less floor', 'as above'),
      ],
    ),
    '',
    table(
      ['bundle', 'library, brotli B', 'baseline, brotli B', 'ratio'],
      [
        ['JS', bytes.js[0], `${bytes.js[1]} (esbuild --minify)`, ratio(bytes.js)],
        ['CSS', bytes.css[0], `${bytes.css[1]} (clean-css level 2)`, ratio(bytes.css)],
      ],
    ),
    '',
    'The CSS baseline minifies less output whose `url()`s are not rewritten to hashed copies, so',
    'a few bytes differ for that reason alone.',
  ]);
});

function ratio([ours, baseline]: number[]): string {
  return `${(ours / baseline).toFixed(3)}x`;
}
