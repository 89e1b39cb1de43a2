import fs from 'node:fs';
import path from 'node:path';
import { defineAssets } from '../../src';
import { writeFiles } from '../helpers';
import { copySite, siteOptions } from '../site';
import { buildFiles, buildSite } from './buildSite';

/**
 * How build() makes bundles from a registry, shares a build in progress, honours requirePrebuilt,
 * and reports the sizes of what it made.
 */

describe('build(): bundles and registries', () => {
  test('a main.js member that needs a vendor-group asset puts vendor.js first', async () => {
    const { build } = await buildFiles(
      { 'site/app.js': 'app();', 'jquery.js': 'function app() {}' },
      [
        { path: 'site/app.js', deps: ['jquery.js'] },
        { path: 'jquery.js', bundle: 'vendor' },
      ],
    );
    expect(build.bundles.map((bundle) => bundle.id)).toEqual(['vendor.js', 'main.js']);
  });

  test('calls of build() made while one runs share it', async () => {
    const assets = defineAssets(siteOptions(copySite()));
    expect(assets.built).toBe(false);
    expect(() => assets.current).toThrow(/not built yet/);
    const [one, two] = await Promise.all([assets.build(), assets.build()]);
    expect(one).toBe(two);
    expect(assets.current).toBe(one);
  });

  test('requirePrebuilt: reuses a matching build, and fails rather than compile', async () => {
    const dir = copySite();
    await expect(buildSite(dir, { requirePrebuilt: true })).rejects.toThrow(
      /requirePrebuilt is set/,
    );
    await buildSite(dir);
    expect((await buildSite(dir, { requirePrebuilt: true })).reused).toBe(true);
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), 'tiny.mark("new");\n');
    await expect(buildSite(dir, { requirePrebuilt: true })).rejects.toThrow(/No prebuilt manifest/);
  });

  test("another process's cache entry being written is left alone", async () => {
    const dir = copySite();
    const inFlight = path.join(dir, 'out', '.cache', 'abc.json.4242.0123456789ab.tmp');
    writeFiles(path.dirname(inFlight), { [path.basename(inFlight)]: '{"half": ' });
    await buildSite(dir);
    expect(fs.existsSync(inFlight)).toBe(true);
  });
});

describe('build(): the size table', () => {
  test('goes to the logger once per build, one row per bundle', async () => {
    const dir = copySite();
    const lines: string[] = [];
    const build = await buildSite(dir, { logger: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    const [header, ...rows] = lines[0].split('\n');
    expect(header.split(/\s+/)).toEqual(['bundle', 'members', 'source', 'min', 'gzip', 'brotli']);
    expect(rows).toHaveLength(build.bundles.length);
    for (const bundle of build.bundles) {
      const row = rows.find((text) => text.startsWith(bundle.file));
      const { source, min, gzip, brotli } = bundle.sizes;
      const cells = [bundle.members.length, source, min, gzip, brotli].map((n) =>
        n.toLocaleString('en-US'),
      );
      expect(row?.split(/\s+/)).toEqual([bundle.file, ...cells]);
    }
  });
});
