import fs from 'node:fs';
import path from 'node:path';
import { AssetBuildError, defineAssets } from '../../src';
import type { Build } from '../../src';
import { MANIFEST } from '../../src/build/manifest';
import { snapshot } from '../helpers';
import { bundleOf, copySite, siteOptions } from '../site';
import { buildError, buildSite } from './buildSite';

/**
 * What build() leaves in outDir: the last builds' files, written atomically, and nothing changed
 * by a build that fails.
 */

/** Every file under `dir` except the compile cache, relative, for "what the build wrote". */
function outputFiles(dir: string): string[] {
  return Object.keys(snapshot(dir))
    .filter((file) => !file.startsWith('.cache'))
    .sort();
}

describe('build(): versions kept on disk', () => {
  test('keepVersions 2: after 4 builds only the last 2 builds have files', async () => {
    const dir = copySite();
    const outDir = path.join(dir, 'out');
    const widgets = path.join(dir, 'assets', 'site', 'widgets.js');
    const builds: Build[] = [];
    for (let version = 1; version <= 4; version++) {
      fs.appendFileSync(widgets, `tiny.mark("version ${version}");\n`);
      builds.push(await buildSite(dir, { keepVersions: 2 }));
    }
    const [one, two, three, four] = builds;
    expect(new Set(builds.map((b) => bundleOf(b, 'main.js').file)).size).toBe(4);
    expect(four.manifest.previous).toEqual([three.manifest.files]);
    const expected = new Set([...four.manifest.files, ...three.manifest.files, MANIFEST]);
    expect(outputFiles(outDir)).toEqual([...expected].sort());
    for (const old of [one, two]) {
      const file = bundleOf(old, 'main.js').file;
      expect(fs.existsSync(path.join(outDir, file))).toBe(false);
      expect(fs.existsSync(path.join(outDir, `${file}.map`))).toBe(false);
    }
    // The previous build's bundle is still served (read on its first request), for pages
    // rendered by an older server.
    expect(await four.fileOnRequest!(bundleOf(three, 'main.js').file)).toBeDefined();
    expect(await four.fileOnRequest!(bundleOf(two, 'main.js').file)).toBeUndefined();
  });

  test('by default, 3 builds are kept', async () => {
    const dir = copySite();
    const widgets = path.join(dir, 'assets', 'site', 'widgets.js');
    let last: Build | undefined;
    for (let version = 1; version <= 4; version++) {
      fs.appendFileSync(widgets, `tiny.mark("version ${version}");\n`);
      last = await buildSite(dir);
    }
    expect(last?.manifest.previous).toHaveLength(2);
  });
});

describe('build(): atomic writes and failures', () => {
  test('no temporary file remains after builds', async () => {
    const dir = copySite();
    await buildSite(dir);
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), 'tiny.mark("x");\n');
    await buildSite(dir);
    expect(Object.keys(snapshot(path.join(dir, 'out'))).filter((f) => /tmp/.test(f))).toEqual([]);
  });

  test('a failed build leaves outDir as it was, and the registry keeps its last build', async () => {
    const dir = copySite();
    const outDir = path.join(dir, 'out');
    const assets = defineAssets(siteOptions(dir));
    const good = await assets.build();
    const before = snapshot(outDir);
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), '\nvar broken = ;\n');
    const error = await buildError(assets.build());
    expect(error).toMatchObject({ file: 'site/widgets.js', line: 8, column: 14 });
    expect(snapshot(outDir)).toEqual(before);
    expect(assets.current).toBe(good);
    // A restart fails the same way: a build on disk is reused only for the inputs it was made from.
    await expect(buildSite(dir)).rejects.toThrow(AssetBuildError);
  });

  test('a failure after some files compiled leaves the bundles and manifest as they were', async () => {
    const dir = copySite();
    const outDir = path.join(dir, 'out');
    await buildSite(dir);
    const before = snapshot(outDir);
    fs.appendFileSync(path.join(dir, 'vendor', 'vendor', 'tiny-lib.js'), '\ntiny.ok = 1\n');
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'base.less'), '\n.broken {\n');
    await buildError(buildSite(dir));
    // Only the compile cache may have learnt the file that did compile.
    const after = snapshot(outDir);
    for (const file of outputFiles(outDir)) expect(after[file]).toBe(before[file]);
    expect(outputFiles(outDir)).toEqual(
      Object.keys(before)
        .filter((f) => !f.startsWith('.cache'))
        .sort(),
    );
  });
});
