import fs from 'node:fs';
import path from 'node:path';
import { CompileCache } from '../../src/build/cache';
import { JsonBytes } from '../../src/compile/types';
import type { Compiled } from '../../src/compile/types';
import { tempDir, writeFiles } from '../helpers';

function setUp() {
  const root = tempDir();
  writeFiles(root, { 'site/a.less': '.a{}', 'site/partial.less': '@x: 1;' });
  const hashes = new Map([[path.join(root, 'site/partial.less'), 'hash-1']]);
  const folder = path.join(tempDir(), '.cache');
  const cache = new CompileCache(folder, [root], async (file) => hashes.get(file));
  return { root, hashes, cache };
}

function compiledIn(root: string): Compiled {
  return {
    code: '.a{color:red}\n.b{x:1}',
    map: {
      version: 3,
      sources: ['site/a.less', 'site/partial.less', 'site/none.less'],
      sourcesContent: ['.a { color: red; }\n.b { x: [1, 2] }', '@x: 1;\n"\u2028"', null],
      names: [],
      mappings: 'AAAA;AACA',
    },
    inputs: [path.join(root, 'site/partial.less')],
    copies: [],
  };
}

describe('CompileCache', () => {
  test("an entry is its JSON line, then the map's sources' contents, read back as bytes", async () => {
    const { root, cache } = setUp();
    const compiled = compiledIn(root);
    await cache.put('key', compiled);
    const [line, contents, more] = fs.readFileSync(cache.fileOf('key'), 'utf8').split('\n');
    expect(JSON.parse(line).compiled.map.sourcesContent).toBeUndefined();
    expect(JSON.parse(contents)).toEqual(compiled.map!.sourcesContent);
    expect(more).toBeUndefined();
    const read = (await cache.get('key'))!;
    expect(read.map!.sourcesContent).toBeInstanceOf(JsonBytes);
    expect(JSON.parse(JSON.stringify(read))).toEqual(compiled);
  });

  test('an entry without a map has no second line', async () => {
    const { root, cache } = setUp();
    const compiled = { ...compiledIn(root), map: undefined };
    await cache.put('key', compiled);
    expect(fs.readFileSync(cache.fileOf('key'), 'utf8')).not.toContain('\n');
    expect(await cache.get('key')).toEqual(compiled);
  });

  test('an entry of one JSON line with the contents inside (as earlier versions wrote) is read', async () => {
    const { root, cache } = setUp();
    const compiled = compiledIn(root);
    await cache.put('key', compiled);
    const [line, contents] = fs.readFileSync(cache.fileOf('key'), 'utf8').split('\n');
    const entry = JSON.parse(line);
    entry.compiled.map.sourcesContent = JSON.parse(contents);
    fs.writeFileSync(cache.fileOf('key'), JSON.stringify(entry));
    expect(await cache.get('key')).toEqual(compiled);
  });

  test('a damaged entry, or one whose inputs changed, is a miss', async () => {
    const { root, hashes, cache } = setUp();
    await cache.put('key', compiledIn(root));
    const file = cache.fileOf('key');
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, whole.subarray(0, whole.length - 3));
    expect(await cache.get('key')).toBeUndefined();
    // Cut right after a "]" inside a source, so the line still looks like an array.
    const text = whole.toString();
    const cut = text.lastIndexOf(']', text.length - 2);
    expect(text.lastIndexOf('\n', cut)).toBe(text.indexOf('\n'));
    fs.writeFileSync(file, `${text.slice(0, cut + 1)}`);
    expect(await cache.get('key')).toBeUndefined();
    // The same length, one character of a source changed.
    fs.writeFileSync(file, text.replace('color: red', 'color: rex'));
    expect(await cache.get('key')).toBeUndefined();
    fs.writeFileSync(file, whole.subarray(0, whole.indexOf('\n') - 1));
    expect(await cache.get('key')).toBeUndefined();
    fs.writeFileSync(file, whole);
    expect(await cache.get('key')).toBeDefined();
    hashes.set(path.join(root, 'site/partial.less'), 'hash-2');
    expect(await cache.get('key')).toBeUndefined();
  });
});
