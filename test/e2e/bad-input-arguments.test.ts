import nunjucks from 'nunjucks';
import request from 'supertest';
import { AssetMissingError } from '../../src';
import { SITE_ASSETS } from '../app';
import { app, expectError, good, leavesGoodBuild, useGoodBuild, type Expected } from './badInput';

/**
 * Bad arguments to the page API and the template tags: names that are not strings, unknown and
 * prototype names, huge lists, and asset kinds other than "css" and "js". After each the build on
 * disk is as it was and the last good build still serves the same bytes.
 */

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

type Case = { names: ArgumentCase; via: Via } | { kind: unknown };

const CASES: [string, Case][] = [
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

useGoodBuild();

test.each(CASES)('bad input: %s', (_label, spec) =>
  leavesGoodBuild(() =>
    'names' in spec ? runArguments(spec.names, spec.via) : runKind(spec.kind),
  ),
);
