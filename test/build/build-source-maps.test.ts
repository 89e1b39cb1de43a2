import fs from 'node:fs';
import path from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import type { Build } from '../../src';
import { bundleOf, copySite, readOut } from '../site';
import { buildSite } from './buildSite';

/**
 * build()'s source maps: every bundle names its map, and a place in a bundle leads back to its
 * source file and line.
 */

/** Where `text` first appears in `code`, as a 1-based line and 0-based column. */
function positionOf(code: string, text: string): { line: number; column: number } {
  const offset = code.indexOf(text);
  if (offset === -1) throw new Error(`${text} is not in the bundle`);
  const before = code.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') - 1 };
}

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
