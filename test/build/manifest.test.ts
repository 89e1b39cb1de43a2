import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { defineAssets } from '../../src';
import type { Build, Manifest } from '../../src';
import { MANIFEST, readManifest, rotate, writeManifest } from '../../src/build/manifest';
import { tempDir } from '../helpers';
import { bundleOf, copySite, siteOptions } from '../site';

describe('manifest.json of a build', () => {
  let dir: string;
  let outDir: string;
  let build: Build;
  let manifest: Manifest;

  beforeAll(async () => {
    dir = copySite();
    outDir = path.join(dir, 'out');
    build = await defineAssets(
      siteOptions(dir, { publicPath: 'https://cdn.example.com/static/' }),
    ).build();
    manifest = JSON.parse(fs.readFileSync(path.join(outDir, MANIFEST), 'utf8'));
  });

  test('is what build() returns', () => {
    expect(build.manifest).toEqual(manifest);
    expect(build.bundles).toEqual(manifest.bundles);
  });

  test('lists bundles in load order: main.js before admin.js, whose member needs it', () => {
    const ids = manifest.bundles.map((bundle) => bundle.id);
    expect(ids.sort()).toEqual(['admin.js', 'main.css', 'main.js']);
    expect(manifest.bundles.findIndex((b) => b.id === 'main.js')).toBeLessThan(
      manifest.bundles.findIndex((b) => b.id === 'admin.js'),
    );
  });

  test('each bundle: file, url, map, group and kind', () => {
    const main = bundleOf(build, 'main.js');
    expect(main).toMatchObject({ group: 'main', kind: 'js' });
    expect(main.file).toMatch(/^main\.[0-9a-f]{12}\.js$/);
    expect(main.url).toBe(`https://cdn.example.com/static/${main.file}`);
    expect(main.map).toBe(`${main.file}.map`);
    expect(fs.existsSync(path.join(outDir, main.map))).toBe(true);
    expect(bundleOf(build, 'main.css').file).toMatch(/^main\.[0-9a-f]{12}\.css$/);
  });

  test('integrity is the sha384 of the bytes on disk', () => {
    for (const bundle of manifest.bundles) {
      const body = fs.readFileSync(path.join(outDir, bundle.file));
      const expected = createHash('sha384').update(body).digest('base64');
      expect(bundle.integrity).toBe(`sha384-${expected}`);
    }
  });

  test('sizes: source, min, gzip and brotli bytes of what is on disk', () => {
    for (const bundle of manifest.bundles) {
      const size = (file: string) => fs.statSync(path.join(outDir, file)).size;
      expect(bundle.sizes).toEqual({
        source: bundle.members.reduce((total, member) => total + member.source, 0),
        min: size(bundle.file),
        gzip: size(`${bundle.file}.gz`),
        brotli: size(`${bundle.file}.br`),
      });
    }
    const widgets = bundleOf(build, 'main.js').members.find((m) => m.asset === 'site/widgets.js');
    expect(widgets?.source).toBe(fs.statSync(path.join(dir, 'assets', 'site', 'widgets.js')).size);
  });

  test('members in load order, by name', () => {
    expect(bundleOf(build, 'main.js').members.map((m) => m.asset)).toEqual([
      'vendor/tiny-lib.js',
      'site/strict-helpers.js',
      'site/widgets.js',
    ]);
    expect(bundleOf(build, 'admin.js').members.map((m) => m.asset)).toEqual(['admin/editor.js']);
    expect(bundleOf(build, 'main.css').members.map((m) => m.asset)).toEqual(['site/base.less']);
  });

  test('inputs: every file read, by load-path name, with its SHA-256; and the input hash', () => {
    expect(Object.keys(manifest.inputs).sort()).toEqual([
      'admin/editor.js',
      'site/base.less',
      'site/fonts/icons.eot',
      'site/fonts/icons.svg',
      'site/fonts/icons.woff2',
      'site/img/arrow.png',
      'site/img/paper.png',
      'site/partials/buttons.less',
      'site/strict-helpers.js',
      'site/widgets.js',
      'theme/colors.less',
      'vendor/tiny-lib.js',
    ]);
    const colors = fs.readFileSync(path.join(dir, 'vendor', 'theme', 'colors.less'));
    expect(manifest.inputs['theme/colors.less']).toBe(
      createHash('sha256').update(colors).digest('hex'),
    );
    expect(manifest.inputHash).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  test('copies and files: everything this build wrote, and nothing else', () => {
    expect(Object.values(manifest.copies).sort()).toEqual([
      'site/fonts/icons.eot',
      'site/fonts/icons.svg',
      'site/fonts/icons.woff2',
      'site/img/arrow.png',
      'site/img/paper.png',
    ]);
    const onDisk = fs.readdirSync(outDir).filter((f) => f !== MANIFEST && f !== '.cache');
    expect(manifest.files).toEqual([...onDisk].sort());
    expect(manifest.previous).toEqual([]);
  });

  test('.br and .gz twins decompress to the bundle bytes', () => {
    for (const bundle of manifest.bundles) {
      const body = fs.readFileSync(path.join(outDir, bundle.file));
      const br = fs.readFileSync(path.join(outDir, `${bundle.file}.br`));
      const gz = fs.readFileSync(path.join(outDir, `${bundle.file}.gz`));
      expect(zlib.brotliDecompressSync(br).equals(body)).toBe(true);
      expect(zlib.gunzipSync(gz).equals(body)).toBe(true);
    }
    // The SVG font is text: it has twins too, and they hold its bytes.
    const svg = Object.keys(manifest.copies).find((name) => name.endsWith('.svg'))!;
    const original = fs.readFileSync(path.join(dir, 'assets', 'site', 'fonts', 'icons.svg'));
    expect(zlib.gunzipSync(fs.readFileSync(path.join(outDir, `${svg}.gz`))).equals(original)).toBe(
      true,
    );
  });

  test('the build in memory holds every file with its twins', () => {
    const main = bundleOf(build, 'main.js');
    const served = build.files.get(main.file);
    expect(served?.body.equals(fs.readFileSync(path.join(outDir, main.file)))).toBe(true);
    expect(served?.br?.equals(fs.readFileSync(path.join(outDir, `${main.file}.br`)))).toBe(true);
    expect(served?.type).toBe('text/javascript; charset=utf-8');
    // Source maps are read on their first request, not at the start.
    expect(build.files.has(main.map)).toBe(false);
  });

  test('a source map is read when first asked for, once', async () => {
    const main = bundleOf(build, 'main.js');
    const map = await build.sourceMap!(main.map);
    expect(map?.body.equals(fs.readFileSync(path.join(outDir, main.map)))).toBe(true);
    expect(map?.type).toBe('application/json; charset=utf-8');
    expect(await build.sourceMap!(main.map)).toBe(map);
    expect(await build.sourceMap!('manifest.json')).toBeUndefined();
    expect(await build.sourceMap!('unknown.js.map')).toBeUndefined();
  });
});

describe('readManifest / writeManifest', () => {
  const manifest: Manifest = {
    version: 1,
    fingerprint: 'f',
    inputHash: 'i',
    bundles: [],
    copies: {},
    inputs: {},
    files: ['main.abc.js'],
    previous: [],
  };

  test('round trip, written atomically: no temporary file stays', async () => {
    const outDir = tempDir();
    await writeManifest(outDir, manifest);
    expect(await readManifest(outDir)).toEqual(manifest);
    expect(fs.readdirSync(outDir)).toEqual([MANIFEST]);
  });

  test.each([
    ['no manifest', undefined],
    ['not JSON', '{"version": 1, '],
    ['no file list', JSON.stringify({ ...manifest, files: undefined })],
  ])('%s reads as none, so the build runs again', async (_what, text) => {
    const outDir = tempDir();
    if (text !== undefined) fs.writeFileSync(path.join(outDir, MANIFEST), text);
    expect(await readManifest(outDir)).toBeUndefined();
  });

  test('another version keeps its file lists, and is never up to date', async () => {
    const outDir = tempDir();
    fs.writeFileSync(path.join(outDir, MANIFEST), JSON.stringify({ ...manifest, version: 2 }));
    expect(await readManifest(outDir)).toEqual({
      version: 1,
      fingerprint: '',
      inputHash: '',
      bundles: [],
      copies: {},
      inputs: {},
      files: manifest.files,
      previous: manifest.previous,
    });
  });
});

describe('rotate', () => {
  const old = (files: string[], previous: string[][]) =>
    ({ files, previous }) as unknown as Manifest;

  test('a first build keeps and removes nothing', () => {
    expect(rotate(undefined, ['a'], 3)).toEqual({ previous: [], remove: [] });
  });

  test('the same files again: the history stays as it was', () => {
    expect(rotate(old(['a', 'f'], [['b', 'f']]), ['a', 'f'], 3)).toEqual({
      previous: [['b', 'f']],
      remove: [],
    });
  });

  test('keeps the newest keepVersions - 1 older builds, removes the rest', () => {
    const last = old(
      ['c', 'font'],
      [
        ['b', 'font'],
        ['a', 'font'],
      ],
    );
    expect(rotate(last, ['d', 'font'], 2)).toEqual({
      previous: [['c', 'font']],
      remove: ['b', 'a'],
    });
  });

  test('keepVersions 1 keeps only the new build; a file it still uses is never removed', () => {
    expect(rotate(old(['a', 'font'], []), ['b', 'font'], 1)).toEqual({
      previous: [],
      remove: ['a'],
    });
  });
});
