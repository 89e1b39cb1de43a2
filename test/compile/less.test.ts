import path from 'node:path';
import stock from 'less';
import { MappingsGenerator, ownLess } from '../../src/compile/less';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';

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

  test("an application's own less functions stay: less's one registry is put back as it was", async () => {
    const registry = (
      stock as unknown as {
        functions: { functionRegistry: { add(name: string, f: unknown): void; _data: object } };
      }
    ).functions.functionRegistry;
    const builtIn = registry._data as Record<string, unknown>;
    const original = builtIn.percentage;
    const tree = (stock as unknown as { tree: { Anonymous: new (value: string) => unknown } }).tree;
    registry.add('percentage', () => new tree.Anonymous('the-apps-own'));
    try {
      const own = ownLess();
      const source = '.a { p: percentage(0.5); }';
      expect((await stock.render(source)).css).toContain('the-apps-own');
      // Ours shares the registry, as two stock instances would.
      expect((await own.render(source)).css).toContain('the-apps-own');
    } finally {
      registry.add('percentage', original);
    }
    expect((await stock.render('.a { p: percentage(0.5); }')).css).toContain('50%');
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

  test('its map generator writes what source-map 0.6 writes: out of order, repeats, names, no original', () => {
    // The generator stock less uses (source-map 0.6, as less resolves it).
    const environment = (stock as unknown as { environment: { getSourceMapGenerator(): unknown } })
      .environment;
    const Stock = environment.getSourceMapGenerator() as new (options: object) => {
      addMapping(mapping: object): void;
      setSourceContent(source: string, content: string | null): void;
      toJSON(): object;
    };
    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    for (let round = 0; round < 200; round++) {
      const generators = [
        new Stock({ file: 'out.css', sourceRoot: null }),
        new MappingsGenerator({ file: 'out.css' }),
      ];
      const inOrder = round % 2 === 0;
      let line = 1;
      let column = 0;
      const mappings: object[] = [];
      for (let i = 0; i < 1 + random(60); i++) {
        if (inOrder) {
          if (random(4) === 0) [line, column] = [line + 1 + random(3), 0];
          else column += random(3); // 0: the same position again
        } else {
          [line, column] = [1 + random(5), random(8)];
        }
        const withSource = random(5) > 0;
        const mapping = {
          generated: { line, column },
          ...(withSource
            ? {
                original: { line: 1 + random(4), column: random(6) },
                source: ['a.less', 'b.less', 'c.less'][random(3)],
                ...(random(3) === 0 ? { name: ['x', 'y'][random(2)] } : {}),
              }
            : {}),
        };
        mappings.push(mapping);
        // A repeat of the mapping just added, now and then.
        if (random(6) === 0) mappings.push({ ...mapping });
      }
      for (const generator of generators) {
        for (const mapping of mappings) generator.addMapping(mapping);
        generator.setSourceContent('b.less', '.b {}');
        generator.setSourceContent('unused.less', '.u {}');
      }
      const [expected, actual] = generators.map((generator) => JSON.stringify(generator.toJSON()));
      expect({ round, json: actual }).toEqual({ round, json: expected });
    }
  });
});
