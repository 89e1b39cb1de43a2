import { AssetBuildError } from '../../src';
import { leavesGoodBuild, runBuild, useGoodBuild, type BuildCase, type Expected } from './badInput';

/**
 * Sources the compilers reject: syntax errors, undefined variables, missing imports and url()s,
 * files that are not UTF-8 or too big. Each is an AssetBuildError with the file, line and column
 * the compiler names; after each the build on disk is as it was and the last good build still
 * serves the same bytes.
 */

const compile = (
  file: string,
  line: number | undefined,
  column: number | undefined,
  message: (string | RegExp)[],
  asset = file,
): Expected => ({ type: AssetBuildError, code: 'ASSET_BUILD', message, asset, file, line, column });
const MB20 = 20_000_000;
const bigScript = () => 'window.n = (window.n || 0) + 1;\n'.repeat(MB20 / 32 + 1);
const bigStyle = () => '.c { color: #336699; margin: 0 auto; }\n'.repeat(MB20 / 40 + 1);

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

useGoodBuild();

test.each(COMPILE_CASES.map(([label, build]): [string, BuildCase] => [`build: ${label}`, build]))(
  'bad input: %s',
  (_label, build) => leavesGoodBuild(() => runBuild(build)),
);
