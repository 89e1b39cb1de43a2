import { AssetConfigError, AssetMissingError, defineAssets } from '../../src';
import { resolveOptions } from '../../src/registry/options';
import type { AssetEntry } from '../../src/registry/options';
import { Registry } from '../../src/registry/registry';

function registry(assets: AssetEntry[]): Registry {
  return new Registry(resolveOptions({ root: 'x', outDir: 'y', assets }).assets);
}

describe('Registry', () => {
  test('orders assets by dependency, declaration order breaking ties', () => {
    const r = registry([
      { path: 'c.js', deps: ['b.js'] },
      'a.js',
      { path: 'b.js', deps: ['a.js'] },
      'd.js',
    ]);
    expect(r.order.map((a) => a.name)).toEqual(['a.js', 'b.js', 'c.js', 'd.js']);
    expect(r.closure('c.js')).toEqual(['a.js', 'b.js', 'c.js']);
  });

  test('a cycle is an AssetConfigError that shows the whole path', () => {
    const make = () =>
      registry([
        { path: 'a.js', deps: ['b.js'] },
        { path: 'b.js', deps: ['c.js'] },
        { path: 'c.js', deps: ['a.js'] },
      ]);
    expect(make).toThrow(AssetConfigError);
    expect(make).toThrow('a.js -> b.js -> c.js -> a.js');
  });

  test('an unknown name is an AssetMissingError with suggestions', () => {
    const r = registry(['site/widgets.js', 'site/base.less']);
    const error = (() => {
      try {
        r.get('site/widget.js');
      } catch (caught) {
        return caught as AssetMissingError;
      }
    })();
    expect(error).toBeInstanceOf(AssetMissingError);
    expect(error?.code).toBe('ASSET_MISSING');
    expect(error?.suggestions).toEqual(['site/widgets.js']);
    expect(r.has('__proto__')).toBe(false);
  });
});

/** The AssetConfigError that making the registry throws, for checks on its fields. */
function configError(assets: AssetEntry[]): AssetConfigError {
  try {
    registry(assets);
  } catch (error) {
    expect(error).toBeInstanceOf(AssetConfigError);
    return error as AssetConfigError;
  }
  throw new Error('expected an AssetConfigError');
}

describe('Registry: configuration errors', () => {
  test('an unknown dep names both assets and suggests the nearest registered name', () => {
    const error = configError([
      'site/widgets.js',
      { path: 'site/app.js', deps: ['site/widget.js'] },
    ]);
    expect(error.code).toBe('ASSET_CONFIG');
    expect(error.asset).toBe('site/app.js');
    expect(error.message).toBe(
      'Asset "site/app.js" depends on "site/widget.js", which is not registered ' +
        '(did you mean "site/widgets.js"?)',
    );
  });

  test('an unknown dep with nothing near it has no suggestion', () => {
    const error = configError([{ path: 'a.js', deps: ['vendor/something-else.js'] }]);
    expect(error.message).not.toContain('did you mean');
  });

  test.each<[string, AssetEntry[], string]>([
    ['self', [{ path: 'a.js', deps: ['a.js'] }], 'a.js -> a.js'],
    [
      'direct',
      [
        { path: 'a.js', deps: ['b.js'] },
        { path: 'b.js', deps: ['a.js'] },
      ],
      'a.js -> b.js -> a.js',
    ],
    [
      'long, reached from outside',
      [
        { path: 'entry.js', deps: ['a.js'] },
        { path: 'a.js', deps: ['b.js'] },
        { path: 'b.js', deps: ['c.js'] },
        { path: 'c.js', deps: ['d.js'] },
        { path: 'd.js', deps: ['b.js'] },
      ],
      'b.js -> c.js -> d.js -> b.js',
    ],
  ])('a %s cycle shows its whole path', (_kind, assets, cycle) => {
    const error = configError(assets);
    expect(error.message).toBe(`Dependency cycle: ${cycle}`);
  });

  test('a duplicate declaration', () => {
    const error = configError(['a.js', 'b.js', { path: 'a.js', bundle: 'admin' }]);
    expect(error.message).toBe('Asset "a.js" is declared twice');
    expect(error.asset).toBe('a.js');
  });

  test.each([
    ['../secrets.js', '".."'],
    ['site/../../etc/app.js', '".."'],
    ['./site/app.js', '"."'],
    ['site//app.js', 'empty segments'],
    ['/etc/app.js', 'absolute'],
    ['C:/app/site.js', 'absolute'],
    ['site\\app.js', '"/" as separator'],
    ['site/app.ts', 'unknown extension'],
    ['site/logo.png', 'unknown extension'],
    ['site/README', 'unknown extension'],
  ])('the name %p is refused (%s)', (name, why) => {
    const error = configError([name]);
    expect(error.asset).toBe(name);
    expect(error.message).toContain(why);
  });

  test('errors are found at definition, by defineAssets', () => {
    const define = (assets: AssetEntry[]) => () => defineAssets({ root: 'x', outDir: 'y', assets });
    expect(define([{ path: 'a.js', deps: ['b.js'] }])).toThrow(AssetConfigError);
    expect(define(['../a.js'])).toThrow(AssetConfigError);
    expect(define(['a.js', 'a.js'])).toThrow(AssetConfigError);
  });
});

describe('Registry: bundles', () => {
  test('one bundle per group and kind, members in dependency order', () => {
    const r = registry([
      { path: 'site/app.js', deps: ['site/lib.js'] },
      'site/base.less',
      'site/lib.js',
      { path: 'admin/editor.js', bundle: 'admin' },
      'site/reset.css',
    ]);
    const members = r.bundles.map((b) => [b.id, b.members.map((m) => m.name)]);
    expect(Object.fromEntries(members)).toEqual({
      'main.js': ['site/lib.js', 'site/app.js'],
      'main.css': ['site/base.less', 'site/reset.css'],
      'admin.js': ['admin/editor.js'],
    });
    expect(r.bundleOf('site/app.js').id).toBe('main.js');
    expect(r.bundleOf('admin/editor.js')).toMatchObject({ group: 'admin', kind: 'js' });
  });

  test('a dep in another group puts that group first: what a file needs loads first', () => {
    const r = registry([
      { path: 'site/app.js', deps: ['jquery.js'] },
      'site/base.less',
      { path: 'jquery.js', bundle: 'vendor' },
      { path: 'vendor.css', bundle: 'vendor' },
    ]);
    expect(r.order.map((a) => a.name)).toEqual([
      'site/base.less',
      'jquery.js',
      'site/app.js',
      'vendor.css',
    ]);
    const ids = r.bundles.map((b) => b.id);
    expect(ids.indexOf('vendor.js')).toBeLessThan(ids.indexOf('main.js'));
    // No CSS member depends across groups, so the CSS bundles keep declaration order.
    expect(ids.indexOf('main.css')).toBeLessThan(ids.indexOf('vendor.css'));
    expect(r.closure('site/app.js')).toEqual(['jquery.js', 'site/app.js']);
  });

  test('transitive cross-group deps order bundles too', () => {
    const r = registry([
      { path: 'admin/editor.js', deps: ['site/widgets.js'], bundle: 'admin' },
      { path: 'site/widgets.js', deps: ['jquery.js'] },
      { path: 'jquery.js', bundle: 'vendor' },
    ]);
    expect(r.bundles.map((b) => b.id)).toEqual(['vendor.js', 'main.js', 'admin.js']);
  });

  test('bundles that need each other are an AssetConfigError', () => {
    const error = configError([
      { path: 'site/a.js', deps: ['vendor/b.js'] },
      { path: 'vendor/b.js', deps: ['site/c.js'], bundle: 'vendor' },
      'site/c.js',
    ]);
    expect(error.message).toContain(
      'Bundles depend on each other: main.js -> vendor.js -> main.js',
    );
  });
});
