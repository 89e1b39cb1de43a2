import fs from 'node:fs';
import path from 'node:path';
import { AssetConfigError, type AssetEntry } from '../../src';
import { SITE_ASSETS } from '../app';
import {
  leavesGoodBuild,
  outside,
  runBuild,
  useGoodBuild,
  type BuildCase,
  type Expected,
} from './badInput';

/**
 * Bad configuration: dependencies, cycles, duplicates, names that could leave the load path,
 * symlinks, unknown extensions and missing files. Each is an AssetConfigError naming the asset,
 * and after each the build on disk is as it was and the last good build still serves the same
 * bytes.
 */

const config = (message: (string | RegExp)[], asset?: string): Expected => ({
  type: AssetConfigError,
  code: 'ASSET_CONFIG',
  message,
  asset,
});

const cycle = (...names: string[]): AssetEntry[] =>
  names.map((name, i) => ({ path: name, deps: [names[(i + 1) % names.length]] }));
const filesOf = (...names: string[]) => Object.fromEntries(names.map((name) => [name, '1;\n']));

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
];

useGoodBuild();

test.each(
  CONFIG_CASES.map(([label, build]): [string, BuildCase] => [`configuration: ${label}`, build]),
)('bad input: %s', (_label, build) => leavesGoodBuild(() => runBuild(build)));
