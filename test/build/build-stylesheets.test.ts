import fs from 'node:fs';
import path from 'node:path';
import type { Build } from '../../src';
import { bundleOf, copySite, readOut } from '../site';
import { buildError, buildSite } from './buildSite';

/**
 * build() of stylesheets: LESS imports through the load path, url()s copied under hashed
 * names, and a missing url() file named with the partial that wrote it.
 */

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
