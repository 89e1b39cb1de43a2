import vm from 'node:vm';
import fs from 'node:fs';
import path from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { concatenate, mapBytes } from '../../src/build/bundle';
import type { Member } from '../../src/build/bundle';
import { JsonBytes } from '../../src/compile/types';
import type { SourceMap } from '../../src/compile/types';
import { compileScript } from '../../src/compile/javascript';
import { compileStylesheet } from '../../src/compile/stylesheet';
import type { CompileSettings } from '../../src/compile/types';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';

const settings: CompileSettings = { minify: true, roots: ['/srv/assets'], urlPrefix: '' };

async function compiled(name: string, source: string): Promise<Member> {
  return { name, ...(await compileScript(name, source, settings)) };
}

function run(code: string): Record<string, unknown> {
  const context = vm.createContext({});
  vm.runInContext(code, context);
  return context;
}

describe('concatenate', () => {
  describe('scripts', () => {
    test('a member without a final ";" cannot run into a next member starting with "("', () => {
      const { code } = concatenate(
        'js',
        [
          { name: 'a.js', code: 'var log = []\nlog.push("a")' },
          { name: 'b.js', code: '(function () { log.push("b") })()' },
        ],
        'main.js',
      );
      expect(run(code).log).toEqual(['a', 'b']);
    });

    test('nor into a member starting with "[" or a template literal', () => {
      const { code } = concatenate(
        'js',
        [
          { name: 'a.js', code: 'var log = []\nvar f = function () { return log }' },
          { name: 'b.js', code: '[1, 2].forEach(function (n) { log.push(n) })' },
          { name: 'c.js', code: '`template`.length' },
        ],
        'main.js',
      );
      expect(run(code).log).toEqual([1, 2]);
    });

    test('nor through a comment that ends a member', async () => {
      const members = [
        await compiled('a.js', 'var log = ["a"]\n//@license MIT'),
        await compiled('b.js', '(function () { log.push("b") })()'),
      ];
      expect(run(concatenate('js', members, 'main.js').code).log).toEqual(['a', 'b']);
    });

    test('each member starts on a line of its own, so maps can be placed by line', () => {
      const { code } = concatenate(
        'js',
        [
          { name: 'a.js', code: 'a();\n' },
          { name: 'b.js', code: 'b()' },
        ],
        'main.js',
      );
      expect(code).toBe('a();\nb();');
    });

    test('strict and sloppy members keep their own meaning, in either order', async () => {
      const members = [
        await compiled('sloppy-first.js', 'var log = []; with ({ x: 1 }) { early = x; }'),
        await compiled('strict.js', '"use strict";\nfunction helper() { return "h"; }'),
        await compiled('sloppy.js', 'with ({ y: 2 }) { late = y + helper(); }'),
      ];
      const context = run(concatenate('js', members, 'main.js').code);
      expect(context).toMatchObject({ early: 1, late: '2h' });
    });
  });

  test('the map places each member at the line where it starts', async () => {
    const a = await compiled('a.js', 'var a = 1;\nconsole.log("a-marker");\n');
    const b = await compiled('b.js', '\n\n\nconsole.log("b-marker");\n');
    const { code, map } = concatenate('js', [a, b], 'main.js');
    expect(map.file).toBe('main.js');
    expect(map.sources).toEqual(['a.js', 'b.js']);
    expect(map.sourcesContent).toEqual([
      'var a = 1;\nconsole.log("a-marker");\n',
      '\n\n\nconsole.log("b-marker");\n',
    ]);
    const trace = new TraceMap(map as never);
    const lines = code.split('\n');
    for (const [marker, source, line] of [
      ['a-marker', 'a.js', 2],
      ['b-marker', 'b.js', 4],
    ] as const) {
      const at = lines.findIndex((text) => text.includes(marker));
      const column = lines[at].indexOf('console.log("' + marker);
      expect(originalPositionFor(trace, { line: at + 1, column })).toMatchObject({ source, line });
    }
  });

  test('a member without a map still takes its lines', async () => {
    const b = await compiled('b.js', 'console.log("b-marker");');
    const { code, map } = concatenate(
      'js',
      [{ name: 'a.js', code: 'one();\ntwo();\nthree();' }, b],
      'main.js',
    );
    expect(map.sources).toEqual(['b.js']);
    const column = code.split('\n')[3].indexOf('console');
    expect(originalPositionFor(new TraceMap(map as never), { line: 4, column })).toMatchObject({
      source: 'b.js',
      line: 1,
    });
  });

  test('stylesheets are joined by line, without ";"', () => {
    const { code } = concatenate(
      'css',
      [
        { name: 'a.css', code: 'a{color:red}' },
        { name: 'b.less', code: 'b{color:blue}\n' },
      ],
      'main.css',
    );
    expect(code).toBe('a{color:red}\nb{color:blue}');
  });

  describe('the written map, read as DevTools reads it', () => {
    /** Where `marker` first is in the bundle, mapped back through the map as written. */
    function origin(bundle: { code: string; map: SourceMap }, marker: string) {
      const trace = new TraceMap(JSON.parse(mapBytes(bundle.map).toString()) as never);
      const lines = bundle.code.split('\n');
      const line = lines.findIndex((text) => text.includes(marker));
      expect(line).toBeGreaterThanOrEqual(0);
      const column = lines[line].indexOf(marker);
      const { source, line: originalLine } = originalPositionFor(trace, { line: line + 1, column });
      return { source, line: originalLine };
    }

    /** The 1-based line of the first line of `file` that holds `text`. */
    function lineOf(file: string, text: string): number {
      return (
        fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .findIndex((each) => each.includes(text)) + 1
      );
    }

    test('a script bundle: positions in members in its middle (jQuery, a strict file) go back to their file and line', async () => {
      const library = async (name: string) =>
        compiled(name, fs.readFileSync(path.join(NODE_MODULES, name), 'utf8'));
      const bundle = concatenate(
        'js',
        [
          await compiled('first.js', 'var first = 1;\nconsole.log("first-marker");\n'),
          await library('jquery/dist/jquery.js'),
          await compiled('strict.js', '"use strict";\n\n\nconsole.log("strict-marker");\n'),
          { name: 'plain.js', code: 'one();\ntwo();' },
          await compiled('last.js', '\nconsole.log("last-marker");\n'),
        ],
        'main.js',
      );
      const jquery = path.join(NODE_MODULES, 'jquery/dist/jquery.js');
      const unrecognized = '"Syntax error, unrecognized expression: "';
      expect(origin(bundle, 'first-marker')).toEqual({ source: 'first.js', line: 2 });
      expect(origin(bundle, unrecognized)).toEqual({
        source: 'jquery/dist/jquery.js',
        line: lineOf(jquery, unrecognized),
      });
      expect(origin(bundle, 'strict-marker')).toEqual({ source: 'strict.js', line: 4 });
      expect(origin(bundle, 'last-marker')).toEqual({ source: 'last.js', line: 2 });
    });

    test("a stylesheet bundle: bootstrap 3's LESS partials and a file after it go back to their file and line", async () => {
      const dir = tempDir();
      writeFiles(dir, {
        'site/first.less': '@c: red;\n.first-marker { color: @c; }\n',
        'site/middle.less': '// after bootstrap\n\n.middle-marker {\n  color: blue;\n}\n',
        'site/last.less': '.last-marker { margin: 0; }\n',
      });
      const roots = [dir, NODE_MODULES];
      const stylesheet = async (name: string) => {
        const file = name.startsWith('bootstrap/')
          ? path.join(NODE_MODULES, name)
          : path.join(dir, name);
        const source = fs.readFileSync(file, 'utf8');
        const read = (other: string) => fs.promises.readFile(other).catch(() => undefined);
        const output = await compileStylesheet(name, file, source, { ...settings, roots }, read);
        return { name, ...output };
      };
      const bundle = concatenate(
        'css',
        [
          await stylesheet('site/first.less'),
          await stylesheet('bootstrap/less/bootstrap.less'),
          await stylesheet('site/middle.less'),
          await stylesheet('site/last.less'),
        ],
        'main.css',
      );
      const glyphicons = path.join(NODE_MODULES, 'bootstrap/less/glyphicons.less');
      expect(origin(bundle, '.first-marker')).toEqual({ source: 'site/first.less', line: 2 });
      expect(origin(bundle, '.glyphicon-asterisk:before')).toEqual({
        source: 'bootstrap/less/glyphicons.less',
        line: lineOf(glyphicons, '.glyphicon-asterisk'),
      });
      expect(origin(bundle, '.middle-marker')).toEqual({ source: 'site/middle.less', line: 3 });
      expect(origin(bundle, '.last-marker')).toEqual({ source: 'site/last.less', line: 1 });
    });
  });

  test('no members, no code', () => {
    expect(concatenate('js', [], 'main.js').code).toBe('');
  });

  describe("sources' contents held as JSON bytes (from the compile cache)", () => {
    const member = (name: string, contents: (string | null)[]): Member => ({
      name,
      code: `.${name.replace(/\W/g, '')}{x:1}`,
      map: {
        version: 3,
        sources: contents.map((_, i) => `${name}/${i}.less`),
        sourcesContent: contents,
        names: [],
        mappings: contents.length ? 'AAAA' : '',
      },
    });
    const asBytes = ({ map, ...rest }: Member): Member => ({
      ...rest,
      map: map && {
        ...map,
        sourcesContent: new JsonBytes(Buffer.from(JSON.stringify(map.sourcesContent))),
      },
    });
    const members = [
      member('a', ['line "one"\n\u2028 ünï', null]),
      { name: 'plain', code: '.p{}' },
      member('empty', []),
      member('b', ['/* b */']),
    ];

    test('the map has the same bytes whether they are decoded or not, in any mix', () => {
      const expected = mapBytes(concatenate('css', members, 'main.css').map);
      for (const held of [[0], [3], [0, 2, 3]]) {
        const mixed = members.map((each, i) => (held.includes(i) ? asBytes(each) : each));
        const { map } = concatenate('css', mixed, 'main.css');
        expect(map.sourcesContent).toBeInstanceOf(JsonBytes);
        expect(mapBytes(map).toString()).toBe(expected.toString());
      }
      expect(JSON.parse(expected.toString())).toEqual({
        version: 3,
        file: 'main.css',
        sources: ['a/0.less', 'a/1.less', 'b/0.less'],
        names: [],
        mappings: expect.any(String),
        sourcesContent: ['line "one"\n\u2028 ünï', null, '/* b */'],
      });
    });

    test('a map with a sourceRoot: its sources are named through it, their contents kept as bytes', () => {
      const rooted = asBytes(member('c', ['/* c */']));
      (rooted.map as SourceMap).sourceRoot = 'x/';
      const { map } = concatenate('css', [asBytes(members[0]), rooted], 'main.css');
      expect(map.sources).toEqual(['a/0.less', 'a/1.less', 'x/c/0.less']);
      expect(map.sourcesContent).toBeInstanceOf(JsonBytes);
      expect(JSON.parse(mapBytes(map).toString()).sourcesContent).toEqual([
        'line "one"\n\u2028 ünï',
        null,
        '/* c */',
      ]);
    });

    test('without contents, a map has none', () => {
      const bare = { version: 3, sources: [], names: [], mappings: '' };
      expect(mapBytes(bare).toString()).toBe(JSON.stringify(bare));
    });
  });
});
