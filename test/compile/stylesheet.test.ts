import fs from 'node:fs';
import path from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import less from 'less';
import { AssetBuildError } from '../../src';
import { less as compiler } from '../../src/compile/compilers';
import { compileStylesheet } from '../../src/compile/stylesheet';
import type { CompileSettings } from '../../src/compile/types';
import { tempDir, writeFiles } from '../helpers';

/** Two roots, like `root: ['assets', 'vendor']`, with the given files under each. */
function loadPath(assets: Record<string, string>, vendor: Record<string, string> = {}) {
  const dirs = [path.join(tempDir(), 'assets'), path.join(tempDir(), 'vendor')];
  writeFiles(dirs[0], assets);
  writeFiles(dirs[1], vendor);
  return dirs;
}

function compile(roots: string[], name: string, minify = true) {
  const file = path.join(roots[0], name);
  const settings: CompileSettings = { minify, roots, urlPrefix: '' };
  const read = (other: string) => fs.promises.readFile(other).catch(() => undefined);
  return compileStylesheet(name, file, fs.readFileSync(file, 'utf8'), settings, read);
}

async function buildError(roots: string[], name: string): Promise<AssetBuildError> {
  const error = await compile(roots, name).catch((caught) => caught);
  expect(error).toBeInstanceOf(AssetBuildError);
  return error;
}

describe('compileStylesheet', () => {
  test('compiles LESS and minifies with clean-css', async () => {
    const roots = loadPath({
      'site/base.less': '@brand: #ff0000;\n.a {\n  color: @brand;\n  .b { margin: 0px 0px; }\n}\n',
    });
    const { code } = await compile(roots, 'site/base.less');
    expect(code).toBe('.a{color:red}.a .b{margin:0}');
  });

  test('plain CSS goes through the same compiler', async () => {
    const roots = loadPath({ 'site/reset.css': 'html,\nbody {\n  margin: 0;\n}\n' });
    expect((await compile(roots, 'site/reset.css')).code).toBe('body,html{margin:0}');
  });

  test('@import is resolved from the importing file first, then the load path', async () => {
    const roots = loadPath(
      {
        'site/base.less': '@import "partials/buttons";\n@import "theme/colors";\n',
        'site/partials/buttons.less': '@import "shared";\n.button { color: @brand; }\n',
        // Next to the importing partial: wins over the load path's file of the same name.
        'site/partials/shared.less': '.near { color: blue; }\n',
        'shared.less': '.far { color: green; }\n',
      },
      { 'theme/colors.less': '@brand: #c0ffee;\n' },
    );
    const { code, inputs } = await compile(roots, 'site/base.less');
    expect(code).toBe('.near{color:#00f}.button{color:#c0ffee}');
    expect(inputs.sort()).toEqual(
      [
        path.join(roots[0], 'site/partials/buttons.less'),
        path.join(roots[0], 'site/partials/shared.less'),
        path.join(roots[1], 'theme/colors.less'),
      ].sort(),
    );
  });

  test('the map leads back to the partial that wrote a rule, with load-path names', async () => {
    const roots = loadPath(
      {
        'site/base.less': '@import "theme/colors";\n.base { color: red; }\n',
      },
      { 'theme/colors.less': '// colours\n\n.theme-marker { color: blue; }\n' },
    );
    const { code, map } = await compile(roots, 'site/base.less');
    expect([...(map?.sources ?? [])].sort()).toEqual(['site/base.less', 'theme/colors.less']);
    expect(JSON.stringify(map)).not.toContain(path.dirname(roots[0]));
    const column = code.indexOf('.theme-marker');
    const original = originalPositionFor(new TraceMap(map as never), { line: 1, column });
    expect(original).toMatchObject({ source: 'theme/colors.less', line: 3 });
  });

  test('url()s are rewritten to hashed copies, also in imported partials', async () => {
    const roots = loadPath({
      'site/base.less': '@import "partials/icons";\n',
      'site/partials/icons.less': '.i { background: url(../img/i.png); }\n',
      'site/img/i.png': 'PNG',
    });
    const { code, copies, inputs } = await compile(roots, 'site/base.less');
    expect(copies).toEqual([
      {
        from: path.join(roots[0], 'site/img/i.png'),
        name: expect.stringMatching(/^i\.\w{12}\.png$/),
      },
    ]);
    expect(code).toBe(`.i{background:url("${copies[0].name}")}`);
    expect(inputs).toContain(path.join(roots[0], 'site/img/i.png'));
  });

  test("compiles with the application's own less, through its public API, changing nothing of it", async () => {
    const internals = less as unknown as {
      SourceMapOutput: { prototype: object };
      functions: { functionRegistry: { getLocalFunctions(): object } };
    };
    const methods = () => {
      const { prototype } = internals.SourceMapOutput;
      return Object.getOwnPropertyNames(prototype).map((name) => [
        name,
        Object.getOwnPropertyDescriptor(prototype, name)?.value,
      ]);
    };
    const functions = () => ({ ...internals.functions.functionRegistry.getLocalFunctions() });
    const [methodsBefore, functionsBefore] = [methods(), functions()];
    const roots = loadPath({ 'site/base.less': '.a { width: percentage(0.5); }\n' });
    expect((await compile(roots, 'site/base.less')).code).toBe('.a{width:50%}');
    expect(compiler()).toBe(less);
    expect(methods()).toEqual(methodsBefore);
    expect(functions()).toEqual(functionsBefore);
  });

  test('without minify, LESS is compiled but not minified', async () => {
    const roots = loadPath({ 'a.less': '.a { .b { color: red; } }\n' });
    const { code } = await compile(roots, 'a.less', false);
    expect(code).toBe('.a .b {\n  color: red;\n}\n');
  });

  describe('errors', () => {
    test('a LESS syntax error in a partial names the partial, line and column', async () => {
      const roots = loadPath({
        'site/base.less': '@import "partials/broken";\n',
        'site/partials/broken.less': '.a {\n  color: red;\n  }}\n',
      });
      const error = await buildError(roots, 'site/base.less');
      expect(error).toMatchObject({
        code: 'ASSET_BUILD',
        asset: 'site/base.less',
        file: 'site/partials/broken.less',
        line: 3,
        column: 4,
      });
      expect(error.message).toMatch(
        /^site\/partials\/broken\.less:3:4: .+ \(building "site\/base\.less"\)$/,
      );
    });

    test('an undefined variable names its place', async () => {
      const roots = loadPath({ 'a.less': '.a {\n  .b { color: @nope; }\n}\n' });
      const error = await buildError(roots, 'a.less');
      expect(error).toMatchObject({ file: 'a.less', line: 2, column: 15 });
      expect(error.reason).toContain('@nope');
    });

    test('a missing @import names the importing file', async () => {
      const roots = loadPath({ 'a.less': '.x {}\n@import "nowhere";\n' });
      expect(await buildError(roots, 'a.less')).toMatchObject({ file: 'a.less', line: 2 });
    });

    test('an @import of a plain CSS file, which less leaves to the browser, is refused', async () => {
      const roots = loadPath({
        'site/base.less': '@import "reset.css";\n.a { color: red; }\n',
        'site/reset.css': 'html { margin: 0; }\n',
      });
      const error = await buildError(roots, 'site/base.less');
      expect(error).toMatchObject({ asset: 'site/base.less', file: 'site/base.less' });
      expect(error.reason).toContain('write @import (less) "reset.css" to inline it');
    });

    test('an @import (less) of a CSS file inlines it; an absolute URL is left alone', async () => {
      const roots = loadPath({
        'site/base.less':
          '@import (css) url("https://fonts.example.com/css?family=Lato");\n' +
          '@import (css) "/static/legacy.css";\n' +
          '@import (less) "reset.css";\n',
        'site/reset.css': 'html { margin: 0; }\n',
      });
      const { code } = await compile(roots, 'site/base.less');
      expect(code).toBe(
        '@import url(https://fonts.example.com/css?family=Lato);' +
          '@import url(/static/legacy.css);html{margin:0}',
      );
    });

    test('inline JavaScript is off', async () => {
      const roots = loadPath({ 'a.less': '@x: `1 + 1`;\n.a { width: @x; }\n' });
      await buildError(roots, 'a.less');
    });
  });
});
