import vm from 'node:vm';
import fs from 'node:fs';
import path from 'node:path';
import {
  FlattenMap,
  TraceMap,
  decodedMappings,
  encodedMap,
  originalPositionFor,
} from '@jridgewell/trace-mapping';
import type { EncodedSourceMap } from '@jridgewell/trace-mapping';
import { concatenate, mapBytes } from '../../src/build/bundle';
import type { Member } from '../../src/build/bundle';
import { JsonBytes } from '../../src/compile/types';
import type { SourceMap } from '../../src/compile/types';
import { compileScript } from '../../src/compile/javascript';
import type { CompileSettings } from '../../src/compile/types';

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

  describe('the joined map', () => {
    /** Every segment with its source and name spelled out: indexes differ between ways. */
    function resolved(map: SourceMap) {
      const trace = new TraceMap(map as never);
      return decodedMappings(trace).map((line) =>
        line.map(([column, source, originalLine, originalColumn, name]) => [
          column,
          source === undefined ? undefined : trace.sources[source],
          originalLine,
          originalColumn,
          name === undefined ? undefined : trace.names[name],
        ]),
      );
    }

    /** The general way: each member's map decoded and placed at its first line. */
    function flattened(members: readonly Member[], kind: 'js' | 'css'): SourceMap {
      let line = 0;
      const sections = [];
      for (const member of members) {
        let code = member.code.replace(/\s+$/, '');
        if (kind === 'js' && code && !code.endsWith(';')) code += ';';
        if (member.map)
          sections.push({ offset: { line, column: 0 }, map: member.map as EncodedSourceMap });
        line += code.split('\n').length;
      }
      return encodedMap(new FlattenMap({ version: 3, sections })) as unknown as SourceMap;
    }

    test("says for every segment what decoding and placing each member says (jQuery's own map, members with and without maps)", async () => {
      const dist = path.join(__dirname, '..', '..', 'node_modules', 'jquery', 'dist');
      const jquery: Member = {
        name: 'jquery.min.js',
        code: fs.readFileSync(path.join(dist, 'jquery.min.js'), 'utf8'),
        map: JSON.parse(fs.readFileSync(path.join(dist, 'jquery.min.map'), 'utf8')) as SourceMap,
      };
      const members = [
        await compiled('first.js', 'var first = function named(x) { return x * 2; };\n'),
        { name: 'plain.js', code: 'one();\ntwo();' },
        jquery,
        await compiled('last.js', '\n\nwindow.last = first(1) + jQuery.fn.jquery.length;\n'),
      ];
      const { map } = concatenate('js', members, 'main.js');
      expect(map.sources).toEqual(['first.js', 'jquery.js', 'last.js']);
      expect(map.names.length).toBeGreaterThan(100);
      expect(resolved(map)).toEqual(resolved(flattened(members, 'js')));
    });

    test('segments without a source or a name, empty lines, shared sources: the same as the general way', () => {
      const member = (name: string, mappings: string, names: string[]): Member => ({
        name,
        code: Array.from({ length: 6 }, (_, i) => `.${name.slice(0, 1)}${i}{x:${i}}`).join('\n'),
        map: {
          version: 3,
          sources: [name, 'partial.less'],
          sourcesContent: [`/* ${name} */`, '@x: 1;'],
          names,
          mappings,
        },
      });
      const members = [
        // the first segment has no source; then a source, then a name
        member('a.less', 'A,CAAA,EACCA;;ACAAC,gBAAiB', ['one', 'two']),
        // the first source segment has no name, a later one has
        member('b.less', ';IAAI,CCAC;AAAAA', ['three']),
        { name: 'plain.css', code: 'p{}' },
        // no names at all, a long jump back in the original
        member('c.less', 'AAAA;AA+BA,CAAC', []),
      ];
      const { map } = concatenate('css', members, 'main.css');
      const general = flattened(members, 'css');
      expect(map.sources).toEqual(general.sources);
      expect(resolved(map)).toEqual(resolved(general));
      expect(resolved(map).flat().length).toBe(11);
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

    test('a map the general way must join gets them decoded', () => {
      const sectioned = asBytes(member('c', ['/* c */']));
      (sectioned.map as SourceMap).sourceRoot = 'x/';
      const { map } = concatenate('css', [asBytes(members[0]), sectioned], 'main.css');
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
