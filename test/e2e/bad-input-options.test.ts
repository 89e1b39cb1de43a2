import { leavesGoodBuild, runBuild, useGoodBuild, type BuildCase, type Expected } from './badInput';

/**
 * Options of the wrong type, unknown options and malformed asset entries: each is a TypeError
 * that names the option, before anything else; after each the build on disk is as it was and the
 * last good build still serves the same bytes.
 */

const option = (name: string): Expected => ({ type: TypeError, message: [`"${name}`] });

const OPTION_CASES: [string, BuildCase][] = [
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

useGoodBuild();

test.each(
  OPTION_CASES.map(([label, build]): [string, BuildCase] => [`configuration: ${label}`, build]),
)('bad input: %s', (_label, build) => leavesGoodBuild(() => runBuild(build)));
