import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Build } from '../../src';
import * as compileModule from '../../src/compile';
import { snapshot } from '../helpers';
import { bundleOf, copySite, readOut } from '../site';
import { buildSite } from './buildSite';

const { compileAsset } = compileModule;

/**
 * A cached startup: a build over an up-to-date outDir reuses it, and a rebuild remakes only what
 * its changed files reach.
 */

const LONG_AGO = new Date('2001-02-03T04:05:06Z');

function ageAll(dir: string): void {
  for (const file of Object.keys(snapshot(dir))) {
    fs.utimesSync(path.join(dir, file), LONG_AGO, LONG_AGO);
  }
}

function isOld(file: string): boolean {
  return fs.statSync(file).mtimeMs === LONG_AGO.getTime();
}

describe('build(): cached startup', () => {
  test('a new registry over an up-to-date outDir reuses it without compiling or writing', async () => {
    const dir = copySite();
    const outDir = path.join(dir, 'out');
    const first = await buildSite(dir);
    expect(first.reused).toBe(false);
    // Compiling always fills the compile cache: without it, a compile would show.
    fs.rmSync(path.join(outDir, '.cache'), { recursive: true });
    ageAll(outDir);
    const before = snapshot(outDir);
    const second = await buildSite(dir);
    expect(second.reused).toBe(true);
    expect(second.manifest).toEqual(first.manifest);
    expect(snapshot(outDir)).toEqual(before);
    expect(fs.existsSync(path.join(outDir, '.cache'))).toBe(false);
    for (const file of Object.keys(before)) expect(isOld(path.join(outDir, file))).toBe(true);
    expect([...second.files.keys()].sort()).toEqual([...first.files.keys()].sort());
  });

  test('a rebuild keeps a bundle no changed file reaches, and reads back the twins of one whose bytes did not change', async () => {
    const dir = copySite();
    const outDir = path.join(dir, 'out');
    const first = await buildSite(dir);
    const js = bundleOf(first, 'main.js').file;
    // Put a different (but valid) brotli twin in place: a kept bundle is not compressed again.
    const body = fs.readFileSync(path.join(outDir, js));
    const quick = zlib.brotliCompressSync(body, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
    });
    expect(quick.length).not.toBe(bundleOf(first, 'main.js').sizes.brotli);
    fs.writeFileSync(path.join(outDir, `${js}.br`), quick);
    fs.appendFileSync(
      path.join(dir, 'assets', 'site', 'base.less'),
      '\n.rebuilt { color: red; }\n',
    );
    const second = await buildSite(dir);
    expect(bundleOf(second, 'main.css').file).not.toBe(bundleOf(first, 'main.css').file);
    expect(bundleOf(second, 'main.js')).toEqual(bundleOf(first, 'main.js'));
    expect(fs.readFileSync(path.join(outDir, `${js}.br`)).equals(quick)).toBe(true);
    // A bundle whose file no longer holds its bytes is made again; so are its twins, which
    // are read back only when the file holds exactly the new bytes.
    fs.writeFileSync(path.join(outDir, js), `${body}\n`);
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'base.less'), '\n.again { color: blue; }\n');
    const third = await buildSite(dir);
    expect(bundleOf(third, 'main.js').sizes.brotli).toBe(bundleOf(first, 'main.js').sizes.brotli);
    expect(fs.readFileSync(path.join(outDir, js)).equals(body)).toBe(true);
    // Its twins on disk are right again, so the next change reads them back.
    fs.writeFileSync(path.join(outDir, js), `${body}\n`);
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'base.less'), '\n.more { color: green; }\n');
    const fourth = await buildSite(dir);
    expect(bundleOf(fourth, 'main.js').sizes).toEqual(bundleOf(first, 'main.js').sizes);
  });

  test('a deleted bundle file means a rebuild', async () => {
    const dir = copySite();
    const first = await buildSite(dir);
    fs.rmSync(path.join(dir, 'out', bundleOf(first, 'main.css').file));
    const second = await buildSite(dir);
    expect(second.reused).toBe(false);
    expect(fs.existsSync(path.join(dir, 'out', bundleOf(second, 'main.css').file))).toBe(true);
  });

  test('changed options mean a rebuild', async () => {
    const dir = copySite();
    await buildSite(dir);
    const second = await buildSite(dir, { publicPath: '/static/' });
    expect(second.reused).toBe(false);
    expect(bundleOf(second, 'main.js').url).toMatch(/^\/static\/main\./);
  });

  test('editing an imported LESS partial changes the CSS bundle, and only it', async () => {
    const dir = copySite();
    const first = await buildSite(dir);
    const colors = path.join(dir, 'vendor', 'theme', 'colors.less');
    fs.writeFileSync(colors, fs.readFileSync(colors, 'utf8').replace('#c0ffee', '#bada55'));
    const second = await buildSite(dir);
    expect(second.reused).toBe(false);
    const css = bundleOf(second, 'main.css');
    expect(css.file).not.toBe(bundleOf(first, 'main.css').file);
    expect(readOut(path.join(dir, 'out'), css.file)).toContain(
      '.button-partial-marker{color:#bada55}',
    );
    expect(bundleOf(second, 'main.js').file).toBe(bundleOf(first, 'main.js').file);
  });

  test('editing a url() file gives it a new hashed name', async () => {
    const dir = copySite();
    const first = await buildSite(dir);
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'img', 'arrow.png'), 'more bytes');
    const second = await buildSite(dir);
    const arrow = (build: Build) =>
      Object.keys(build.manifest.copies).find((name) => name.startsWith('arrow.'));
    expect(arrow(second)).not.toBe(arrow(first));
    expect(bundleOf(second, 'main.css').file).not.toBe(bundleOf(first, 'main.css').file);
    expect(readOut(path.join(dir, 'out'), bundleOf(second, 'main.css').file)).toContain(
      arrow(second)!,
    );
  });

  test('a one-file change recompiles only that file', async () => {
    const dir = copySite();
    const cache = path.join(dir, 'out', '.cache');
    const first = await buildSite(dir);
    const entriesBefore = fs.readdirSync(cache).sort();
    expect(entriesBefore).toHaveLength(5); // one per asset
    ageAll(cache);
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), 'tiny.mark("edited");\n');
    const second = await buildSite(dir);
    const entriesAfter = fs.readdirSync(cache).sort();
    const kept = entriesAfter.filter((entry) => entriesBefore.includes(entry));
    const added = entriesAfter.filter((entry) => !entriesBefore.includes(entry));
    expect(kept).toHaveLength(4);
    for (const entry of kept) expect(isOld(path.join(cache, entry))).toBe(true);
    expect(added).toHaveLength(1);
    expect(fs.readFileSync(path.join(cache, added[0]), 'utf8')).toContain('edited');
    expect(bundleOf(second, 'main.js').file).not.toBe(bundleOf(first, 'main.js').file);
    for (const id of ['main.css', 'admin.js']) {
      expect(bundleOf(second, id).file).toBe(bundleOf(first, id).file);
    }
  });

  test('a bundle no changed file reaches is kept whole: none of its members is even read from the cache', async () => {
    const dir = copySite();
    const outDir = path.join(dir, 'out');
    const first = await buildSite(dir);
    const js = bundleOf(first, 'main.js');
    expect(js.inputs).toEqual(expect.arrayContaining(['site/widgets.js']));
    expect(js.files).toEqual(expect.arrayContaining([js.file, js.map, `${js.file}.br`]));
    // Without its compile cache, keeping main.js is the only way not to compile its members.
    fs.rmSync(path.join(outDir, '.cache'), { recursive: true });
    const compiled: string[] = [];
    const spy = jest.spyOn(compileModule, 'compileAsset').mockImplementation((asset, ...rest) => {
      compiled.push(asset.name);
      return compileAsset(asset, ...rest);
    });
    try {
      fs.appendFileSync(path.join(dir, 'assets', 'site', 'base.less'), '\n.kept { color: red; }\n');
      const second = await buildSite(dir);
      expect(compiled).toEqual(['site/base.less']);
      expect(bundleOf(second, 'main.js')).toEqual(js);
      expect(bundleOf(second, 'main.css').file).not.toBe(bundleOf(first, 'main.css').file);
      // A kept bundle's inputs still count: editing one of them remakes it.
      fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), 'tiny.mark("again");\n');
      const third = await buildSite(dir);
      expect(compiled).toContain('site/widgets.js');
      expect(bundleOf(third, 'main.js').file).not.toBe(js.file);
    } finally {
      spy.mockRestore();
    }
  });
});
