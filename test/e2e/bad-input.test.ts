import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Express, Request, Response } from 'express';
import nunjucks from 'nunjucks';
import request from 'supertest';
import {
  AssetBuildError,
  AssetConfigError,
  AssetMissingError,
  defineAssets,
  type AssetEntry,
  type AssetOptions,
  type ManifestBundle,
} from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { builtSite, errorHandler, SITE_ASSETS, SITE_FILES } from '../app';
import { snapshot, tempDir, writeFiles } from '../helpers';
import { decodedBody, listenRaw, type RawResponse, type RawServer } from '../raw';

/**
 * Bad input, one table: every case names the error it must give (class, code, the asset or file
 * it is about, and line and column where a compiler says), and after every case the build on
 * disk is as it was and the last good build still serves the same bytes.
 */

type ErrorClass = abstract new (...args: never[]) => Error;

interface Expected {
  type: ErrorClass;
  code?: string;
  /** Fragments the message must hold: the asset, the file, the option. */
  message: (string | RegExp)[];
  asset?: string;
  file?: string;
  line?: number;
  column?: number;
}

/** What a case gives: an error like this, or a build (into a folder of its own). */
type Outcome = Expected | { builds: (read: (bundle: string) => string) => void };

interface BuildCase {
  /** Files added to (or replacing) the site's, under a fresh root. */
  files?: Record<string, string | Buffer>;
  /** Assets declared after the site's, or (a function) the whole list. */
  assets?: AssetEntry[] | ((root: string) => AssetEntry[]);
  /** Options that replace the good ones: bad types, mostly. */
  options?: Record<string, unknown>;
  setup?: (root: string) => void;
  outcome: Outcome;
  /** The most the case may take, in ms: a bad input must fail fast, not hang. */
  within?: number;
}

const config = (message: (string | RegExp)[], asset?: string): Expected => ({
  type: AssetConfigError,
  code: 'ASSET_CONFIG',
  message,
  asset,
});
const compile = (
  file: string,
  line: number | undefined,
  column: number | undefined,
  message: (string | RegExp)[],
  asset = file,
): Expected => ({ type: AssetBuildError, code: 'ASSET_BUILD', message, asset, file, line, column });
const option = (name: string): Expected => ({ type: TypeError, message: [`"${name}`] });

const cycle = (...names: string[]): AssetEntry[] =>
  names.map((name, i) => ({ path: name, deps: [names[(i + 1) % names.length]] }));
const filesOf = (...names: string[]) => Object.fromEntries(names.map((name) => [name, '1;\n']));
const MB20 = 20_000_000;
const bigScript = () => 'window.n = (window.n || 0) + 1;\n'.repeat(MB20 / 32 + 1);
const bigStyle = () => '.c { color: #336699; margin: 0 auto; }\n'.repeat(MB20 / 40 + 1);
/** A directory outside every root, for symlinks to point at. */
let outside: string;

const CONFIG_CASES: [string, BuildCase][] = [
  // Configuration: found by defineAssets(), or by build() when it needs the file system.
  [
    'an unknown dep, with the nearest name suggested',
    {
      files: filesOf('site/extra.js'),
      assets: [{ path: 'site/extra.js', deps: ['site/widget.js'] }],
      outcome: config(
        ['"site/extra.js" depends on "site/widget.js"', 'did you mean "site/widgets.js"'],
        'site/extra.js',
      ),
    },
  ],
  [
    'a direct cycle',
    {
      files: filesOf('c/a.js', 'c/b.js'),
      assets: cycle('c/a.js', 'c/b.js'),
      outcome: config(['Dependency cycle: c/a.js -> c/b.js -> c/a.js'], 'c/a.js'),
    },
  ],
  [
    'a long cycle, shown whole',
    {
      files: filesOf('c/a.js', 'c/b.js', 'c/c.js', 'c/d.less', 'c/e.css'),
      assets: cycle('c/a.js', 'c/b.js', 'c/c.js', 'c/d.less', 'c/e.css'),
      outcome: config(
        ['Dependency cycle: c/a.js -> c/b.js -> c/c.js -> c/d.less -> c/e.css -> c/a.js'],
        'c/a.js',
      ),
    },
  ],
  [
    'an asset that depends on itself',
    {
      files: filesOf('c/self.js'),
      assets: cycle('c/self.js'),
      outcome: config(['Dependency cycle: c/self.js -> c/self.js'], 'c/self.js'),
    },
  ],
  [
    'a cycle through the site',
    {
      assets: () =>
        SITE_ASSETS.map((entry) =>
          entry === 'vendor/lib.js' ? { path: entry, deps: ['admin/editor.js'] } : entry,
        ),
      outcome: config([/Dependency cycle: .*vendor\/lib\.js.*admin\/editor\.js/]),
    },
  ],
  [
    'a duplicate, by name',
    { assets: ['vendor/lib.js'], outcome: config(['"vendor/lib.js" is declared twice']) },
  ],
  [
    'a duplicate, in another group',
    {
      assets: [{ path: 'site/base.less', bundle: 'admin' }],
      outcome: config(['"site/base.less" is declared twice'], 'site/base.less'),
    },
  ],
  ...['../secret.js', 'site/../../secret.js', 'site/./widgets.js', 'site//widgets.js'].map(
    (name): [string, BuildCase] => [
      `a name with "..", "." or an empty segment: ${name}`,
      { assets: [name], outcome: config([`"${name}"`, 'must not contain ".."'], name) },
    ],
  ),
  ...['/etc/passwd.js', 'C:/site/widgets.js', 'c:site.js'].map((name): [string, BuildCase] => [
    `an absolute name: ${name}`,
    { assets: [name], outcome: config([`"${name}"`, 'not absolute'], name) },
  ]),
  [
    'the absolute path of a file under the root',
    {
      assets: (root) => [...SITE_ASSETS, path.join(root, 'vendor', 'lib.js')],
      outcome: config(['must be relative to the load path, not absolute']),
    },
  ],
  [
    'a name with "\\" as separator',
    { assets: ['..\\..\\secret.js'], outcome: config(['must use "/" as separator']) },
  ],
  [
    'escaped dots are a name like any other, with no file',
    { assets: ['%2e%2e/secret.js'], outcome: config(['"%2e%2e/secret.js" has no file']) },
  ],
  ['a NUL byte', { assets: ['site/widgets.js\0.css'], outcome: config(['contains a NUL byte']) }],
  [
    'a lone surrogate',
    { assets: ['site/\ud800.js'], outcome: config(['not well-formed Unicode']) },
  ],
  [
    'a symlinked folder that leads out of the load path',
    {
      assets: ['linked/secret.js'],
      setup: (root) => fs.symlinkSync(outside, path.join(root, 'linked')),
      outcome: config(['"linked/secret.js" resolves to', 'outside its root'], 'linked/secret.js'),
    },
  ],
  [
    'a symlinked file that leads out of the load path',
    {
      assets: ['site/secret.js'],
      setup: (root) =>
        fs.symlinkSync(path.join(outside, 'secret.js'), path.join(root, 'site', 'secret.js')),
      outcome: config(['"site/secret.js" resolves to', 'outside its root'], 'site/secret.js'),
    },
  ],
  [
    'a symlink that stays inside the root is fine',
    {
      assets: ['alias/lib.js'],
      setup: (root) => fs.symlinkSync(path.join(root, 'vendor'), path.join(root, 'alias')),
      outcome: { builds: (read) => expect(read('main.js')).toContain('window.lib=') },
    },
  ],
  ...['site/logo.svg', 'site/README', 'site/widgets.js.map', 'site/.js', 'site/app.jsx'].map(
    (name): [string, BuildCase] => [
      `an unknown extension: ${name}`,
      { assets: [name], outcome: config([`"${name}"`, 'unknown extension'], name) },
    ],
  ),
  [
    'a missing file, naming where it looked',
    {
      assets: ['site/nope.js'],
      outcome: config(['"site/nope.js" has no file; looked in', 'nope.js'], 'site/nope.js'),
    },
  ],
  [
    'a folder where a file should be',
    {
      assets: ['site/folder.js'],
      setup: (root) => fs.mkdirSync(path.join(root, 'site', 'folder.js')),
      outcome: config(['"site/folder.js" is not a file'], 'site/folder.js'),
    },
  ],
  ['an empty registry', { assets: () => [], outcome: config(['declares no assets']) }],
  // Bad option types: a TypeError that names the option, before anything else.
  ...(
    [
      ['root', 42],
      ['root', []],
      ['root', ['ok', '']],
      ['outDir', ''],
      ['outDir', ['out']],
      ['assets', 'site/widgets.js'],
      ['assets', { 'site/widgets.js': true }],
      ['publicPath', 'assets/'],
      ['publicPath', '/a%zz/'],
      ['publicPath', 'javascript:alert(1)//'],
      ['mode', 'prod'],
      ['keepVersions', 0],
      ['keepVersions', 1.5],
      ['keepVersions', '3'],
      ['budget', 120000],
      ['budget', { js: -1 }],
      ['budget', { gif: 1 }],
      ['maxSourceBytes', { js: Infinity }],
      ['logger', 'stderr'],
      ['serve', 'false'],
      ['earlyHints', 1],
      ['report', 'yes'],
      ['requirePrebuilt', 'yes'],
    ] as const
  ).map(([name, value]): [string, BuildCase] => [
    `option ${name}: ${JSON.stringify(value)}`,
    {
      options: { [name]: value },
      outcome: option(name),
    },
  ]),
  ['an unknown option', { options: { outdir: 'out' }, outcome: option('outdir') }],
  ['a number as asset', { assets: [42 as never], outcome: option('assets[6]') }],
  [
    'deps that are not a list',
    {
      assets: [{ path: 'site/x.js', deps: 'vendor/lib.js' as never }],
      outcome: option('assets[6].deps'),
    },
  ],
  [
    'a bundle group that is a path',
    { assets: [{ path: 'site/x.js', bundle: '../x' }], outcome: option('assets[6].bundle') },
  ],
  [
    'an unknown key in an entry',
    {
      assets: [{ path: 'site/x.js', dependencies: [] } as never],
      outcome: option('assets[6]'),
    },
  ],
  [
    'a prototype key as an entry key',
    {
      assets: [JSON.parse('{"path":"site/x.js","__proto__":{"deps":["vendor/lib.js"]}}')],
      outcome: option('assets[6]'),
    },
  ],
];

const COMPILE_CASES: [string, BuildCase][] = [
  // Build: compilers' errors with the file, line and column they name.
  [
    'a JS syntax error',
    {
      files: { 'site/broken.js': 'window.ok = 1;\nvar broken = ;\n' },
      assets: ['site/broken.js'],
      outcome: compile('site/broken.js', 2, 14, ['Unexpected token']),
    },
  ],
  [
    'a JS string left open',
    {
      files: { 'site/open.js': 'var a = 1;\n  var s = "abc;\n' },
      assets: ['site/open.js'],
      outcome: compile('site/open.js', 2, 11, ['Unterminated string']),
    },
  ],
  [
    'a module where a script is expected',
    {
      files: { 'site/module.js': "import $ from 'jquery';\n" },
      assets: ['site/module.js'],
      outcome: compile('site/module.js', 1, 1, ["'import' and 'export' may appear only"]),
    },
  ],
  [
    'a CSS syntax error',
    {
      files: { 'site/broken.css': 'body { color: red; }\n\n  }\n' },
      assets: ['site/broken.css'],
      outcome: compile('site/broken.css', 3, 3, ['Unrecognised input']),
    },
  ],
  [
    'a CSS block left open',
    {
      files: { 'site/open.css': '.a {\n  color: red;\n' },
      assets: ['site/open.css'],
      outcome: compile('site/open.css', 3, 1, ['missing']),
    },
  ],
  [
    'a LESS syntax error',
    {
      files: { 'site/broken.less': '.a {\n  color: red;\n  width: (1px + ;\n}\n' },
      assets: ['site/broken.less'],
      outcome: compile('site/broken.less', 3, 17, ["Expected ')'"]),
    },
  ],
  [
    'an undefined LESS variable',
    {
      files: { 'site/vars.less': '.a {\n  color: @missing;\n}\n' },
      assets: ['site/vars.less'],
      outcome: compile('site/vars.less', 2, 10, ['variable @missing is undefined']),
    },
  ],
  [
    'an error in an imported partial names the partial',
    {
      files: {
        'site/main.less': '@import "partials/bad";\n',
        'site/partials/bad.less': '\n\n.x { color: @nope; }\n',
      },
      assets: ['site/main.less'],
      outcome: compile(
        'site/partials/bad.less',
        3,
        13,
        ['variable @nope is undefined', '(building "site/main.less")'],
        'site/main.less',
      ),
    },
  ],
  [
    'a missing @import',
    {
      files: { 'site/imports.less': '.a { color: red; }\n@import "nope.less";\n' },
      assets: ['site/imports.less'],
      outcome: compile('site/imports.less', 2, 1, ["'nope.less' wasn't found"]),
    },
  ],
  [
    'an @import of a CSS file the browser would have to fetch',
    {
      files: { 'site/plain.css': '@import "reset.css";\n.a { color: red; }\n' },
      assets: ['site/plain.css'],
      // less's source map does not cover the @import, so the place is the file alone.
      outcome: compile('site/plain.css', undefined, undefined, [
        '@import of the CSS file "reset.css"',
      ]),
    },
  ],
  [
    'an @import cycle builds: less imports each file once',
    {
      files: {
        'site/cycle-a.less': '@import "cycle-b.less";\n.a { color: red; }\n',
        'site/cycle-b.less': '@import "cycle-a.less";\n.b { color: blue; }\n',
      },
      assets: ['site/cycle-a.less'],
      outcome: {
        builds: (read) => {
          const css = read('main.css');
          expect(css.match(/\.a\{/g)).toHaveLength(1);
          expect(css.match(/\.b\{/g)).toHaveLength(1);
        },
      },
    },
  ],
  [
    'an @import (multiple) cycle fails instead of recursing for ever',
    {
      files: {
        'site/cycle-a.less': '@import (multiple) "cycle-b.less";\n.a { color: red; }\n',
        'site/cycle-b.less': '@import (multiple) "cycle-a.less";\n.b { color: blue; }\n',
      },
      assets: ['site/cycle-a.less'],
      outcome: compile('site/cycle-a.less', 1, 1, ['imported over 100 times']),
      within: 5_000,
    },
  ],
  [
    'a url() to a missing file',
    {
      files: { 'site/icons.css': '.a {\n  background: url(img/none.png);\n}\n' },
      assets: ['site/icons.css'],
      outcome: compile('site/icons.css', 2, 3, ['url("img/none.png") points to a missing file']),
    },
  ],
  [
    'a url() that leaves the load path',
    {
      files: { 'site/icons.css': '.a { background: url("../../../../etc/passwd"); }\n' },
      assets: ['site/icons.css'],
      outcome: compile('site/icons.css', 1, 6, ['points outside the load path']),
    },
  ],
  [
    'a script that is not UTF-8',
    {
      files: { 'site/latin1.js': Buffer.from('var a = 1;\nvar s = "caf\xe9";\n', 'latin1') },
      assets: ['site/latin1.js'],
      outcome: compile('site/latin1.js', 2, 13, ['not valid UTF-8']),
    },
  ],
  [
    'a stylesheet in UTF-16',
    {
      files: { 'site/utf16.css': Buffer.from('\ufeff.a { color: red; }\n', 'utf16le') },
      assets: ['site/utf16.css'],
      outcome: compile('site/utf16.css', 1, 1, ['not valid UTF-8']),
    },
  ],
  [
    'empty files build: an empty script and empty stylesheets are valid',
    {
      files: { 'e/empty.js': '', 'e/empty.css': '', 'e/empty.less': '', 'e/blank.js': ' \n\n' },
      assets: () => ['e/empty.js', 'e/blank.js', 'e/empty.css', 'e/empty.less'],
      outcome: {
        builds: (read) => {
          expect(read('main.js').trim()).toBe('//# sourceMappingURL=MAP');
          expect(read('main.css').trim()).toBe('/*# sourceMappingURL=MAP */');
        },
      },
    },
  ],
  [
    'a 20 MB script fails at once, naming its size and the option',
    {
      files: { 'site/huge.js': bigScript() },
      assets: ['site/huge.js'],
      outcome: compile('site/huge.js', undefined, undefined, [
        'the file is 20,000,032 B, over the 10,000,000 B',
        'maxSourceBytes.js',
      ]),
      within: 3_000,
    },
  ],
  [
    'a 20 MB stylesheet fails at once',
    {
      files: { 'site/huge.css': bigStyle() },
      assets: ['site/huge.css'],
      outcome: compile('site/huge.css', undefined, undefined, [
        'over the 1,000,000 B',
        'maxSourceBytes.css',
      ]),
      within: 3_000,
    },
  ],
  [
    'a file of exactly maxSourceBytes builds',
    {
      files: { 'site/edge.js': `window.edge = "${'x'.repeat(1000 - 18)}";\n` },
      assets: () => ['site/edge.js'],
      options: { maxSourceBytes: { js: 1000 } },
      outcome: { builds: (read) => expect(read('main.js')).toContain('window.edge=') },
    },
  ],
];

// ---------------------------------------------------------------------------------------------

let good: AssetRegistry;
let outDir: string;
let app: Express;
let server: RawServer;
let main: ManifestBundle;
let mainBody: string;
const CANARY = `CANARY-${process.pid}-bad-input`;

beforeAll(async () => {
  good = await builtSite({ logger: false });
  outDir = good.options.outDir;
  main = good.current.bundles.find((bundle) => bundle.id === 'main.js')!;
  mainBody = fs.readFileSync(path.join(outDir, main.file), 'utf8');
  outside = tempDir('asset-outside-');
  writeFiles(outside, { 'secret.js': `window.secret = "${CANARY}";\n` });
  // A canary next to outDir and one inside it that no build lists: neither may ever be served.
  writeFiles(path.dirname(outDir), { 'canary.js': CANARY });
  writeFiles(outDir, { 'canary.txt': CANARY });
  app = express();
  app.use(good.middleware());
  app.get('/page', (req: Request, res: Response) => {
    res.requireAssets('site/widgets.js');
    res.send(`<head>${res.locals.assetTags('css')}</head>${res.locals.assetTags('js')}`);
  });
  app.get('/require', (req: Request, res: Response) => {
    res.requireAssets(...(JSON.parse(String(req.query.names)) as string[]));
    res.send('ok');
  });
  app.use(errorHandler);
  server = await listenRaw(app);
});

afterAll(() => server.close());

/** Every file of outDir with its bytes; the compile cache apart. */
function split(files: Record<string, string>) {
  const cache = Object.entries(files).filter(([file]) => file.startsWith('.cache'));
  const rest = Object.entries(files).filter(([file]) => !file.startsWith('.cache'));
  return { cache: Object.fromEntries(cache), rest: Object.fromEntries(rest) };
}

/**
 * Nothing on disk changed: every file as it was, and nothing added (a temporary file, say), but
 * in the compile cache, which may learn the files that compiled before a failure (its entries
 * are named by their inputs' hashes, so they can never change what a build makes).
 */
function expectUnchanged(before: Record<string, string>): void {
  const now = split(snapshot(outDir));
  const then = split(before);
  expect(now.rest).toEqual(then.rest);
  expect(now.cache).toMatchObject(then.cache);
}

/** The last good build still answers, with the same bytes. */
async function expectStillServing(): Promise<void> {
  expect(good.current.bundles).toContain(main);
  const response = await request(app).get(main.url).set('Accept-Encoding', 'identity');
  expect(response.status).toBe(200);
  expect(response.text).toBe(mainBody);
}

function expectError(caught: unknown, expected: Expected): void {
  expect(caught).toBeInstanceOf(expected.type);
  const error = caught as Error & Record<string, unknown>;
  for (const key of ['code', 'asset', 'file'] as const) {
    if (expected[key] !== undefined)
      expect({ [key]: error[key] }).toEqual({ [key]: expected[key] });
  }
  if (expected.type === AssetBuildError) {
    expect({ line: error.line, column: error.column }).toEqual({
      line: expected.line,
      column: expected.column,
    });
  }
  for (const fragment of expected.message) expect(error.message).toMatch(fragment);
}

// Requests: answered by the library (404, 405, 304, 200) or by node itself (400, 431), never 5xx,
// never with a byte of a file outside the build.

interface RequestCase {
  target: string | Buffer | (() => string | Buffer);
  method?: string;
  headers?: Record<string, string | Buffer> | (() => Record<string, string>);
  /** The status the request must get, or a check of the whole response. */
  expect: number | ((response: RawResponse) => void);
}

const bundlePath = () => `/assets/${main.file}`;

const TRAVERSALS = [
  '/assets/../vendor/lib.js',
  '/assets/..%2fvendor/lib.js',
  '/assets/..%2Fvendor%2Flib.js',
  '/assets/%2e%2e/vendor/lib.js',
  '/assets/%2E%2e%2fvendor%2flib.js',
  '/assets/.%2e/vendor/lib.js',
  '/assets/%2e./vendor/lib.js',
  '/assets/%252e%252e%252fvendor%252flib.js',
  '/assets/%25252e%25252e/vendor/lib.js',
  '/assets/..\\vendor\\lib.js',
  '/assets/..%5cvendor%5clib.js',
  '/assets/%5c..%5c..%5ccanary.js',
  '/assets/....//vendor/lib.js',
  '/assets/..;/vendor/lib.js',
  '/assets/%c0%ae%c0%ae/vendor/lib.js',
  '/assets/%c0%ae%c0%ae%c0%afvendor%c0%aflib.js',
  '/assets/%e0%80%ae%e0%80%ae/vendor/lib.js',
  '/assets/%uff0e%uff0e/vendor/lib.js',
  '/assets/%ef%bc%8e%ef%bc%8e%ef%bc%8fcanary.js',
  '/assets/../canary.js',
  '/assets/../../package.json',
  '/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/assets/canary.txt',
  '/assets/manifest.json',
  '/assets/.cache/',
  '/assets/%2ecache/',
  '/assets/out/canary.txt',
  '/assets//etc/passwd',
  '/assets/file:///etc/passwd',
  '/assets/?../canary.js',
  '/assets/#/../canary.js',
  '//assets/../canary.js',
  '/../assets/../canary.js',
  'http://localhost/assets/../canary.js',
  '/assets/vendor/lib.js',
  '/assets/site/base.less',
];

const whole =
  (status = 200) =>
  (response: RawResponse) => {
    expect(response.status).toBe(status);
    expect(decodedBody(response).toString()).toBe(mainBody);
  };

const REQUEST_CASES: [string, RequestCase][] = [
  ...TRAVERSALS.flatMap((target): [string, RequestCase][] => [
    [`traversal: ${target}`, { target: Buffer.from(target, 'latin1'), expect: 404 }],
    [
      `traversal, br and gzip accepted: ${target}`,
      {
        target: Buffer.from(target, 'latin1'),
        headers: { 'Accept-Encoding': 'br, gzip' },
        expect: 404,
      },
    ],
  ]),
  ['a NUL byte escaped after the name', { target: () => `${bundlePath()}%00`, expect: 404 }],
  ['a NUL byte escaped before it', { target: () => `/assets/%00${main.file}`, expect: 404 }],
  ['a NUL byte escaped as a folder', { target: () => `/assets/%00/../${main.file}`, expect: 404 }],
  ['a raw NUL byte: node answers 400', { target: () => `${bundlePath()}\0.map`, expect: 400 }],
  ['a raw space: node answers 400', { target: '/assets/a b.js', expect: 400 }],
  ['a raw control byte: node answers 400', { target: '/assets/\x01.js', expect: 400 }],
  [
    'raw UTF-8 bytes (fullwidth dots): node answers 400',
    { target: Buffer.from('/assets/\uff0e\uff0e/vendor/lib.js'), expect: 400 },
  ],
  ['an 8,000-byte path', { target: `/assets/${'a'.repeat(8_000)}.js`, expect: 404 }],
  [
    'an 8,000-byte path of "../"',
    { target: `/assets/${'../'.repeat(2_600)}canary.js`, expect: 404 },
  ],
  [
    'a 20,000-byte path: node answers 431',
    { target: `/assets/${'a'.repeat(20_000)}`, expect: 431 },
  ],
  ['a 1 MB path: node answers 431', { target: `/assets/${'%2e'.repeat(350_000)}`, expect: 431 }],
  [
    'an 8,000-byte query after a good name',
    { target: () => `${bundlePath()}?${'x'.repeat(8_000)}`, expect: whole() },
  ],
  ...[
    'br;q=',
    ';;;',
    ',,,',
    'gzip;q=1.5',
    'br;q=-1',
    'br;q=abc, gzip;q=',
    '*;q=0',
    'identity;q=0',
    'br;q=0, gzip;q=0, identity;q=0, *;q=0',
    '*',
    'BR',
    'x-gzip',
    'gzip'.padEnd(8_000, ', gzip'),
    'br\t;\tq=0.5',
    '\xff\xfe',
  ].map((value): [string, RequestCase] => [
    `Accept-Encoding: ${value.slice(0, 40)}`,
    {
      target: bundlePath,
      headers: { 'Accept-Encoding': Buffer.from(value, 'latin1') },
      expect: whole(),
    },
  ]),
  [
    'If-None-Match: * matches any version',
    { target: bundlePath, headers: { 'If-None-Match': '*' }, expect: 304 },
  ],
  [
    'If-None-Match: the weak form of the ETag',
    {
      target: bundlePath,
      headers: () => ({ 'If-None-Match': `W/${good.current.files.get(main.file)!.etag}` }),
      expect: 304,
    },
  ],
  ...[
    '"',
    '"unterminated',
    'W/',
    'W/""',
    ',,,',
    '"a", "b", W/"c"',
    'x'.repeat(8_000),
    '"x",'.repeat(2_000),
    '\xff"',
  ].map((value): [string, RequestCase] => [
    `If-None-Match: ${value.slice(0, 40)}`,
    {
      target: bundlePath,
      headers: { 'If-None-Match': Buffer.from(value, 'latin1') },
      expect: whole(),
    },
  ]),
  ...[
    'bytes=0-10',
    'bytes=-5',
    'bytes=10-5',
    'bytes=abc',
    'bytes=999999999999-',
    'bytes=0-0,1-1,2-2',
    `bytes=${'0-0,'.repeat(2_000)}0-0`,
    'items=0-1',
  ].map((value): [string, RequestCase] => [
    `Range: ${value.slice(0, 40)} is ignored: the whole file`,
    { target: bundlePath, headers: { Range: value, 'If-Range': '"x"' }, expect: whole() },
  ]),
  ...['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK'].map(
    (method): [string, RequestCase] => [
      `${method} on a bundle`,
      {
        target: bundlePath,
        method,
        expect: (response) => {
          expect(response.status).toBe(405);
          expect(response.headers.allow).toBe('GET, HEAD');
        },
      },
    ],
  ),
  ['POST on no file', { target: '/assets/nothing.js', method: 'POST', expect: 404 }],
  [
    'HEAD: the headers, no body',
    {
      target: bundlePath,
      method: 'HEAD',
      expect: (response) => {
        expect(response.status).toBe(200);
        expect(response.headers['content-length']).toBe(String(Buffer.byteLength(mainBody)));
        expect(response.body.length).toBe(0);
      },
    },
  ],
  ['an unknown method: node answers 400', { target: '/assets/x.js', method: 'FOO', expect: 400 }],
  ['a lowercase method: node answers 400', { target: bundlePath, method: 'get', expect: 400 }],
  ['CONNECT: node closes the connection', { target: '/assets/x', method: 'CONNECT', expect: 0 }],
  ['OPTIONS *', { target: '*', method: 'OPTIONS', expect: 404 }],
];

async function runRequest(spec: RequestCase): Promise<void> {
  const target = typeof spec.target === 'function' ? spec.target() : spec.target;
  const headers = typeof spec.headers === 'function' ? spec.headers() : spec.headers;
  const response = await server.request(target, headers, spec.method);
  expect(response.status).toBeLessThan(500);
  if (typeof spec.expect === 'number') expect(response.status).toBe(spec.expect);
  else spec.expect(response);
  const received = response.bytes.toString('latin1');
  for (const secret of [CANARY, SITE_FILES['vendor/lib.js'], SITE_FILES['site/base.less']]) {
    expect(received).not.toContain(secret);
  }
}

// API and template arguments: res.requireAssets() in a handler, the same through a real request
// (JSON-able arguments only), and {% requireAsset %} in a template.

interface ArgumentCase {
  /** Arguments of `res.requireAssets()` (and of `requireAsset` in a template). */
  names: () => unknown[];
  /** The error, with its suggestions for an unknown name, or the bundles the page then needs. */
  outcome: (Expected & { suggestions?: string[] }) | { bundles: string[] };
  within?: number;
}

const SITE_NAMES = SITE_ASSETS.map((entry) => (typeof entry === 'string' ? entry : entry.path));
const ALL_BUNDLES = ['main.css', 'main.js', 'admin.css', 'admin.js'];
const hundredThousand = () => Array.from({ length: 100_000 }, (_, i) => SITE_NAMES[i % 6]);
const longName = `site/${'w'.repeat(1_000_000)}.js`;

const missing = (asset: string, suggestions: string[] = []) => ({
  type: AssetMissingError,
  code: 'ASSET_MISSING',
  message: [`${JSON.stringify(asset).slice(0, 100)}`, 'is not registered'],
  asset,
  suggestions,
});
const notString = (fragment: string): Expected => ({
  type: TypeError,
  message: ['Asset names must be strings', fragment],
});

const ARGUMENT_CASES: [string, ArgumentCase][] = [
  ['a number', { names: () => [42], outcome: notString('argument 1 is the number 42') }],
  ['null', { names: () => [null], outcome: notString('argument 1 is null') }],
  ['undefined', { names: () => [undefined], outcome: notString('argument 1 is undefined') }],
  ['an object', { names: () => [{}], outcome: notString('is an object') }],
  [
    'an object that prints as a name',
    { names: () => [{ toString: () => 'site/widgets.js' }], outcome: notString('an object') },
  ],
  ['a boxed string', { names: () => [new String('site/widgets.js')], outcome: notString('') }],
  ['a symbol', { names: () => [Symbol('x')], outcome: notString('the symbol Symbol(x)') }],
  ['a function', { names: () => [() => 'x'], outcome: notString('the function') }],
  [
    'a bad name in a list',
    { names: () => [['site/widgets.js', 7]], outcome: notString('argument 2 is the number 7') },
  ],
  ['a list in a list', { names: () => [[['site/widgets.js']]], outcome: notString('an array') }],
  ['an empty name', { names: () => [''], outcome: missing('') }],
  ...['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'prototype', 'valueOf'].map(
    (key): [string, ArgumentCase] => [
      `the prototype key ${key}`,
      { names: () => [key], outcome: missing(key) },
    ],
  ),
  [
    'a NUL byte',
    {
      names: () => ['site/widgets.js\0'],
      outcome: missing('site/widgets.js\0', ['site/widgets.js', 'site/widgets.less']),
    },
  ],
  [
    'a 1 MB name, answered at once',
    { names: () => [longName], outcome: missing(longName), within: 500 },
  ],
  ['no names', { names: () => [], outcome: { bundles: [] } }],
  ['an empty list', { names: () => [[]], outcome: { bundles: [] } }],
  [
    '100,000 names in a list',
    { names: () => [hundredThousand()], outcome: { bundles: ALL_BUNDLES }, within: 1_000 },
  ],
  [
    '100,000 names as arguments',
    { names: hundredThousand, outcome: { bundles: ALL_BUNDLES }, within: 1_000 },
  ],
  [
    '100,000 names, the last unknown',
    {
      names: () => [[...hundredThousand(), 'site/widgets.jss']],
      outcome: missing('site/widgets.jss', ['site/widgets.js', 'site/widgets.less']),
      within: 1_000,
    },
  ],
  [
    '100,000 unknown names',
    {
      names: () => [Array.from({ length: 100_000 }, (_, i) => `x/${i}.js`)],
      outcome: missing('x/0.js'),
      within: 1_000,
    },
  ],
];

type Via = 'handler' | 'request' | 'template';
const VIA_LABELS: Record<Via, string> = {
  handler: 'res.requireAssets()',
  request: 'res.requireAssets() in a route',
  template: '{% requireAsset %}',
};

/** Whether the arguments survive JSON, so that a request can carry them. */
function isJson(names: unknown[]): boolean {
  const plain = (value: unknown): boolean =>
    value === null ||
    ['string', 'number', 'boolean'].includes(typeof value) ||
    (Array.isArray(value) && value.every(plain)) ||
    (typeof value === 'object' &&
      Object.getPrototypeOf(value) === Object.prototype &&
      Object.values(value).every(plain));
  return names.every(plain) && JSON.stringify(names).length < 6_000;
}

async function runArguments(spec: ArgumentCase, via: Via): Promise<void> {
  const names = spec.names();
  const { outcome } = spec;
  if (via === 'request') {
    const response = await request(app)
      .get('/require')
      .query({ names: JSON.stringify(names) });
    if ('bundles' in outcome) expect(response.status).toBe(200);
    else {
      expect(response.status).toBe(500);
      expect(response.body).toMatchObject({ name: outcome.type.name });
      expect(response.body.code).toBe(outcome.code);
    }
    return;
  }
  const page = good.page();
  const started = Date.now();
  let caught: unknown;
  try {
    if (via === 'handler') page.require(...names);
    else {
      const env = good.nunjucks(new nunjucks.Environment());
      const value = names.length === 1 ? names[0] : names;
      env.renderString('{% requireAsset names %}', { pageAssets: page, names: value });
    }
  } catch (error) {
    caught = error;
  }
  if (spec.within) expect(Date.now() - started).toBeLessThan(spec.within);
  if ('bundles' in outcome) {
    expect(caught).toBeUndefined();
    const urls = outcome.bundles.map((id) => good.current.bundles.find((b) => b.id === id)!.url);
    const tags = page.tags('css') + page.tags('js');
    const printed = [...tags.matchAll(/(?:href|src)="([^"]+)"/g)].map((match) => match[1]);
    expect(printed.sort()).toEqual(urls.sort());
    return;
  }
  if (via === 'handler') {
    expectError(caught, outcome);
    if ('suggestions' in outcome) {
      expect((caught as AssetMissingError).suggestions).toEqual(outcome.suggestions);
    }
    return;
  }
  // nunjucks wraps the error in a plain Error (unless its `dev` flag is on) with the tag's place
  // and the original's message; the page keeps the original, which res.render gives the wrapper.
  expect(caught).toBeInstanceOf(Error);
  const error = caught as Error;
  expect(error.message).toMatch(/\[Line 1, Column \d+\]/);
  for (const fragment of outcome.message) expect(error.message).toMatch(fragment);
  if (outcome.type === AssetMissingError) expectError(page.missing, outcome);
}

const KINDS: unknown[] = ['__proto__', 'constructor', 'hasOwnProperty', 'CSS', '', undefined, 42];

async function runKind(kind: unknown): Promise<void> {
  const page = good.page();
  expect(() => page.placeholder(kind)).toThrow(TypeError);
  expect(() => page.placeholder(kind)).toThrow(/Asset tags take "css" or "js", not /);
  const env = good.nunjucks(new nunjucks.Environment());
  expect(() => env.renderString('{% assets kind %}', { pageAssets: page, kind })).toThrow(
    /Asset tags take "css" or "js"/,
  );
}

async function runBuild(spec: BuildCase): Promise<void> {
  const root = tempDir();
  writeFiles(root, { ...SITE_FILES, ...spec.files });
  spec.setup?.(root);
  const assets =
    typeof spec.assets === 'function'
      ? spec.assets(root)
      : [...SITE_ASSETS, ...(spec.assets ?? [])];
  const { outcome } = spec;
  const options = {
    root,
    // A case that must build gets a folder of its own; every other one aims at the live build.
    outDir: 'builds' in outcome ? path.join(root, 'out') : outDir,
    assets,
    mode: 'production',
    logger: false,
    ...spec.options,
  } as AssetOptions;
  const started = Date.now();
  const result = await (async () => defineAssets(options).build())().then(
    (build) => ({ build, error: undefined }),
    (error: unknown) => ({ build: undefined, error: error ?? new Error('undefined thrown') }),
  );
  if (spec.within) expect(Date.now() - started).toBeLessThan(spec.within);
  if (!('builds' in outcome)) {
    expect(result.build).toBeUndefined();
    expectError(result.error, outcome);
    return;
  }
  expect(result.error).toBeUndefined();
  outcome.builds((id) => {
    const bundle = result.build!.bundles.find((candidate) => candidate.id === id)!;
    const text = fs.readFileSync(path.join(root, 'out', bundle.file), 'utf8');
    return text.replace(`${bundle.file}.map`, 'MAP');
  });
}

type Case =
  | { build: BuildCase }
  | { request: RequestCase }
  | { names: ArgumentCase; via: Via }
  | { kind: unknown };

const CASES: [string, Case][] = [
  ...CONFIG_CASES.map(([label, build]): [string, Case] => [`configuration: ${label}`, { build }]),
  ...COMPILE_CASES.map(([label, build]): [string, Case] => [`build: ${label}`, { build }]),
  ...REQUEST_CASES.map(([label, spec]): [string, Case] => [`HTTP: ${label}`, { request: spec }]),
  ...ARGUMENT_CASES.flatMap(([label, names]) =>
    (['handler', 'request', 'template'] as const)
      .filter((via) => via !== 'request' || isJson(names.names()))
      .map((via): [string, Case] => [`${VIA_LABELS[via]}: ${label}`, { names, via }]),
  ),
  ...KINDS.map((kind): [string, Case] => [
    `assetTags() and {% assets %}: ${String(kind)}`,
    { kind },
  ]),
];

test.each(CASES)('bad input: %s', async (_label, spec) => {
  const before = snapshot(outDir);
  if ('build' in spec) await runBuild(spec.build);
  else if ('request' in spec) await runRequest(spec.request);
  else if ('names' in spec) await runArguments(spec.names, spec.via);
  else await runKind(spec.kind);
  expectUnchanged(before);
  await expectStillServing();
});
