import { AssetConfigError, AssetMissingError } from '../src';
import { resolveOptions } from '../src/options';
import type { AssetEntry } from '../src/options';
import { Registry } from '../src/registry';

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
