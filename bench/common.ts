/**
 * What the benchmarks share: the corpus (jQuery, lodash and bootstrap 3's LESS straight from
 * node_modules, plus a small site of their own), scratch folders, the library compiled by tsc
 * as it ships, and compression as the library does it. How a bench runs and reports is in
 * harness.ts, its child-process servers and clients in servers.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
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
