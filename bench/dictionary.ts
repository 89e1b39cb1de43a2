/**
 * bench/dictionary: what Compression Dictionary Transport (dcz, RFC 9842) saves a returning
 * visitor after a deploy, against what the library serves otherwise (brotli 11), and what it
 * costs to make.
 *
 * Scenarios, each built through the library (mode 'production', two releases into one outDir,
 * so the bundles are the library's own minified ones and the dcz body is the one its build
 * wrote and its manifest lists):
 *
 *   1. one app file changed: jQuery 3.7.1 + lodash + a ~5 kB app script; one line of the app
 *      script differs between the releases;
 *   2. jQuery 3.6.4 -> 3.7.1 inside the same bundle (lodash and the app script unchanged); and,
 *      outside the library, the bare files dist/jquery.js and dist/jquery.min.js of both versions;
 *   3. one CSS rule changed: a stylesheet importing bootstrap 3's LESS (bootstrap.less) plus the
 *      site's own rules, one of which differs.
 *
 * For the new release's bundle: raw bytes, gzip 9, brotli 11 (the library's exact parameters),
 * dcz against the previous release (the library's compressWithDictionary: zstd 19 with the old
 * bundle as raw-content dictionary, behind the 40-byte dcz header), encode times (median of
 * RUNS.encode after one untimed warm-up), and a decode check by the zstd command line tool
 * (`zstd -d -c -D old` of the body after the header must give the new bundle byte for byte).
 * Then a short loopback measurement of serving: the dcz body comes from memory like brotli's.
 *
 * jQuery 3.6.4 and 3.7.1 are the devDependencies `jquery-3.6.4` and `jquery-3.7.1` (npm aliases).
 *
 *   npx tsx bench/dictionary.ts           writes bench/results-dictionary.md
 *   npx tsx bench/dictionary.ts --keep    keeps the temporary folder and prints where it is
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import express from 'express';
import { compressWithDictionary, dictionaryHash } from '../src/build/dictionaries';
import { defineAssets } from '../src';
import type { AssetOptions } from '../src';
import type { AssetRegistry } from '../src/assets';
import type { ManifestBundle } from '../src/build/manifest';

const RUNS = { encode: 5, serveWarmup: 20, serve: 200 };
const RESULTS = path.join(__dirname, 'results-dictionary.md');
const REPO = path.resolve(__dirname, '..');
const NODE_MODULES = path.join(REPO, 'node_modules');
/** A slow mobile link, as the README talks about: 400 kbit/s = 50,000 bytes a second. */
const LINK_BYTES_PER_SECOND = 400_000 / 8;
const DCZ_MAGIC = Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 0x20, 0x00, 0x00, 0x00]);

const JQUERY_OLD = 'jquery-3.6.4';
const JQUERY_NEW = 'jquery-3.7.1';
const LODASH = 'lodash/lodash.js';
const APP = 'site/app.js';
const SITE = 'site/site.less';

/**
 * The site's own script, ~5 kB: a catalogue with a filter, a cart and a form. `emptyText` is the
 * one line that differs between releases in scenario 1.
 */
const APP_JS = (emptyText: string) => `/* site/app.js: the site's own script (bench corpus) */
(function ($, _) {
  'use strict';

  var TEXT = {
    empty: ${JSON.stringify(emptyText)},
    added: 'Added to your basket',
    removed: 'Removed from your basket',
    invalid: 'Please check the highlighted fields',
    sent: 'Thank you, we will be in touch shortly',
  };
  var PAGE_SIZE = 20;
  var state = { filter: '', sort: 'name', page: 0, basket: {} };

  function money(cents) {
    var whole = Math.floor(cents / 100);
    var rest = String(cents % 100);
    return '€' + whole.toLocaleString('en-GB') + '.' + _.padStart(rest, 2, '0');
  }

  function renderItem(item) {
    var count = state.basket[item.id] || 0;
    return (
      '<li class="list-group-item clearfix" data-id="' + _.escape(String(item.id)) + '">' +
      '<span class="name">' + _.escape(item.name) + '</span> ' +
      '<span class="price">' + money(item.price) + '</span>' +
      '<span class="badge">' + count + '</span>' +
      '<button type="button" class="btn btn-xs btn-default pull-right add">+</button>' +
      '<button type="button" class="btn btn-xs btn-default pull-right remove"' +
      (count ? '' : ' disabled') + '>&minus;</button>' +
      '</li>'
    );
  }

  function visible(items) {
    var needle = state.filter.toLowerCase();
    var matching = _.filter(items, function (item) {
      return !needle || item.name.toLowerCase().indexOf(needle) !== -1 ||
        _.some(item.tags, function (tag) { return tag.indexOf(needle) === 0; });
    });
    return _.orderBy(matching, [state.sort], [state.sort === 'price' ? 'desc' : 'asc']);
  }

  function basketTotal(items) {
    return _.sumBy(items, function (item) {
      return (state.basket[item.id] || 0) * item.price;
    });
  }

  function flash($target, message, kind) {
    var $note = $('<div class="alert alert-' + (kind || 'info') + '" role="status"></div>')
      .text(message)
      .hide();
    $target.prepend($note);
    $note.fadeIn(150).delay(2000).fadeOut(300, function () { $note.remove(); });
  }

  function validate($form) {
    var errors = {};
    $form.find('[required]').each(function () {
      var $field = $(this);
      if (!$.trim($field.val())) errors[$field.attr('name')] = 'required';
    });
    var email = $form.find('[name=email]').val();
    if (email && !/^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$/.test(email)) errors.email = 'email';
    $form.find('.form-group').removeClass('has-error');
    _.forEach(errors, function (_reason, name) {
      $form.find('[name=' + name + ']').closest('.form-group').addClass('has-error');
    });
    return _.isEmpty(errors);
  }

  $(function () {
    var items = _.times(60, function (i) {
      return {
        id: i + 1,
        name: 'Item ' + (i + 1),
        price: 250 + ((i * 137) % 4000),
        tags: [['tea', 'coffee', 'cocoa'][i % 3], i % 2 ? 'organic' : 'classic'],
      };
    });
    var $list = $('#catalogue');
    var $total = $('#basket-total');
    var $pager = $('#pager');

    function refresh() {
      var shown = visible(items);
      var pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
      state.page = Math.min(state.page, pages - 1);
      var slice = shown.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
      $list.html(slice.length ? _.map(slice, renderItem).join('') :
        '<li class="list-group-item text-muted">' + _.escape(TEXT.empty) + '</li>');
      $total.text(money(basketTotal(items)));
      $pager.find('.page-number').text(state.page + 1 + ' / ' + pages);
      $pager.find('.prev').prop('disabled', state.page === 0);
      $pager.find('.next').prop('disabled', state.page >= pages - 1);
    }
    var refreshSoon = _.debounce(refresh, 80);

    $('#filter').on('input', function () {
      state.filter = $(this).val();
      state.page = 0;
      refreshSoon();
    });
    $('#sort').on('change', function () {
      state.sort = $(this).val();
      refresh();
    });
    $pager.on('click', '.prev, .next', function () {
      state.page += $(this).hasClass('next') ? 1 : -1;
      refresh();
    });
    $list.on('click', '.add, .remove', function () {
      var id = Number($(this).closest('li').data('id'));
      var change = $(this).hasClass('add') ? 1 : -1;
      state.basket[id] = Math.max(0, (state.basket[id] || 0) + change);
      flash($('#basket'), change > 0 ? TEXT.added : TEXT.removed, 'success');
      refresh();
    });
    $('#contact').on('submit', function (event) {
      event.preventDefault();
      var $form = $(this);
      if (!validate($form)) {
        flash($form, TEXT.invalid, 'danger');
        return;
      }
      $.post($form.attr('action'), $form.serialize()).done(function () {
        $form[0].reset();
        flash($form, TEXT.sent, 'success');
      });
    });
    refresh();
  });
})(jQuery, _);
`;

/** The site's stylesheet: bootstrap 3 plus its own rules; `headerPadding` is the changed rule. */
const SITE_LESS = (headerPadding: string) => `// site/site.less (bench corpus)
@import "bootstrap/less/bootstrap.less";

@brand-accent: #e07a1f;

.site-header {
  background: @brand-primary;
  color: #fff;
  padding: ${headerPadding};
  .navbar-brand { color: #fff; font-weight: bold; }
}

.catalogue .list-group-item {
  .clearfix();
  .price { margin-left: 1em; color: @gray; }
  &:hover { background: lighten(@brand-primary, 45%); }
}

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

const APP_V1 = APP_JS('No items match your filter.');
const APP_V2 = APP_JS('Nothing matches your filter: try a shorter word.');

interface Release {
  files: Record<string, string>;
  assets: AssetOptions['assets'];
}

const jsRelease = (jquery: string, app: string): Release => ({
  files: { [APP]: app },
  assets: [
    `${jquery}/dist/jquery.js`,
    LODASH,
    { path: APP, deps: [`${jquery}/dist/jquery.js`, LODASH] },
  ],
});

/** The new bundle, the one before it, and what the build said about them. */
interface Built {
  oldBody: Buffer;
  newBody: Buffer;
  bundle: ManifestBundle;
  /** The dcz file the build wrote against the old bundle, as the manifest lists it. */
  dcz: { bytes: number; body: Buffer; file: string };
  buildMs: { first: number; second: number };
  sizeTable: string;
  registry: AssetRegistry;
}

/** Builds two releases into one outDir, as two deploys of the same site would. */
async function buildTwoReleases(
  dir: string,
  kind: 'js' | 'css',
  first: Release,
  second: Release,
): Promise<Built> {
  const outDir = path.join(dir, 'out');
  const log: string[] = [];
  const make = async (release: Release) => {
    for (const [name, text] of Object.entries(release.files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    log.length = 0;
    const registry = defineAssets({
      root: [dir, NODE_MODULES],
      outDir,
      mode: 'production',
      logger: (line) => log.push(line),
      assets: release.assets,
    });
    const started = performance.now();
    const build = await registry.build();
    const ms = performance.now() - started;
    const bundle = build.bundles.find((candidate) => candidate.kind === kind)!;
    return { registry, bundle, body: build.files.get(bundle.file)!.body, ms };
  };
  const one = await make(first);
  const two = await make(second);
  check(two.bundle.file !== one.bundle.file, `${kind}: the second release made a new bundle`);
  const entry = two.bundle.dictionaries?.find((candidate) => candidate.from === one.bundle.file);
  check(entry !== undefined, `${kind}: the manifest lists a dcz body against the old bundle`);
  check(entry!.hash === dictionaryHash(one.body), `${kind}: the manifest names the old hash`);
  const body = fs.readFileSync(path.join(outDir, entry!.file));
  check(body.length === entry!.bytes, `${kind}: the dcz file has the manifest's size`);
  return {
    oldBody: one.body,
    newBody: two.body,
    bundle: two.bundle,
    dcz: { bytes: entry!.bytes, body, file: entry!.file },
    buildMs: { first: one.ms, second: two.ms },
    sizeTable: log.join('\n'),
    registry: two.registry,
  };
}

/** Brotli exactly as src/output.ts makes the served `.br` twin. */
const brotli = (data: Buffer) =>
  zlib.brotliCompressSync(data, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    },
  });
const gzip = (data: Buffer) => zlib.gzipSync(data, { level: 9 });

interface Row {
  scenario: string;
  /** Where the bytes come from: the library's build, or bare files. */
  source: string;
  raw: number;
  gzip: number;
  brotli: number;
  dcz: number;
  brotliMs: number;
  dczMs: number;
  gzipMs: number;
  /** The timed runs, ms. */
  brotliRuns: number[];
  dczRuns: number[];
  decoded: boolean;
}

/** Median of RUNS.encode timed calls after one untimed warm-up; returns the last result too. */
function timed(encode: () => Buffer): { ms: number; runs: number[]; out: Buffer } {
  let out = encode();
  const runs: number[] = [];
  for (let i = 0; i < RUNS.encode; i++) {
    const started = performance.now();
    out = encode();
    runs.push(performance.now() - started);
  }
  return { ms: median(runs), runs, out };
}

/** The dcz body decoded by the zstd command line tool with the old file as dictionary. */
function decodesTo(dcz: Buffer, oldBody: Buffer, newBody: Buffer, dir: string): boolean {
  check(dcz.subarray(0, 8).equals(DCZ_MAGIC), 'dcz header magic');
  const digest = createHash('sha256').update(oldBody).digest();
  check(dcz.subarray(8, 40).equals(digest), 'dcz header names the dictionary');
  const dictionary = path.join(dir, `dictionary-${digest.toString('hex').slice(0, 12)}`);
  fs.writeFileSync(dictionary, oldBody);
  const decoded = execFileSync('zstd', ['-d', '-c', '-D', dictionary], {
    input: dcz.subarray(40),
    maxBuffer: 64 * 1024 * 1024,
  });
  return decoded.equals(newBody);
}

function measure(
  scenario: string,
  source: string,
  oldBody: Buffer,
  newBody: Buffer,
  dir: string,
  built?: Built,
): Row {
  const br = timed(() => brotli(newBody));
  const gz = timed(() => gzip(newBody));
  const dcz = timed(() => compressWithDictionary(newBody, oldBody));
  if (built) {
    // The library's own numbers: the served .br twin, and the dcz file its build wrote.
    check(br.out.length === built.bundle.sizes.brotli, `${scenario}: brotli as the manifest's`);
    check(gz.out.length === built.bundle.sizes.gzip, `${scenario}: gzip as the manifest's`);
    check(dcz.out.equals(built.dcz.body), `${scenario}: dcz as the build wrote it`);
  }
  const decoded =
    decodesTo(dcz.out, oldBody, newBody, dir) &&
    (!built || decodesTo(built.dcz.body, oldBody, newBody, dir));
  check(decoded, `${scenario}: zstd -d -D old gives the new bundle`);
  return {
    scenario,
    source,
    raw: newBody.length,
    gzip: gz.out.length,
    brotli: br.out.length,
    dcz: built ? built.dcz.bytes : dcz.out.length,
    brotliMs: br.ms,
    dczMs: dcz.ms,
    gzipMs: gz.ms,
    brotliRuns: br.runs,
    dczRuns: dcz.runs,
    decoded,
  };
}

/** Time to last byte of GETs of one bundle as br and as dcz, over loopback, keep-alive. */
async function serveTimes(
  built: Built,
): Promise<{ br: number; dcz: number; p95: number[]; useAsDictionary: string }> {
  const app = express();
  app.use(built.registry.middleware());
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const available = `:${dictionaryHash(built.oldBody)}:`;
  const get = (headers: Record<string, string>) =>
    new Promise<{ ms: number; encoding?: string; bytes: number; use?: string }>(
      (resolve, reject) => {
        const started = performance.now();
        http
          .get({ host: '127.0.0.1', port, agent, path: built.bundle.url, headers }, (res) => {
            let bytes = 0;
            res.on('data', (chunk: Buffer) => (bytes += chunk.length));
            res.on('end', () =>
              resolve({
                ms: performance.now() - started,
                encoding: res.headers['content-encoding'],
                bytes,
                use: res.headers['use-as-dictionary'] as string | undefined,
              }),
            );
          })
          .on('error', reject);
      },
    );
  const asBr = { 'Accept-Encoding': 'gzip, deflate, br, zstd' };
  const asDcz = {
    'Accept-Encoding': 'gzip, deflate, br, zstd, dcb, dcz',
    'Available-Dictionary': available,
  };
  const times = { br: [] as number[], dcz: [] as number[] };
  let useAsDictionary = '';
  try {
    for (let i = 0; i < RUNS.serveWarmup + RUNS.serve; i++) {
      const br = await get(asBr);
      const dcz = await get(asDcz);
      check(br.encoding === 'br' && dcz.encoding === 'dcz', 'served as br and as dcz');
      check(dcz.bytes === built.dcz.bytes, 'the dcz body served is the one the build wrote');
      useAsDictionary = br.use ?? '';
      if (i < RUNS.serveWarmup) continue;
      times.br.push(br.ms);
      times.dcz.push(dcz.ms);
    }
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
  return {
    br: median(times.br),
    dcz: median(times.dcz),
    p95: [percentile(times.br, 0.95), percentile(times.dcz, 0.95)],
    useAsDictionary,
  };
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const started = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-registry-dictionary-'));
  const versions = {
    old: packageVersion(JQUERY_OLD),
    new: packageVersion(JQUERY_NEW),
    lodash: packageVersion('lodash'),
    bootstrap: packageVersion('bootstrap'),
    zstd: process.versions.zstd ?? 'none',
    zstdCli: execFileSync('zstd', ['--version'], { encoding: 'utf8' }).trim(),
  };
  check(versions.old === '3.6.4' && versions.new === '3.7.1', 'jQuery aliases are 3.6.4, 3.7.1');
  const machine = machineLine();
  console.log(machine);

  const scenarioDir = (name: string) => {
    const sub = path.join(dir, name);
    fs.mkdirSync(sub, { recursive: true });
    return sub;
  };

  console.log('1. one app file changed ...');
  const appDir = scenarioDir('app');
  const app = await buildTwoReleases(
    appDir,
    'js',
    jsRelease(JQUERY_NEW, APP_V1),
    jsRelease(JQUERY_NEW, APP_V2),
  );

  console.log('2. jQuery 3.6.4 -> 3.7.1 in the bundle ...');
  const jqDir = scenarioDir('jquery');
  const jq = await buildTwoReleases(
    jqDir,
    'js',
    jsRelease(JQUERY_OLD, APP_V1),
    jsRelease(JQUERY_NEW, APP_V1),
  );

  console.log('3. one CSS rule changed ...');
  const cssDir = scenarioDir('css');
  const css = await buildTwoReleases(
    cssDir,
    'css',
    { files: { [SITE]: SITE_LESS('10px 0') }, assets: [SITE] },
    { files: { [SITE]: SITE_LESS('12px 0') }, assets: [SITE] },
  );

  console.log('measuring ...');
  const bare = (version: string, file: string) =>
    fs.readFileSync(path.join(NODE_MODULES, version, 'dist', file));
  const rows: Row[] = [
    measure(
      '1. one app file changed (JS bundle)',
      'library build',
      app.oldBody,
      app.newBody,
      dir,
      app,
    ),
    measure(
      '2. jQuery 3.6.4 → 3.7.1 in the bundle (JS bundle)',
      'library build',
      jq.oldBody,
      jq.newBody,
      dir,
      jq,
    ),
    measure(
      '2. bare jquery.js 3.6.4 → 3.7.1 (unminified)',
      'node_modules file',
      bare(JQUERY_OLD, 'jquery.js'),
      bare(JQUERY_NEW, 'jquery.js'),
      dir,
    ),
    measure(
      '2. bare jquery.min.js 3.6.4 → 3.7.1',
      'node_modules file',
      bare(JQUERY_OLD, 'jquery.min.js'),
      bare(JQUERY_NEW, 'jquery.min.js'),
      dir,
    ),
    measure(
      '3. one CSS rule changed (CSS bundle)',
      'library build',
      css.oldBody,
      css.newBody,
      dir,
      css,
    ),
  ];

  console.log('serving ...');
  const serving = await serveTimes(app);

  const builds: [string, Built, Row][] = [
    ['1. one app file changed', app, rows[0]],
    ['2. jQuery 3.6.4 → 3.7.1 in the bundle', jq, rows[1]],
    ['3. one CSS rule changed', css, rows[4]],
  ];
  const totalMs = performance.now() - started;
  const report = results({ rows, builds, serving, versions, machine, app, totalMs });
  fs.writeFileSync(RESULTS, report);
  console.log(table(rows));
  console.log(`\n${headline(rows[0])}`);
  console.log(`written to ${path.relative(process.cwd(), RESULTS)} in ${seconds(totalMs)} s`);
  if (keep) console.log(`kept ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

function table(rows: Row[]): string {
  const lines = [
    '| scenario | new bundle raw | gzip 9 | brotli 11 | dcz | dcz / brotli | brotli encode ms | dcz encode ms | zstd -d -D old |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.scenario} | ${bytes(row.raw)} | ${bytes(row.gzip)} | ${bytes(row.brotli)} | ` +
        `${bytes(row.dcz)} | ${percent(row.dcz / row.brotli)} | ${ms(row.brotliMs)} | ` +
        `${ms(row.dczMs)} | ${row.decoded ? 'identical' : 'DIFFERS'} |`,
    );
  }
  return lines.join('\n');
}

/** Seconds on the slow link for a body of `count` bytes (payload only: no RTTs, no headers). */
const onLink = (count: number) => count / LINK_BYTES_PER_SECOND;

function headline(row: Row): string {
  return (
    `After a deploy that changed one line of app code, a returning visitor's browser fetches ` +
    `the new ${kb(row.raw)} jQuery + lodash + app bundle as ${bytes(row.dcz)} bytes ` +
    `(dcz, compressed against the version it already holds) instead of ${bytes(row.brotli)} ` +
    `bytes of brotli: ${percent(row.dcz / row.brotli)}, about ` +
    `${(onLink(row.brotli) - onLink(row.dcz)).toFixed(1)} s saved on a 400 kbit/s link.`
  );
}

interface ResultsInput {
  rows: Row[];
  builds: [string, Built, Row][];
  serving: { br: number; dcz: number; p95: number[]; useAsDictionary: string };
  totalMs: number;
  versions: Record<string, string>;
  machine: string;
  app: Built;
}

function results(input: ResultsInput): string {
  const { rows, builds, serving, versions, machine, app, totalMs } = input;
  const [appRow, jqRow, jqBare, jqMin, cssRow] = rows;
  const saving = (row: Row) =>
    `${seconds(1000 * onLink(row.brotli))} s → ${seconds(1000 * onLink(row.dcz))} s ` +
    `(${seconds(1000 * (onLink(row.brotli) - onLink(row.dcz)))} s saved)`;
  const issueBrotli = 27_445;
  const issueDcz = 6_842;
  const lines = [
    '# bench/dictionary: Compression Dictionary Transport (dcz) against brotli',
    '',
    `Generated by \`npx tsx bench/dictionary.ts\` on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '## How to run',
    '',
    '```sh',
    'npm ci                          # jQuery 3.6.4 and 3.7.1 are the devDependencies jquery-3.6.4, jquery-3.7.1',
    'npx tsx bench/dictionary.ts     # rewrites this file; --keep keeps the temporary build folders',
    '```',
    '',
    `It needs the \`zstd\` command line tool (Debian package \`zstd\`) for the decode check. A run took ${seconds(totalMs)} s on the machine below (most of it terser and LESS in the six builds, and the encodes).`,
    '',
    '## Machine and versions',
    '',
    `- ${machine}`,
    `- node:zlib's zstd (Node.js ${process.version}, libzstd ${versions.zstd}), level 19, old bundle as raw-content dictionary; node's brotli ${process.versions.brotli}, zlib ${process.versions.zlib}`,
    `- decode check: ${versions.zstdCli.replace(/^\*+\s*|\s*\*+$/g, '')}`,
    `- corpus: jQuery ${versions.old} and ${versions.new}, lodash ${versions.lodash}, bootstrap ${versions.bootstrap} (LESS), and a ${kb(Buffer.byteLength(APP_V1))} app script and a site LESS file written by the bench`,
    '',
    '## What is measured',
    '',
    "Each scenario is two releases of a site built with `defineAssets({ mode: 'production', ... }).build()` into the same outDir, as two deploys would: the bundles are the library's own minified output (terser for JS, LESS + clean-css for CSS), and the dcz size is the one in the second build's manifest (`bundles[].dictionaries[].bytes`), whose file the bench also reads back. The bench checks that its own brotli and gzip of the new bundle have exactly the manifest's sizes (so *brotli* is the `.br` twin the library serves) and that the library's `compressWithDictionary` run again gives the same bytes as the build wrote.",
    '',
    '- **scenario 1**: jQuery 3.7.1 + lodash + the app script; release 2 changes one line of the app script (the text shown for an empty filter).',
    '- **scenario 2**: the same bundle with jQuery 3.6.4 in release 1 and 3.7.1 in release 2, lodash and the app script unchanged; and, outside the library, the bare `dist/jquery.js` and `dist/jquery.min.js` of the two versions (not minified again by the library, compressed directly).',
    "- **scenario 3**: a stylesheet importing `bootstrap/less/bootstrap.less` plus the site's own rules; release 2 changes one declaration (`.site-header { padding }`).",
    '',
    `*dcz* is the whole body sent: the 40-byte header (magic + SHA-256 of the dictionary) and the zstd frame. Encode times are the median of ${RUNS.encode} runs after one untimed warm-up, in this process, one core. *zstd -d -D old*: the \`zstd\` CLI decodes the frame after the header with the old bundle as dictionary, and the result is compared byte for byte with the new bundle (for both the bench's own dcz body and the build's file).`,
    '',
    '## Results',
    '',
    table(rows),
    '',
    '### What a returning visitor downloads on a 400 kbit/s link',
    '',
    'Payload only (50,000 bytes a second; no round trips, no headers, no TCP slow start, which all add the same for both):',
    '',
    '| scenario | brotli → dcz |',
    '| --- | --- |',
    ...rows.map((row) => `| ${row.scenario} | ${saving(row)} |`),
    '',
    '### One-time cost at build time',
    '',
    'The dcz bodies are made by `build()` (at deploy, with `asset-registry build`), one per bundle and per older version still kept (`keepVersions`, default 3: up to 2 older versions, so up to 2 dcz encodes per changed bundle), written next to the bundle and listed in the manifest. Build wall time of the two releases, in ms (the first build of the run, release 1 of scenario 1, also pays loading and warming up the compilers; a release 2 reuses the compile cache in outDir for unchanged members, so it compiles only what changed):',
    '',
    '| scenario | release 1 build ms | release 2 build ms | of which dcz (1 older version) ms | brotli of the same bundle ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...builds.map(([name, built, row]) => {
      return `| ${name} | ${ms(built.buildMs.first)} | ${ms(built.buildMs.second)} | ${ms(row.dczMs)} | ${ms(row.brotliMs)} |`;
    }),
    '',
    'The size table that the second build of scenario 1 printed:',
    '',
    '```',
    app.sizeTable,
    '```',
    '',
    '### Serving is a memory lookup',
    '',
    `When the build is loaded, every dcz body is read into memory with the bundle, its \`.br\` and its \`.gz\`; a request naming a kept version in \`Available-Dictionary\` picks that Buffer by hash. Nothing is compressed per request. Measured over loopback on scenario 1's new bundle through \`assets.middleware()\` in Express, ${RUNS.serve} keep-alive GETs each after ${RUNS.serveWarmup} warm-ups, time to last byte: **br ${ms2(serving.br)} ms, dcz ${ms2(serving.dcz)} ms** median (p95 ${ms2(serving.p95[0])} / ${ms2(serving.p95[1])} ms), where compressing on the fly would cost ${ms(appRow.dczMs)} ms (dcz) or ${ms(appRow.brotliMs)} ms (brotli 11) per response.`,
    '',
    '## Discussion',
    '',
    `- **One changed app file is where dcz pays most.** The new bundle is ${bytes(appRow.raw)} bytes; brotli 11 sends ${bytes(appRow.brotli)}, dcz sends ${bytes(appRow.dcz)} (${percent(appRow.dcz / appRow.brotli)} of brotli, ${ratio(appRow.brotli / appRow.dcz)} smaller). The zstd frame carries the changed string and the new source map's name (the bundle's last line names its own hash), and copies everything else from the old bundle; the 40-byte header is ${percent(40 / appRow.dcz)} of the body. On a 400 kbit/s link the bundle's payload goes from ${saving(appRow)}: the bundle practically stops costing anything on a returning visit.`,
    `- **A library upgrade saves less, but still most.** jQuery 3.6.4 → 3.7.1 inside the bundle: ${bytes(jqRow.dcz)} bytes of dcz against ${bytes(jqRow.brotli)} of brotli (${percent(jqRow.dcz / jqRow.brotli)}), ${seconds(1000 * (onLink(jqRow.brotli) - onLink(jqRow.dcz)))} s saved at 400 kbit/s. What is sent is the real difference between the two jQuery versions; lodash and the app, unchanged, cost almost nothing. The library minifies jQuery itself (terser, from dist/jquery.js), so the bundle's jQuery is not the upstream jquery.min.js; its dcz came out smaller than that of the two upstream jquery.min.js files below (${bytes(jqRow.dcz)} against ${bytes(jqMin.dcz)} bytes), which we have not looked into further.`,
    `- **The issue's figure.** The issue reported jQuery 3.6.4 → 3.7.1 as ${bytes(issueBrotli)} bytes of brotli and ${bytes(issueDcz)} of dcz, measured in Chromium. Here the bare files give: jquery.min.js ${bytes(jqMin.brotli)} brotli / ${bytes(jqMin.dcz)} dcz (${percent(jqMin.dcz / jqMin.brotli)}), jquery.js (unminified) ${bytes(jqBare.brotli)} brotli / ${bytes(jqBare.dcz)} dcz (${percent(jqBare.dcz / jqBare.brotli)}). ${issueComparison(jqMin, jqBare, issueBrotli, issueDcz)} The unminified file gives a smaller dcz than the minified one although it is ${ratio(jqBare.raw / jqMin.raw, 1)} larger, likely because a minifier renames local variables anew in each version, so a small change in the source shifts names throughout the minified file.`,
    `- **A one-rule CSS change:** the bootstrap stylesheet is ${bytes(cssRow.raw)} bytes minified, ${bytes(cssRow.brotli)} as brotli and ${bytes(cssRow.dcz)} as dcz (${percent(cssRow.dcz / cssRow.brotli)}), ${saving(cssRow)} at 400 kbit/s.`,
    `- **Cost.** dcz encoding (zstd level 19 with a ${kb(appRow.raw)} dictionary) took ${ms(appRow.dczMs)} ms for scenario 1's bundle, against ${ms(appRow.brotliMs)} ms for the brotli 11 twin that every build already makes: per older version, the build grows by ${percent(appRow.dczMs / appRow.brotliMs)} of one brotli encode, here ${percent(appRow.dczMs / app.buildMs.second)} of release 2's ${ms(app.buildMs.second)} ms build. Over all rows dcz encoding took ${percent(Math.min(...rows.map((row) => row.dczMs / row.brotliMs)))}–${percent(Math.max(...rows.map((row) => row.dczMs / row.brotliMs)))} of the brotli time. It is paid once per deploy (with the default \`keepVersions: 3\`, at most twice per changed bundle), not per request; disk and memory grow by one dcz body per kept version (${bytes(appRow.dcz)} bytes in scenario 1, ${bytes(jqRow.dcz)} in scenario 2).`,
    `- **Who gets it.** A browser that supports Compression Dictionary Transport (checked here only in Chromium, by test/dictionaries.test.ts and the issue; a browser without it sends no \`Available-Dictionary\` and gets brotli exactly as before), in a secure context (HTTPS, or localhost), that still holds one of the kept older versions of that bundle: up to \`keepVersions\` − 1 deploys back; a visitor from further back, or whose browser has dropped the dictionary, gets brotli. A first visit costs only the \`Use-As-Dictionary\` response header (${bytes(Buffer.byteLength(`Use-As-Dictionary: ${serving.useAsDictionary}\r\n`))} bytes here: \`${serving.useAsDictionary}\`).`,
    `- **What these numbers are not.** They are payload bytes, not page-load time: on a slow link a request also pays round trips, which dcz does not remove. Encode times are single-core, in-process, on a shared 2-core machine, and noisy: see the runs below; while this bench was written, three runs of it a few minutes apart gave medians up to about 60% apart for the shortest encodes (40, 57 and 63 ms for scenario 1's dcz). Byte counts do not vary: both encoders are deterministic, and the bench checks the build's bodies against its own.`,
    '',
    `Encode runs, ms (min / median / max of ${RUNS.encode}, after one warm-up):`,
    '',
    '| scenario | brotli 11 | dcz |',
    '| --- | ---: | ---: |',
    ...rows.map(
      (row) => `| ${row.scenario} | ${spread(row.brotliRuns)} | ${spread(row.dczRuns)} |`,
    ),
    '',
    '## Headline',
    '',
    headline(appRow),
    '',
  ];
  return lines.join('\n');
}

function issueComparison(min: Row, full: Row, issueBrotli: number, issueDcz: number): string {
  const near = (a: number, b: number) => Math.abs(a - b) / b < 0.05;
  if (near(min.brotli, issueBrotli)) {
    return (
      `The brotli figure ${min.brotli === issueBrotli ? 'is exactly that of' : 'matches'} jquery.min.js, so the issue measured the minified file; ` +
      (min.dcz === issueDcz
        ? `its dcz figure is exactly the ${bytes(min.dcz)} bytes measured here`
        : `its dcz (${bytes(issueDcz)}) ${near(min.dcz, issueDcz) ? 'agrees with' : 'differs from'} the ${bytes(min.dcz)} bytes here`) +
      (near(min.dcz, issueDcz)
        ? '.'
        : ' (the dcz encoder and level used for the issue are not known; this is zstd 19 with a window just large enough for dictionary + body).')
    );
  }
  if (near(full.brotli, issueBrotli)) {
    return `The brotli figure matches the unminified jquery.js, so the issue measured that file.`;
  }
  return `Neither file's brotli size matches the issue's ${bytes(issueBrotli)} within 5%, so the issue measured something else (possibly a file served with different brotli settings).`;
}

function machineLine(): string {
  const cpus = os.cpus();
  return (
    `${os.availableParallelism()} CPUs (nproc), ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, node ${process.version}, ` +
    `${os.type()} ${os.release()}, load average ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')} at start`
  );
}

function packageVersion(name: string): string {
  const file = path.join(NODE_MODULES, name, 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

const spread = (runs: number[]) =>
  [Math.min(...runs), median(runs), Math.max(...runs)].map(ms).join(' / ');
const bytes = (count: number) => count.toLocaleString('en-US');
const kb = (count: number) => `${(count / 1000).toFixed(count < 10_000 ? 1 : 0)} kB`;
const ms = (value: number) => Math.round(value).toLocaleString('en-US');
const ms2 = (value: number) => value.toFixed(2);
const seconds = (millis: number) => (millis / 1000).toFixed(millis < 100 ? 3 : 2);
const percent = (fraction: number) => `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
const ratio = (value: number, digits = 0) => `${value.toFixed(digits)}×`;

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
