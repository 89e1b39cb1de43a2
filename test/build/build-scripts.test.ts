import path from 'node:path';
import vm from 'node:vm';
import { bundleOf, copySite, readOut, runInPage } from '../site';
import { buildFiles, buildSite } from './buildSite';

/**
 * build() of scripts: the bundles run, whatever mix of sloppy, strict and "("-first files
 * they join.
 */

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
