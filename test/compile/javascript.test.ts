import vm from 'node:vm';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { AssetBuildError } from '../../src';
import { compileScript } from '../../src/compile/javascript';
import type { CompileSettings } from '../../src/compile/types';

const minify: CompileSettings = { minify: true, roots: ['/srv/assets'], urlPrefix: '' };

/** Runs scripts one after the other in one fresh context, as separate <script> tags would. */
function run(...scripts: string[]): Record<string, unknown> {
  const context = vm.createContext({});
  for (const script of scripts) vm.runInContext(script, context);
  return context;
}

async function buildError(name: string, source: string): Promise<AssetBuildError> {
  const error = await compileScript(name, source, minify).catch((caught) => caught);
  expect(error).toBeInstanceOf(AssetBuildError);
  return error;
}

describe('compileScript', () => {
  test('minifies with terser, keeping top-level names and license comments', async () => {
    const source = [
      '/*! tiny v1 | MIT */',
      '// a comment that goes',
      'function greet(person) {',
      '  var greeting = "Hello, " + person;',
      '  return greeting;',
      '}',
    ].join('\n');
    const { code } = await compileScript('lib/greet.js', source, minify);
    expect(code.length).toBeLessThan(source.length);
    expect(code).toContain('/*! tiny v1 | MIT */');
    expect(code).not.toContain('a comment that goes');
    expect(code).not.toContain('greeting');
    expect(run(code + ';this.result = greet("Ann");').result).toBe('Hello, Ann');
  });

  test('the source map names the asset, holds its source and leads back to its lines', async () => {
    const source = 'var a = 1;\n\n\nconsole.log("third-line-marker");\n';
    const { code, map } = await compileScript('site/app.js', source, minify);
    expect(map?.sources).toEqual(['site/app.js']);
    expect(map?.sourcesContent).toEqual([source]);
    const column = code.indexOf('console');
    const original = originalPositionFor(new TraceMap(map as never), { line: 1, column });
    expect(original).toMatchObject({ source: 'site/app.js', line: 4, column: 0 });
  });

  test('a syntax error is an AssetBuildError with file, line and column', async () => {
    const error = await buildError('site/app.js', 'var a = 1;\nvar b = (;\n');
    expect(error).toMatchObject({
      code: 'ASSET_BUILD',
      asset: 'site/app.js',
      file: 'site/app.js',
      line: 2,
      column: 10,
      reason: 'Unexpected token',
    });
    expect(error.message).toBe('site/app.js:2:10: Unexpected token');
  });

  test('a strict-mode-only error of a strict file is reported too', async () => {
    const error = await buildError('site/strict.js', '"use strict";\nwith (a) {}\n');
    expect(error).toMatchObject({ line: 2, column: 1 });
  });

  test('a script with a hashbang line is accepted', async () => {
    const { code } = await compileScript('bin.js', '#!/usr/bin/env node\nvar x = 1;', minify);
    expect(run(code).x).toBe(1);
  });

  describe('when the file is strict', () => {
    const strict = [
      '"use strict";',
      'function helper() { return "from strict"; }',
      'var config = { on: true };',
      'let counter = 1;',
      'const { deep: [first] } = { deep: ["first"] };',
      'class Widget {}',
      'this.topThis = this;',
    ].join('\n');

    test('it runs in a strict wrapper of its own: sloppy code after it stays sloppy', async () => {
      const { code } = await compileScript('strict.js', strict, minify);
      expect(code.startsWith('(function(){\n')).toBe(true);
      const context = run(code, 'with ({ a: 1 }) { sloppyGlobal = a + 1; }');
      expect(context.sloppyGlobal).toBe(2);
    });

    test('its top-level names are still globals for the files after it', async () => {
      const { code } = await compileScript('strict.js', strict, minify);
      const context = run(
        code,
        'var seen = [helper(), config.on, counter, first, typeof Widget, topThis === this];',
      );
      expect(context.seen).toEqual(['from strict', true, 1, 'first', 'function', true]);
    });

    test('it stays strict: assigning an undeclared variable throws', async () => {
      const { code } = await compileScript('strict.js', '"use strict";\nnotDeclared = 1;', minify);
      const context = vm.createContext({});
      expect(() => vm.runInContext(code, context)).toThrow(/notDeclared is not defined/);
      expect(context.notDeclared).toBeUndefined();
    });

    test('its map still leads back to its lines, past the wrapper line', async () => {
      const source = '"use strict";\n\nwindow.marker = "strict-marker";\n';
      const { code, map } = await compileScript('strict.js', source, minify);
      const lines = code.split('\n');
      const line = lines.findIndex((text) => text.includes('strict-marker'));
      const column = lines[line].indexOf('window');
      const original = originalPositionFor(new TraceMap(map as never), { line: line + 1, column });
      expect(original).toMatchObject({ source: 'strict.js', line: 3 });
    });
  });

  test('a sloppy file is not wrapped: its declarations are globals as they were', async () => {
    const { code } = await compileScript('sloppy.js', 'var a = 1; function f() {}', minify);
    expect(code.startsWith('(function')).toBe(false);
    expect(run(code)).toMatchObject({ a: 1, f: expect.any(Function) });
  });

  test('a "use strict" inside a function does not make the file strict', async () => {
    const source = 'function f() { "use strict"; return 1; }\nleaked = f();';
    const { code } = await compileScript('partly.js', source, minify);
    expect(run(code).leaked).toBe(1);
  });

  test('without minify, the source is kept as it is but still checked', async () => {
    const settings = { ...minify, minify: false };
    const source = '"use strict";\nvar a = 1;\n';
    expect((await compileScript('a.js', source, settings)).code).toBe(source);
    await expect(compileScript('a.js', 'var = ;', settings)).rejects.toThrow(AssetBuildError);
  });
});
