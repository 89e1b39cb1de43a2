import path from 'node:path';
import stock from 'less';
import { ownLess } from '../src/compile/less';
import { NODE_MODULES, tempDir, writeFiles } from './helpers';

/** Renders with the options src/compile/stylesheet.ts uses, plus any given. */
function render(less: typeof stock, file: string, source: string, options: Less.Options = {}) {
  const sourceMap = { outputSourceFiles: true, disableSourcemapAnnotation: true };
  return less.render(source, {
    filename: file,
    paths: [NODE_MODULES],
    rewriteUrls: 'all',
    javascriptEnabled: false,
    sourceMap,
    ...options,
  });
}

/** The same CSS and the same map bytes from stock less and from ours. */
async function expectSameOutput(file: string, source: string, options?: Less.Options) {
  const expected = await render(stock, file, source, options);
  const actual = await render(ownLess(), file, source, options);
  expect(actual.css).toBe(expected.css);
  expect(JSON.parse(actual.map)).toEqual(JSON.parse(expected.map));
  expect(actual.map).toBe(expected.map);
  return actual;
}

describe('ownLess', () => {
  test('is an instance of its own: the stock less is left as it is', () => {
    const own = ownLess() as unknown as { SourceMapOutput: { prototype: object } };
    const original = (stock as unknown as { SourceMapOutput: { prototype: object } })
      .SourceMapOutput;
    expect(own).not.toBe(stock);
    expect(own.SourceMapOutput.prototype).not.toBe(original.prototype);
    expect(Object.getOwnPropertyNames(original.prototype)).toContain('add');
    expect(ownLess().FileManager).toBe(stock.FileManager);
  });

  test("bootstrap 3: the same CSS and map bytes as stock less's", async () => {
    const file = path.join(tempDir(), 'site.less');
    const output = await expectSameOutput(
      file,
      '@import "bootstrap/less/bootstrap.less";\n.site {\n  color: @brand-primary;\n}\n',
    );
    // 71 files and thousands of mappings: a wrong line or column in any would show above.
    expect(JSON.parse(output.map).sources.length).toBeGreaterThan(60);
    expect(output.css.length).toBeGreaterThan(100_000);
  });

  test('mapped lines of an inline import, CRLF, an empty partial, variables less prepends', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'raw.css': '.raw {\n  color: red;\n}\n\n.two { margin: 0 }\n',
      'crlf.less': '.crlf {\r\n  color: blue;\r\n}\r\n.more { a: b }\r\n',
      'empty.less': '',
      'nested.less': '@media (min-width: 10px) {\n  .n {\n    .m { x: @size; }\n  }\n}\n',
    });
    const source =
      '@import (inline) "raw.css";\n@import "crlf";\n@import "empty";\n@import "nested";\n' +
      '@size: 1px;\n.a { b: @size; .c { d: e; } }\n';
    const file = path.join(dir, 'site.less');
    await expectSameOutput(file, source);
    // less puts these before the entry's text and tells the map to ignore them.
    await expectSameOutput(file, source, {
      globalVars: { size: '2px' },
      modifyVars: { size: '3px' },
    } as Less.Options);
  });
});
