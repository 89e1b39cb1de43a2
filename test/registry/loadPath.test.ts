import fs from 'node:fs';
import path from 'node:path';
import { AssetConfigError, defineAssets } from '../../src';
import {
  displayName,
  isInside,
  locate,
  locateAll,
  resolveDisplayName,
} from '../../src/registry/loadPath';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';

describe('locate', () => {
  test('the first root that holds the name wins', async () => {
    const first = tempDir();
    const second = tempDir();
    writeFiles(first, { 'site/app.js': 'first' });
    writeFiles(second, { 'site/app.js': 'second', 'site/only-here.js': '' });
    expect(await locate('site/app.js', [first, second])).toBe(path.join(first, 'site/app.js'));
    expect(await locate('site/only-here.js', [first, second])).toBe(
      path.join(second, 'site/only-here.js'),
    );
  });

  test('a package file comes straight from node_modules', async () => {
    const assets = tempDir();
    writeFiles(assets, { 'site/app.js': '' });
    expect(await locate('jquery/dist/jquery.js', [assets, NODE_MODULES])).toBe(
      path.join(NODE_MODULES, 'jquery', 'dist', 'jquery.js'),
    );
  });

  test('a missing file is an AssetConfigError that says where it looked', async () => {
    const first = tempDir();
    const second = tempDir();
    const error = await locate('site/nope.js', [first, second]).catch((caught) => caught);
    expect(error).toBeInstanceOf(AssetConfigError);
    expect(error.asset).toBe('site/nope.js');
    expect(error.message).toContain(path.join(first, 'site', 'nope.js'));
    expect(error.message).toContain(path.join(second, 'site', 'nope.js'));
  });

  test('a folder is not a file', async () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'site', 'app.js'), { recursive: true });
    await expect(locate('site/app.js', [root])).rejects.toThrow(/is not a file/);
  });

  describe('symlinks', () => {
    test('when pointing outside the root, are refused', async () => {
      const root = tempDir();
      const outside = tempDir();
      writeFiles(outside, { 'secret.js': 'var secret = 1;' });
      fs.mkdirSync(path.join(root, 'site'));
      fs.symlinkSync(path.join(outside, 'secret.js'), path.join(root, 'site', 'app.js'));
      const error = await locate('site/app.js', [root]).catch((caught) => caught);
      expect(error).toBeInstanceOf(AssetConfigError);
      expect(error.message).toMatch(/outside its root/);
    });

    test('when a folder link points outside the root, are refused', async () => {
      const root = tempDir();
      const outside = tempDir();
      writeFiles(outside, { 'lib/app.js': '' });
      fs.symlinkSync(path.join(outside, 'lib'), path.join(root, 'site'));
      await expect(locate('site/app.js', [root])).rejects.toThrow(AssetConfigError);
    });

    test('when staying inside the root, are followed', async () => {
      const root = tempDir();
      writeFiles(root, { 'lib/real.js': '' });
      fs.mkdirSync(path.join(root, 'site'));
      fs.symlinkSync(path.join(root, 'lib', 'real.js'), path.join(root, 'site', 'app.js'));
      expect(await locate('site/app.js', [root])).toBe(path.join(root, 'site', 'app.js'));
    });
  });
});

describe('locateAll', () => {
  test('finds every name, by name', async () => {
    const root = tempDir();
    writeFiles(root, { 'a.js': '', 'site/b.less': '' });
    expect(await locateAll(['a.js', 'site/b.less'], [root])).toEqual(
      new Map([
        ['a.js', path.join(root, 'a.js')],
        ['site/b.less', path.join(root, 'site', 'b.less')],
      ]),
    );
  });

  test('several problems are one AssetConfigError naming every asset', async () => {
    const first = tempDir();
    const second = tempDir();
    writeFiles(first, { 'a.js': '' });
    fs.mkdirSync(path.join(second, 'folder.js'));
    const names = ['a.js', 'b.js', 'folder.js', 'site/c.css'];
    const error = await locateAll(names, [first, second]).catch((caught) => caught);
    expect(error).toBeInstanceOf(AssetConfigError);
    expect(error.message).toBe(
      `2 assets have no file under any of ${first}, ${second}: "b.js", "site/c.css"; ` +
        `Asset "folder.js" is not a file: ${path.join(second, 'folder.js')}`,
    );
    expect(error.assets).toEqual(['b.js', 'site/c.css', 'folder.js']);
    expect(error.asset).toBe('b.js');
  });

  test('one missing file is the error locate gives', async () => {
    const root = tempDir();
    const error = await locateAll(['site/nope.js'], [root]).catch((caught) => caught);
    const one = await locate('site/nope.js', [root]).catch((caught) => caught);
    expect(error.message).toBe(one.message);
    expect(error.assets).toEqual(['site/nope.js']);
  });
});

describe('displayName', () => {
  test('is relative to the root holding the file, with "/"', () => {
    const roots = ['/srv/app/assets', '/srv/app/node_modules'];
    expect(displayName('/srv/app/node_modules/jquery/dist/jquery.js', roots)).toBe(
      'jquery/dist/jquery.js',
    );
    expect(displayName('/srv/app/assets/site/a.less', roots)).toBe('site/a.less');
  });

  test('is relative to the working folder for a file under no root, never absolute', () => {
    const file = path.join(process.cwd(), 'elsewhere', 'x.less');
    expect(displayName(file, ['/no/such/root'])).toBe('elsewhere/x.less');
  });

  test('resolveDisplayName finds the file again in the first root holding it', () => {
    const first = tempDir();
    const second = tempDir();
    writeFiles(second, { 'lib/mixins.less': '' });
    expect(resolveDisplayName('lib/mixins.less', [first, second])).toBe(
      path.join(second, 'lib', 'mixins.less'),
    );
  });

  test('isInside: a file under a folder, not the folder itself nor a sibling with its prefix', () => {
    expect(isInside('/a/b/c.js', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b')).toBe(false);
    expect(isInside('/a/bc/d.js', '/a/b')).toBe(false);
    expect(isInside('/a/b/../c.js', '/a/b')).toBe(false);
  });
});

describe('build(): the load path is checked before anything is compiled', () => {
  test('a missing file fails build() with an AssetConfigError and writes nothing', async () => {
    const root = tempDir();
    const outDir = path.join(tempDir(), 'out');
    writeFiles(root, { 'site/app.js': 'var a = 1;' });
    const assets = defineAssets({
      root,
      outDir,
      mode: 'production',
      assets: ['site/app.js', 'site/missing.less'],
    });
    await expect(assets.build()).rejects.toThrow(AssetConfigError);
    await expect(assets.build()).rejects.toThrow(/"site\/missing.less" has no file; looked in/);
    expect(fs.existsSync(outDir)).toBe(false);
  });

  test('several missing files fail build() with one AssetConfigError naming them all', async () => {
    const root = tempDir();
    writeFiles(root, { 'site/app.js': 'var a = 1;' });
    const assets = defineAssets({
      root,
      outDir: path.join(tempDir(), 'out'),
      mode: 'production',
      assets: ['vendor/lib.js', 'site/app.js', 'site/missing.less', 'site/gone.js'],
    });
    const error = await assets.build().catch((caught) => caught);
    expect(error).toBeInstanceOf(AssetConfigError);
    expect(error.message).toBe(
      `3 assets have no file under ${root}: "vendor/lib.js", "site/missing.less", "site/gone.js"`,
    );
    expect(error.assets).toEqual(['vendor/lib.js', 'site/missing.less', 'site/gone.js']);
  });

  test('a symlink out of the root fails build()', async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFiles(outside, { 'x.js': '' });
    fs.symlinkSync(path.join(outside, 'x.js'), path.join(root, 'x.js'));
    const assets = defineAssets({
      root,
      outDir: path.join(tempDir(), 'out'),
      mode: 'production',
      assets: ['x.js'],
    });
    await expect(assets.build()).rejects.toThrow(AssetConfigError);
  });
});
