import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  compress,
  contentTypeOf,
  isCompressible,
  writeAtomically,
  writeOnce,
} from '../../src/build/output';
import { tempDir } from '../helpers';

const LONG_AGO = new Date('2001-02-03T04:05:06Z');

describe('writeAtomically', () => {
  test('replaces the file whole and leaves no temporary file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'main.js');
    await writeAtomically(file, 'first');
    await writeAtomically(file, Buffer.from('second'));
    expect(fs.readFileSync(file, 'utf8')).toBe('second');
    expect(fs.readdirSync(dir)).toEqual(['main.js']);
  });

  test('a failed rename leaves no temporary file behind', async () => {
    const dir = tempDir();
    // A folder with contents where the file should go: the rename over it fails.
    const blocked = path.join(dir, 'main.js');
    fs.mkdirSync(path.join(blocked, 'inside'), { recursive: true });
    await expect(writeAtomically(blocked, 'new')).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual(['main.js']);
    expect(fs.readdirSync(blocked)).toEqual(['inside']);
  });
});

describe('writeOnce', () => {
  test('when the file already holds these bytes, does not touch it', async () => {
    const file = path.join(tempDir(), 'main.abc.js');
    fs.writeFileSync(file, 'same');
    fs.utimesSync(file, LONG_AGO, LONG_AGO);
    await writeOnce(file, Buffer.from('same'));
    expect(fs.statSync(file).mtimeMs).toBe(LONG_AGO.getTime());
  });

  test('when it holds other bytes of the same size, replaces them', async () => {
    const file = path.join(tempDir(), 'main.abc.js.map');
    fs.writeFileSync(file, 'AAAA');
    await writeOnce(file, Buffer.from('BBBB'));
    expect(fs.readFileSync(file, 'utf8')).toBe('BBBB');
  });

  test('when there is no file, writes it', async () => {
    const file = path.join(tempDir(), 'new.js');
    await writeOnce(file, Buffer.from('new'));
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
  });
});

describe('compress', () => {
  test('brotli and gzip twins that decompress to the input', async () => {
    const data = Buffer.from('function hello(){return "hello"}\n'.repeat(200));
    const { br, gzip } = await compress(data);
    expect(zlib.brotliDecompressSync(br).equals(data)).toBe(true);
    expect(zlib.gunzipSync(gzip).equals(data)).toBe(true);
    expect(br.length).toBeLessThan(gzip.length);
  });

  test('the same input gives the same bytes', async () => {
    const data = Buffer.from('a{color:red}'.repeat(50));
    const [one, two] = await Promise.all([compress(data), compress(data)]);
    expect(one.br.equals(two.br)).toBe(true);
    expect(one.gzip.equals(two.gzip)).toBe(true);
  });
});

test.each([
  ['main.abc.js', 'text/javascript; charset=utf-8', true],
  ['main.abc.css', 'text/css; charset=utf-8', true],
  ['main.abc.js.map', 'application/json; charset=utf-8', true],
  ['icons.abc.svg', 'image/svg+xml', true],
  ['icons.abc.woff2', 'font/woff2', false],
  ['arrow.abc.PNG', 'image/png', false],
  ['thing.abc.xyz', 'application/octet-stream', false],
])('%s is %s, compressible: %p', (file, type, compressible) => {
  expect(contentTypeOf(file)).toBe(type);
  expect(isCompressible(file)).toBe(compressible);
});
