import fs from 'node:fs';
import path from 'node:path';
import { defineAssets } from '../../src';
import type { Build, Manifest } from '../../src';
import { loadBuild, startFiles, withSourceMaps } from '../../src/build/loaded';
import type { OutputReader } from '../../src/build/output';
import { bundleOf, copySite, siteOptions } from '../site';

/** Reads files of `outDir`, noting each name it is asked for. */
function countingReader(outDir: string): { read: OutputReader; asked: string[] } {
  const asked: string[] = [];
  const read: OutputReader = (file) => {
    asked.push(file);
    return fs.promises.readFile(path.join(outDir, file)).catch(() => undefined);
  };
  return { read, asked };
}

describe('loadBuild: what a start reads', () => {
  let outDir: string;
  let manifest: Manifest;
  let widgets: string;

  beforeAll(async () => {
    const dir = copySite();
    outDir = path.join(dir, 'out');
    widgets = path.join(dir, 'assets', 'site', 'widgets.js');
    await defineAssets(siteOptions(dir)).build();
    fs.appendFileSync(widgets, 'tiny.mark("version 2");\n');
    manifest = (await defineAssets(siteOptions(dir)).build()).manifest;
    expect(manifest.previous).toHaveLength(1);
  });

  test('each bundle with its twins and dictionary bodies, and nothing else', async () => {
    const { read, asked } = countingReader(outDir);
    const build = await loadBuild(outDir, manifest, true, read);
    expect([...asked].sort()).toEqual([...startFiles(manifest)].sort());
    for (const bundle of manifest.bundles) {
      for (const file of [bundle.file, `${bundle.file}.br`, `${bundle.file}.gz`]) {
        expect(asked).toContain(file);
      }
      for (const entry of bundle.dictionaries ?? []) expect(asked).toContain(entry.file);
    }
    expect([...build.files.keys()]).toEqual(manifest.bundles.map((bundle) => bundle.file));
    const main = build.files.get(bundleOf(build, 'main.js').file)!;
    expect(main.br?.length).toBeGreaterThan(0);
    expect(main.gzip?.length).toBeGreaterThan(0);
  });

  test('url() copies, source maps and kept builds are read on their first request, once', async () => {
    const { read, asked } = countingReader(outDir);
    const build = await loadBuild(outDir, manifest, true, read);
    const font = Object.keys(manifest.copies).find((name) => name.endsWith('.woff2'))!;
    const svg = Object.keys(manifest.copies).find((name) => name.endsWith('.svg'))!;
    const older = manifest.previous[0].find((name) => /^main\..*\.js$/.test(name))!;
    const map = bundleOf(build, 'main.css').map;
    for (const name of [font, svg, older, map]) {
      expect(build.files.has(name)).toBe(false);
      expect(asked).not.toContain(name);
      const served = await build.fileOnRequest!(name);
      expect(served?.body.equals(fs.readFileSync(path.join(outDir, name)))).toBe(true);
      expect(await build.fileOnRequest!(name)).toBe(served);
      expect(asked.filter((file) => file === name)).toHaveLength(1);
    }
    expect((await build.fileOnRequest!(font))?.type).toBe('font/woff2');
    const svgFile = await build.fileOnRequest!(svg);
    expect(svgFile?.br?.equals(fs.readFileSync(path.join(outDir, `${svg}.br`)))).toBe(true);
    expect(await build.sourceMap!(map)).toBe(await build.fileOnRequest!(map));
    expect(await build.sourceMap!(font)).toBeUndefined();
  });

  test('names no manifest lists, twins and bundles already in memory are not read on request', async () => {
    const { read, asked } = countingReader(outDir);
    const build = await loadBuild(outDir, manifest, true, read);
    const before = asked.length;
    const main = bundleOf(build, 'main.js').file;
    for (const name of ['manifest.json', 'unknown.js', `${main}.br`, main, '../out/x']) {
      expect(await build.fileOnRequest!(name)).toBeUndefined();
    }
    expect(asked).toHaveLength(before);
  });

  test('a bundle missing from outDir fails the start, naming it', async () => {
    const main = manifest.bundles.find((bundle) => bundle.id === 'main.js')!.file;
    const read: OutputReader = async (file) =>
      file === main ? undefined : fs.promises.readFile(path.join(outDir, file));
    await expect(loadBuild(outDir, manifest, true, read)).rejects.toThrow(
      `Bundle file ${main} is missing from ${outDir}`,
    );
  });

  test('withSourceMaps: every file the build serves, those read on request included', async () => {
    const build: Build = await loadBuild(outDir, manifest, true);
    const every = await withSourceMaps(build);
    const served = [...manifest.files, ...manifest.previous.flat()].filter(
      (name) => !/\.(br|gz|dcz|dcb)$/.test(name),
    );
    expect([...every.files.keys()].sort()).toEqual([...new Set(served)].sort());
  });
});
