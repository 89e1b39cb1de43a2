import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { defineAssets } from '../../src';
import type { AssetOptions } from '../../src';
import { kindOf, resolveOptions } from '../../src/registry/options';
import { tempDir, writeFiles } from '../helpers';

const run = promisify(execFile);

const valid: AssetOptions = { root: 'assets', outDir: 'public/gen', assets: ['site/app.js'] };

/** Options with one field replaced by a value that no type allows, as plain JS callers may pass. */
function withOption(key: string, value: unknown): AssetOptions {
  return { ...valid, [key]: value } as unknown as AssetOptions;
}

function typeErrorOf(make: () => unknown): TypeError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error('expected a TypeError');
}

describe('resolveOptions', () => {
  test('an unknown option is a TypeError that names it', () => {
    const error = typeErrorOf(() => resolveOptions(withOption('rooot', 'assets')));
    expect(error.message).toContain('"rooot"');
  });

  test.each([
    ['roots', 'Unknown option "roots". Did you mean "root"?'],
    ['outdir', 'Unknown option "outdir". Did you mean "outDir"?'],
    ['earlyHint', 'Unknown option "earlyHint". Did you mean "earlyHints"?'],
    ['minify', 'Unknown option "minify"'],
  ])('the unknown option %s says which known one is nearest', (key, message) => {
    expect(typeErrorOf(() => resolveOptions(withOption(key, 'x'))).message).toBe(message);
  });

  test('an unknown key of an asset entry says which known one is nearest', () => {
    const assets = [{ path: 'site/app.js', dep: ['vendor/lib.js'] }];
    expect(typeErrorOf(() => resolveOptions(withOption('assets', assets))).message).toBe(
      'Option "assets[0]" has an unknown key "dep". Did you mean "deps"?',
    );
  });

  test('defineAssets checks its options at definition', () => {
    expect(() => defineAssets(withOption('minify', true))).toThrow(/"minify"/);
    expect(() => defineAssets(null as unknown as AssetOptions)).toThrow(TypeError);
  });

  test.each<[string, unknown]>([
    ['root', undefined],
    ['root', 42],
    ['root', ''],
    ['root', []],
    ['root', ['assets', '']],
    ['outDir', undefined],
    ['outDir', ''],
    ['publicPath', 'assets/'],
    ['publicPath', 'ftp://cdn.example.com/a/'],
    ['publicPath', 7],
    ['mode', 'prod'],
    ['keepVersions', 0],
    ['keepVersions', 1.5],
    ['keepVersions', '3'],
    ['budget', []],
    ['budget', 'small'],
    ['logger', 'stderr'],
    ['serve', 'yes'],
    ['earlyHints', 1],
    ['report', 'off'],
    ['requirePrebuilt', 'true'],
    ['assets', undefined],
    ['assets', 'site/app.js'],
  ])('option %s = %p is a TypeError that names it', (key, value) => {
    const error = typeErrorOf(() => resolveOptions(withOption(key, value)));
    expect(error.message).toContain(`"${key}"`);
  });

  test.each<[unknown, string]>([
    [{ js: -1 }, 'budget.js'],
    [{ css: Number.NaN }, 'budget.css'],
    [{ js: '100' }, 'budget.js'],
    [{ images: 1000 }, 'budget.images'],
  ])('budget %p is a TypeError that names %s', (budget, name) => {
    expect(() => resolveOptions(withOption('budget', budget))).toThrow(`"${name}"`);
  });

  test('a budget field left undefined means no budget for that kind', () => {
    expect(resolveOptions({ ...valid, budget: { js: undefined, css: 100 } }).budget).toEqual({
      css: 100,
    });
  });

  test.each<[unknown, string]>([
    [42, 'assets[0]'],
    [{ path: '' }, 'assets[0].path'],
    [{ path: 'a.js', dep: ['b.js'] }, '"dep"'],
    [{ path: 'a.js', deps: 'b.js' }, 'assets[0].deps'],
    [{ path: 'a.js', deps: [''] }, 'assets[0].deps'],
    [{ path: 'a.js', bundle: 'my bundle' }, 'assets[0].bundle'],
    [{ path: 'a.js', bundle: '../admin' }, 'assets[0].bundle'],
  ])('asset entry %p is a TypeError that names %s', (entry, name) => {
    const assets = [entry] as AssetOptions['assets'];
    expect(() => resolveOptions({ ...valid, assets })).toThrow(TypeError);
    expect(() => resolveOptions({ ...valid, assets })).toThrow(name);
  });

  describe('root', () => {
    test('when a string, is a load path of one folder, resolved from the working folder', () => {
      expect(resolveOptions(valid).roots).toEqual([path.resolve('assets')]);
    });

    test('when a list, keeps its order', () => {
      const options = resolveOptions({ ...valid, root: ['assets', '/srv/node_modules'] });
      expect(options.roots).toEqual([path.resolve('assets'), '/srv/node_modules']);
    });
  });

  describe('mode', () => {
    const saved = process.env.NODE_ENV;
    afterEach(() => {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    });

    test('defaults to production when NODE_ENV is production, as Express does', () => {
      process.env.NODE_ENV = 'production';
      expect(resolveOptions(valid).mode).toBe('production');
    });

    test.each([['development'], ['test'], [undefined]])(
      'defaults to development when NODE_ENV is %p',
      (env) => {
        if (env === undefined) delete process.env.NODE_ENV;
        else process.env.NODE_ENV = env;
        expect(resolveOptions(valid).mode).toBe('development');
      },
    );

    test('when given, wins over NODE_ENV', () => {
      process.env.NODE_ENV = 'production';
      expect(resolveOptions({ ...valid, mode: 'development' }).mode).toBe('development');
    });
  });

  test('defaults, each written once', () => {
    const options = resolveOptions(valid);
    expect(options).toMatchObject({
      outDir: path.resolve('public/gen'),
      publicPath: '/assets/',
      keepVersions: 3,
      budget: {},
      serve: true,
      earlyHints: false,
      preloadFonts: true,
      criticalCss: false,
      report: true,
      requirePrebuilt: false,
    });
    expect(options.assets).toEqual([
      { name: 'site/app.js', kind: 'js', deps: [], bundle: 'main', preloadFonts: true, index: 0 },
    ]);
  });

  test('publicPath may be a CDN URL and always ends with "/"', () => {
    expect(resolveOptions({ ...valid, publicPath: '/static' }).publicPath).toBe('/static/');
    const cdn = resolveOptions({ ...valid, publicPath: 'https://cdn.example.com/a/' });
    expect(cdn.publicPath).toBe('https://cdn.example.com/a/');
  });

  test('assets as names or { path, deps, bundle }, the kind from the extension', () => {
    const options = resolveOptions({
      ...valid,
      assets: [
        'vendor/jquery.js',
        { path: 'site/base.less', deps: ['site/reset.css'] },
        'site/reset.css',
        { path: 'admin/editor.js', deps: ['vendor/jquery.js'], bundle: 'admin' },
      ],
    });
    expect(options.assets.map(({ name, kind, bundle }) => [name, kind, bundle])).toEqual([
      ['vendor/jquery.js', 'js', 'main'],
      ['site/base.less', 'css', 'main'],
      ['site/reset.css', 'css', 'main'],
      ['admin/editor.js', 'js', 'admin'],
    ]);
    expect(kindOf('Site/Base.LESS')).toBe('css');
    expect(kindOf('site/app.ts')).toBeUndefined();
  });

  test('the logger is a function, or false for silence', () => {
    const lines: string[] = [];
    resolveOptions({ ...valid, logger: (line) => lines.push(line) }).log('hello');
    expect(lines).toEqual(['hello']);
    expect(() => resolveOptions({ ...valid, logger: false }).log('dropped')).not.toThrow();
  });

  describe('the default logger', () => {
    /** Runs `script` in a Node.js process whose stderr is a pipe, not under test; its stderr. */
    async function stderrOf(script: string): Promise<string> {
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: '' };
      delete env.JEST_WORKER_ID;
      const file = path.join(tempDir(), 'script.ts');
      fs.writeFileSync(file, script);
      const { stderr } = await run(process.execPath, ['--import', 'tsx', file], {
        cwd: path.resolve(__dirname, '..', '..'),
        env,
      });
      return stderr;
    }

    test('when stderr is no TTY, prints development build errors, one line each', async () => {
      const root = tempDir();
      writeFiles(root, { 'bad.js': 'window.x = (;\n' });
      const stderr = await stderrOf(`
        import { defineAssets } from ${JSON.stringify(path.resolve(__dirname, '..', '..', 'src'))};
        (async () => {
          for (const name of ['bad.js', 'new\\nline.js']) {
            const options = { root: ${JSON.stringify(root)}, outDir: ${JSON.stringify(root)} };
            const assets = defineAssets({ ...options, assets: [name], mode: 'development' });
            await assets.build();
            await assets.close();
          }
        })();
      `);
      expect(stderr.split('\n')).toEqual([
        'asset-registry: bad.js:1:13: Unexpected token',
        // The file name's line break is not one of the log's.
        `asset-registry: Asset "new\\nline.js" has no file; looked in ${root}/new line.js`,
        '',
      ]);
    });

    test('when stderr is no TTY, prints nothing in production', async () => {
      const root = tempDir();
      writeFiles(root, { 'ok.js': 'window.ok = 1;\n' });
      const stderr = await stderrOf(`
        import { defineAssets } from ${JSON.stringify(path.resolve(__dirname, '..', '..', 'src'))};
        const options = { root: ${JSON.stringify(root)}, outDir: ${JSON.stringify(root + '/out')} };
        defineAssets({ ...options, assets: ['ok.js'], mode: 'production' }).build();
      `);
      expect(fs.existsSync(path.join(root, 'out', 'manifest.json'))).toBe(true);
      expect(stderr).toBe('');
    });
  });

  test('the resolved options are frozen', () => {
    const options = resolveOptions({ ...valid, budget: { js: 1000 } });
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.roots)).toBe(true);
    expect(Object.isFrozen(options.budget)).toBe(true);
    expect(Object.isFrozen(options.assets[0])).toBe(true);
  });
});
