import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { defineAssets } from '../../src';
import type { AssetOptions } from '../../src';
import { tempDir, writeFiles } from '../helpers';
import { buildError, buildFiles } from './buildSite';

/**
 * Builds that fail with an AssetBuildError: a bundle over its budget, and a compile error with
 * its file, line and column.
 */

describe('build(): budget', () => {
  const noise = (bytes: number) => randomBytes(bytes).toString('base64');

  test('over budget fails with the bundle, its size, the budget and the largest members', async () => {
    const error = await buildError(
      buildFiles(
        {
          'small.js': 'var small = 1;',
          'big.js': `var big = "${noise(3000)}";`,
          'medium.js': `var medium = "${noise(600)}";`,
        },
        ['small.js', 'big.js', 'medium.js'],
        { budget: { js: 1000 } },
      ),
    );
    expect(error.code).toBe('ASSET_BUILD');
    expect(error.message).toMatch(
      /bundle "main\.js" is [\d,]+ B as brotli, over its budget of 1,000 B by [\d,]+ B; largest members: big\.js \([\d,]+ B minified\), medium\.js \([\d,]+ B minified\), small\.js/,
    );
  });

  test('the budget is per kind: within it, the build passes', async () => {
    const { build } = await buildFiles(
      { 'a.js': `var a = "${noise(3000)}";`, 'a.css': 'a{color:red}' },
      ['a.js', 'a.css'],
      { budget: { css: 1000 } },
    );
    expect(build.bundles).toHaveLength(2);
  });

  test('a reused build is held to the budget too', async () => {
    const root = tempDir();
    writeFiles(root, { 'big.js': `var big = "${noise(3000)}";` });
    const options: AssetOptions = {
      root,
      outDir: path.join(root, 'out'),
      assets: ['big.js'],
      mode: 'production',
    };
    await defineAssets(options).build();
    const error = await buildError(defineAssets({ ...options, budget: { js: 1000 } }).build());
    expect(error.message).toMatch(
      /bundle "main\.js" is [\d,]+ B as brotli.*largest members: big\.js/,
    );
  });
});

describe('build(): compile errors', () => {
  test('a JS syntax error: AssetBuildError with file, line and column', async () => {
    const error = await buildError(
      buildFiles({ 'ok.js': 'var ok = 1;', 'site/app.js': 'var a = 1;\n  a +* 2;\n' }, [
        'ok.js',
        'site/app.js',
      ]),
    );
    expect(error).toMatchObject({
      code: 'ASSET_BUILD',
      asset: 'site/app.js',
      file: 'site/app.js',
      line: 2,
      column: 6,
    });
    expect(error.message).toMatch(/^site\/app\.js:2:6: Unexpected token/);
  });

  test('a LESS syntax error in an imported partial: its file, line and column', async () => {
    const error = await buildError(
      buildFiles(
        {
          'site/base.less': '@import "parts/forms";\n',
          'site/parts/forms.less': '.form {\n  .row {\n    color: red;\n  }}\n}\n',
        },
        ['site/base.less'],
      ),
    );
    expect(error).toMatchObject({
      code: 'ASSET_BUILD',
      asset: 'site/base.less',
      file: 'site/parts/forms.less',
      line: 5,
      column: 1,
    });
  });

  test('a file that is not UTF-8 is an AssetBuildError, not mojibake', async () => {
    const latin1 = Buffer.from('var caf\xe9 = "caf\xe9";\n', 'latin1');
    const error = await buildError(buildFiles({ 'legacy.js': latin1 }, ['legacy.js']));
    expect(error).toMatchObject({ file: 'legacy.js', line: 1, column: 8 });
    expect(error.reason).toMatch(/not valid UTF-8/);
  });
});
