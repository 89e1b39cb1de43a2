import { fontFaces } from '../../src/compile/fonts';

describe('fontFaces', () => {
  test('the woff2 of a face, wherever it stands in src', () => {
    const css =
      '@font-face{font-family:a;src:url(a.eot);src:url("a.eot?#iefix") format("embedded-opentype"),' +
      'url(a.woff) format("woff"),url("a.woff2") format("woff2"),url(a.svg#a) format("svg")}';
    expect(fontFaces(css)).toEqual([{ url: 'a.woff2', type: 'font/woff2' }]);
  });

  test('without a woff2, the first woff or ttf; by format(), else by extension', () => {
    expect(fontFaces("@font-face{src:url(b.ttf) format('truetype'),url(b.woff)}")).toEqual([
      { url: 'b.ttf', type: 'font/ttf' },
    ]);
    expect(fontFaces('@font-face{src:url(c.eot),url(c.woff?v=1)}')).toEqual([
      { url: 'c.woff?v=1', type: 'font/woff' },
    ]);
  });

  test('none for faces that may fetch nothing: local(), unicode-range, data: URLs, eot/svg only', () => {
    const css = [
      '@font-face{src:local(D),url(d.woff2) format("woff2")}',
      '@font-face{src:url(e.woff2);unicode-range:U+0400-045F}',
      '@font-face{src:url(data:font/woff2;base64,AAAA) format("woff2")}',
      '@font-face{src:url(f.eot),url(f.svg#f)}',
      '.icon{background:url(g.woff2)}',
    ].join('');
    expect(fontFaces(css)).toEqual([]);
  });

  test('each font once', () => {
    const face = '@font-face{font-family:h;src:url(h.woff2)}';
    expect(fontFaces(face + face)).toEqual([{ url: 'h.woff2', type: 'font/woff2' }]);
  });
});
