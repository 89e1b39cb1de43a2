import fs from 'node:fs';
import path from 'node:path';
import { AssetBuildError } from '../../src';
import { rewriteUrls } from '../../src/compile/urls';
import type { UrlContext } from '../../src/compile/urls';
import { contentHash } from '../../src/build/hash';
import { tempDir, writeFiles } from '../helpers';

const FONT = Buffer.from('wOF2 not really a font');
const PNG = Buffer.from('not really a png');

function site() {
  const root = tempDir();
  writeFiles(root, {
    'site/fonts/icons.woff2': FONT,
    'site/fonts/my icons.eot': FONT,
    'site/img/arrow.png': PNG,
  });
  return root;
}

function context(root: string, more: Partial<UrlContext> = {}): UrlContext {
  return {
    asset: 'site/base.less',
    baseDir: path.join(root, 'site', 'css'),
    roots: [root],
    urlPrefix: '',
    read: (file) => fs.promises.readFile(file).catch(() => undefined),
    origin: () => ({ file: 'site/css/partial.less', line: 7, column: 3 }),
    ...more,
  };
}

const fontName = `icons.${contentHash(FONT)}.woff2`;
const pngName = `arrow.${contentHash(PNG)}.png`;

describe('rewriteUrls', () => {
  test.each([
    ['unquoted', 'url(../fonts/icons.woff2)', `url("${fontName}")`],
    ['double quotes', 'url("../fonts/icons.woff2")', `url("${fontName}")`],
    ['single quotes', "url('../fonts/icons.woff2')", `url("${fontName}")`],
    ['spaces inside', 'url(  "../fonts/icons.woff2"  )', `url("${fontName}")`],
    ['a ?#iefix tail', "url('../fonts/icons.woff2?#iefix')", `url("${fontName}?#iefix")`],
    ['a #hash tail', 'url(../fonts/icons.woff2#icons)', `url("${fontName}#icons")`],
    ['a query tail', 'url("../fonts/icons.woff2?v=3.4.1")', `url("${fontName}?v=3.4.1")`],
  ])('a relative url, %s, becomes the hashed copy', async (_how, written, expected) => {
    const root = site();
    const css = `@font-face{src:${written} format("woff2")}`;
    const result = await rewriteUrls(css, context(root));
    expect(result.css).toBe(`@font-face{src:${expected} format("woff2")}`);
    expect(result.copies).toEqual([
      { from: path.join(root, 'site/fonts/icons.woff2'), name: fontName },
    ]);
  });

  test('each file is copied once, however often it is named', async () => {
    const root = site();
    const css =
      '.a{background:url(../img/arrow.png)}.b{background:url("../img/arrow.png")}' +
      '.c{src:url(../fonts/icons.woff2)}';
    const result = await rewriteUrls(css, context(root));
    expect(result.css).toBe(
      `.a{background:url("${pngName}")}.b{background:url("${pngName}")}` +
        `.c{src:url("${fontName}")}`,
    );
    expect(result.copies.map((copy) => copy.name)).toEqual([pngName, fontName]);
  });

  test('a percent-encoded name finds its file, and the copy gets a name safe in URLs', async () => {
    const root = site();
    const result = await rewriteUrls('a{src:url("../fonts/my%20icons.eot")}', context(root));
    expect(result.copies).toEqual([
      {
        from: path.join(root, 'site/fonts/my icons.eot'),
        name: `my-icons.${contentHash(FONT)}.eot`,
      },
    ]);
  });

  test('the url prefix goes before the hashed name', async () => {
    const root = site();
    const result = await rewriteUrls(
      'a{b:url(../img/arrow.png)}',
      context(root, { urlPrefix: '/assets/' }),
    );
    expect(result.css).toBe(`a{b:url("/assets/${pngName}")}`);
  });

  test.each([
    'url(data:image/png;base64,iVBORw0KGgo=)',
    'url("data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E")',
    'url(https://cdn.example.com/a.png)',
    "url('http://example.com/a.png')",
    'url(//cdn.example.com/a.png)',
    'url(/static/a.png)',
    'url(#gradient)',
    'url()',
    'url("")',
  ])('%s stays untouched', async (written) => {
    const root = site();
    const css = `.a{background:${written}}`;
    expect(await rewriteUrls(css, context(root))).toEqual({ css, copies: [] });
  });

  test('a url to a missing file is an AssetBuildError naming the stylesheet that wrote it', async () => {
    const root = site();
    const origin = jest.fn(() => ({ file: 'site/css/partial.less', line: 7, column: 3 }));
    const css = '.ok{background:url(../img/arrow.png)}\n.a{background:url(../img/missing.png)}';
    const error = await rewriteUrls(css, context(root, { origin })).catch((caught) => caught);
    expect(error).toBeInstanceOf(AssetBuildError);
    expect(error).toMatchObject({
      asset: 'site/base.less',
      file: 'site/css/partial.less',
      line: 7,
      column: 3,
    });
    expect(error.message).toContain('site/img/missing.png');
    expect(error.message).toContain('"site/base.less"');
    // The origin is asked about the offset of the failing url() in the CSS.
    expect(origin).toHaveBeenCalledWith(css.indexOf('url(../img/missing'));
  });

  test('a url that leaves the load path is an AssetBuildError', async () => {
    const root = site();
    const error = await rewriteUrls('a{b:url(../../../outside.png)}', context(root)).catch(
      (caught) => caught,
    );
    expect(error).toBeInstanceOf(AssetBuildError);
    expect(error.message).toMatch(/outside the load path/);
  });
});
