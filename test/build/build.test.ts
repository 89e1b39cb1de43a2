import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { AssetBuildError, defineAssets } from '../../src';
import type { AssetOptions, Build } from '../../src';
import * as compileModule from '../../src/compile';
import * as outputModule from '../../src/build/output';
import { MANIFEST } from '../../src/build/manifest';
import { snapshot, tempDir, writeFiles } from '../helpers';
import { bundleOf, copySite, readOut, runInPage, siteOptions } from '../site';

const { compileAsset } = compileModule;

function buildSite(dir: string, more: Partial<AssetOptions> = {}): Promise<Build> {
  return defineAssets(siteOptions(dir, more)).build();
}

/** Builds loose files: `files` under a fresh root, `assets` declared in that order. */
async function buildFiles(
  files: Record<string, string | Buffer>,
  assets: AssetOptions['assets'],
  more: Partial<AssetOptions> = {},
): Promise<{ build: Build; outDir: string }> {
  const root = tempDir();
  writeFiles(root, files);
  const outDir = path.join(root, 'out');
  const build = await defineAssets({ root, outDir, assets, mode: 'production', ...more }).build();
  return { build, outDir };
}

async function buildError(promise: Promise<unknown>): Promise<AssetBuildError> {
  const error: unknown = await promise.catch((caught) => caught);
  expect(error).toBeInstanceOf(AssetBuildError);
  return error as AssetBuildError;
}

/** Where `text` first appears in `code`, as a 1-based line and 0-based column. */
function positionOf(code: string, text: string): { line: number; column: number } {
  const offset = code.indexOf(text);
  if (offset === -1) throw new Error(`${text} is not in the bundle`);
  const before = code.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') - 1 };
}

/** Every file under `dir` except the compile cache, relative, for "what the build wrote". */
function outputFiles(dir: string): string[] {
  return Object.keys(snapshot(dir))
    .filter((file) => !file.startsWith('.cache'))
    .sort();
}

const LONG_AGO = new Date('2001-02-03T04:05:06Z');

function ageAll(dir: string): void {
  for (const file of Object.keys(snapshot(dir))) {
    fs.utimesSync(path.join(dir, file), LONG_AGO, LONG_AGO);
  }
}

function isOld(file: string): boolean {
  return fs.statSync(file).mtimeMs === LONG_AGO.getTime();
}

describe('build(): stylesheets', () => {
  let dir: string;
  let outDir: string;
  let build: Build;
  let css: string;

  beforeAll(async () => {
    dir = copySite();
    outDir = path.join(dir, 'out');
    build = await buildSite(dir);
    css = readOut(outDir, bundleOf(build, 'main.css').file);
  });

  test('LESS @import is resolved from the importing file and through the load path', () => {
    // partials/buttons.less is next to base.less; theme/colors.less is in the second root.
    expect(css).toContain('.button-partial-marker{color:#c0ffee}');
    expect(css).toContain('.theme-marker{color:#333}');
    expect(css).toContain('body{color:#333;');
  });

  test('relative url()s point at hashed copies in outDir with the same bytes', () => {
    const urls = [...css.matchAll(/url\("?([^")]*)"?\)/g)].map((match) => match[1]);
    const local = urls.filter((url) => !/^(data:|https:)/.test(url));
    expect(local.map((url) => url.replace(/^[^.]+\.[0-9a-f]{12}\./, '*.'))).toEqual([
      '*.eot',
      '*.eot?#iefix',
      '*.woff2',
      '*.svg#icons',
      '*.png',
      '*.png',
    ]);
    for (const url of local) {
      const name = url.replace(/[?#].*$/, '');
      const source = build.manifest.copies[name];
      expect(source).toBeDefined();
      const original = fs.readFileSync(path.join(dir, 'assets', source));
      expect(fs.readFileSync(path.join(outDir, name)).equals(original)).toBe(true);
    }
  });

  test('data: and absolute URLs stay untouched', () => {
    expect(css).toContain(
      'url("data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E")',
    );
    expect(css).toContain('url(https://cdn.example.com/remote.png)');
  });

  test('a url() to a missing file names the partial that wrote it and the missing file', async () => {
    const broken = copySite();
    const partial = path.join(broken, 'assets', 'site', 'partials', 'buttons.less');
    fs.appendFileSync(partial, '\n.gone {\n  background: url(../img/gone.png);\n}\n');
    const error = await buildError(buildSite(broken));
    expect(error).toMatchObject({
      code: 'ASSET_BUILD',
      asset: 'site/base.less',
      file: 'site/partials/buttons.less',
      line: 19,
    });
    expect(error.message).toContain('missing file: site/img/gone.png');
    expect(error.message).toContain('(building "site/base.less")');
  });
});

describe('build(): scripts', () => {
  test('the bundles run: sloppy, strict and "("-first files keep their meaning', async () => {
    const dir = copySite();
    const build = await buildSite(dir);
    const outDir = path.join(dir, 'out');
    const page = runInPage(
      readOut(outDir, bundleOf(build, 'main.js').file),
      readOut(outDir, bundleOf(build, 'admin.js').file),
    );
    expect(page.legacyGlobal).toBe('set by a sloppy file');
    expect(page.helperMarker).toBe('strict-helpers-marker');
    expect(page.tiny).toEqual({
      calls: ['with works', 'widgets 42', 'widgets-marker', 'editor-marker'],
      mark: expect.any(Function),
      // widgets.js is sloppy, yet the strict file's function it calls is still strict.
      strictCheck: 'ReferenceError',
    });
  });

  test('a file without a final ";" followed by a file starting with "(" works', async () => {
    const { build, outDir } = await buildFiles(
      {
        'a.js': 'var log = []\nlog.push("a")\n//@license MIT',
        'b.js': '(function () { log.push("b") })()\n',
        'c.js': '[1, 2].forEach(function (n) { log.push(n) })',
      },
      ['a.js', 'b.js', 'c.js'],
    );
    expect(runInPage(readOut(outDir, build.bundles[0].file)).log).toEqual(['a', 'b', 1, 2]);
  });

  test('a strict file followed by a sloppy file using `with` and an undeclared variable', async () => {
    const { build, outDir } = await buildFiles(
      {
        'strict.js': '"use strict";\nfunction helper() { return 40; }\nvar offset = 2;\n',
        'sloppy.js': 'with ({ n: helper() }) { total = n + offset; }\n',
      },
      ['strict.js', 'sloppy.js'],
    );
    expect(runInPage(readOut(outDir, build.bundles[0].file)).total).toBe(42);
  });

  test('a sloppy file followed by a strict file: the strict file still throws', async () => {
    const { build, outDir } = await buildFiles(
      {
        'sloppy.js': 'var ran = []; sloppyGlobal = 1\n',
        'strict.js': '"use strict";\nran.push("strict");\nnotDeclared = 1;\nran.push("after");\n',
      },
      ['sloppy.js', 'strict.js'],
    );
    const code = readOut(outDir, build.bundles[0].file);
    const page = runInPage();
    expect(() => vm.runInContext(code, page)).toThrow(/notDeclared is not defined/);
    expect(page).toMatchObject({ ran: ['strict'], sloppyGlobal: 1 });
    expect(page.notDeclared).toBeUndefined();
  });
});

describe('build(): source maps', () => {
  let dir: string;
  let outDir: string;
  let build: Build;

  beforeAll(async () => {
    dir = copySite();
    outDir = path.join(dir, 'out');
    build = await buildSite(dir);
  });

  function trace(id: string, marker: string) {
    const bundle = bundleOf(build, id);
    const code = readOut(outDir, bundle.file);
    const map = new TraceMap(JSON.parse(readOut(outDir, bundle.map)));
    return originalPositionFor(map, positionOf(code, marker));
  }

  test('the bundles name their maps', () => {
    const js = bundleOf(build, 'main.js');
    const css = bundleOf(build, 'main.css');
    expect(readOut(outDir, js.file).endsWith(`\n//# sourceMappingURL=${js.map}\n`)).toBe(true);
    expect(readOut(outDir, css.file).endsWith(`\n/*# sourceMappingURL=${css.map} */\n`)).toBe(true);
    expect(JSON.parse(readOut(outDir, js.map)).file).toBe(js.file);
  });

  test.each([
    ['main.js', '"set by a sloppy file"', 'vendor/tiny-lib.js', 3],
    ['main.js', '"strict-helpers-marker"', 'site/strict-helpers.js', 16],
    ['main.js', '"widgets-marker"', 'site/widgets.js', 5],
    ['admin.js', '"editor-marker"', 'admin/editor.js', 1],
    ['main.css', '.button-partial-marker', 'site/partials/buttons.less', 14],
    ['main.css', '.theme-marker', 'theme/colors.less', 4],
    ['main.css', '.remote', 'site/base.less', 14],
  ])('%s: %s leads back to %s line %d', (id, marker, source, line) => {
    expect(trace(id, marker)).toMatchObject({ source, line });
  });

  test('maps carry the sources, so a browser shows them without fetching more', () => {
    const map = JSON.parse(readOut(outDir, bundleOf(build, 'main.js').map));
    const index = map.sources.indexOf('site/widgets.js');
    expect(map.sourcesContent[index]).toBe(
      fs.readFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), 'utf8'),
    );
  });
});

describe('build(): determinism', () => {
  test('the same inputs in two folders give the same bytes, and no absolute path', async () => {
    const first = copySite();
    const second = path.join(tempDir('asset-site-with-a-longer-name-'), 'nested');
    fs.cpSync(first, second, { recursive: true });
    const [a, b] = await Promise.all([buildSite(first), buildSite(second)]);
    expect(b.manifest).toEqual(a.manifest);
    const outA = snapshot(path.join(first, 'out'));
    expect(snapshot(path.join(second, 'out'))).toEqual(outA);
    const forbidden = [first, second, os.tmpdir(), process.cwd(), os.homedir()];
    for (const [file, base64] of Object.entries(outA)) {
      const text = Buffer.from(base64, 'base64').toString('latin1');
      for (const folder of forbidden) {
        expect({ file, absolute: text.includes(folder) }).toEqual({ file, absolute: false });
      }
    }
  });

  test('a build made after edits equals a fresh build of the same files', async () => {
    const edited = copySite();
    await buildSite(edited);
    // A comment-only edit of the same length: the minified code, and so the bundle's name,
    // stay the same, but its map (sources content) must follow.
    const file = path.join(edited, 'vendor', 'vendor', 'tiny-lib.js');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('old style', 'OLD STYLE'));
    const after = await buildSite(edited);
    const fresh = copySite();
    fs.copyFileSync(file, path.join(fresh, 'vendor', 'vendor', 'tiny-lib.js'));
    const expected = await buildSite(fresh);
    expect(after.bundles).toEqual(expected.bundles);
    for (const bundle of expected.bundles) {
      for (const name of [bundle.file, bundle.map, `${bundle.file}.br`, `${bundle.file}.gz`]) {
        expect({ name, bytes: readOut(path.join(edited, 'out'), name) }).toEqual({
          name,
          bytes: readOut(path.join(fresh, 'out'), name),
        });
      }
    }
  });
});

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

describe('build(): inputs known by their stat', () => {
  test('a startup reads no input that has not changed since a build hashed it; a changed one is read, even with its size and mtime put back', async () => {
    const dir = copySite();
    const widgets = path.join(dir, 'assets', 'site', 'widgets.js');
    // An mtime that utimes can set again exactly (whole seconds, no nanoseconds).
    const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    fs.utimesSync(widgets, past, past);
    await buildSite(dir);
    // Files changed within 2 s of their hashing are not trusted by their stat: wait that out.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await buildSite(dir); // hashes the settled inputs, records them in .cache/inputs.json
    const record = JSON.parse(readOut(path.join(dir, 'out'), '.cache/inputs.json')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(record.files)).toContain('site/widgets.js');
    expect(JSON.stringify(record)).not.toContain(dir); // named on the load path

    const reads = jest.spyOn(outputModule, 'readFile');
    const inputs = () =>
      reads.mock.calls
        .map(([file]) => String(file))
        .filter((file) => file.startsWith(dir) && !file.includes(`${path.sep}out${path.sep}`));
    try {
      const warm = await buildSite(dir);
      expect(warm.reused).toBe(true);
      expect(inputs()).toEqual([]);

      // Same size, mtime set back exactly: only the ctime tells, and it does.
      const source = fs.readFileSync(widgets, 'utf8');
      fs.writeFileSync(widgets, source.replace('widgets-marker', 'widgets-MARKER'));
      fs.utimesSync(widgets, past, past);
      expect(fs.statSync(widgets).mtimeMs).toBe(past.getTime());
      reads.mockClear();
      const changed = await buildSite(dir);
      expect(changed.reused).toBe(false);
      expect(inputs()).toContain(widgets);
      expect(readOut(path.join(dir, 'out'), bundleOf(changed, 'main.js').file)).toContain(
        'widgets-MARKER',
      );
    } finally {
      reads.mockRestore();
    }
  });

  test('a damaged record is ignored: every input is read and hashed again', async () => {
    const dir = copySite();
    const first = await buildSite(dir);
    fs.writeFileSync(path.join(dir, 'out', '.cache', 'inputs.json'), '{"version":1,"files":');
    const again = await buildSite(dir);
    expect(again.reused).toBe(true);
    expect(again.manifest).toEqual(first.manifest);
  });
});

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
