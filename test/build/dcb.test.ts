import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ManifestBundle } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { dcbUnavailable } from '../../src/build/dcb';
import { launchChromium } from '../chromium';
import { DIST, ensureDist } from '../dist';
import {
  availableDictionary,
  buildRelease,
  page,
  rawGet,
  sha256,
  siteFolder,
  startRelease,
} from '../dictionaryReleases';
import type { Release } from '../dictionaryReleases';
import { nodeBinary } from '../runtimes';

/**
 * dcb: a bundle as brotli against the older version a browser holds (RFC 9842). node:zlib makes
 * it on Node.js 24.22 and 26; Node.js 22.23 takes the option and ignores it. The builds here run
 * on those runtimes (test/runtimes.ts), whatever runs jest, and this process's middleware serves
 * what they wrote. Releases one and two are jQuery 3.6.4 and 3.7.1.
 */

const run = promisify(execFile);
const ONE: Release = { jquery: '3.6.4', text: 'release one' };
const TWO: Release = { jquery: '3.7.1', text: 'release two' };
const mainJs = (assets: AssetRegistry): ManifestBundle =>
  assets.current.bundles.find((bundle) => bundle.id === 'main.js')!;

beforeAll(ensureDist, 120_000);

describe('which runtimes make dcb bodies: a round trip, not the version', () => {
  const unavailableOn = async (major: number) => {
    const script = `console.log(JSON.stringify(require(${JSON.stringify(
      path.join(DIST, 'build', 'dcb.js'),
    )}).dcbUnavailable() ?? null))`;
    const { stdout } = await run(nodeBinary(major), ['-e', script]);
    return JSON.parse(stdout) as string | null;
  };

  test.each([24, 26])('Node.js %i: yes', async (major) => {
    expect(await unavailableOn(major)).toBeNull();
  });

  test('Node.js 22 takes the option and ignores it: no', async () => {
    expect(await unavailableOn(22)).toMatch(/^v22\.\d+\.\d+'s brotli in node:zlib ignores/);
  });

  test(`this Node.js (${process.version}) answers the same as the round trip`, () => {
    // Random bytes do not compress on their own; against themselves they do, if at all.
    const sample = randomBytes(512);
    const options = { dictionary: sample } as zlib.BrotliOptions;
    const usesDictionary = zlib.brotliCompressSync(sample, options).length < 100;
    expect(dcbUnavailable() === undefined).toBe(usesDictionary);
  });
});

describe('a build on Node.js 24: dcb next to dcz, and the smaller one served', () => {
  let dir: string;
  let second: AssetRegistry;
  let table: string;
  let oldJs: Buffer;
  let newJs: Buffer;
  beforeAll(async () => {
    dir = siteFolder();
    await buildRelease(dir, 24, ONE);
    const first = mainJs(await startRelease(dir, ONE)).file;
    oldJs = fs.readFileSync(path.join(dir, 'out', first));
    table = await buildRelease(dir, 24, TWO);
    second = await startRelease(dir, TWO);
    newJs = fs.readFileSync(path.join(dir, 'out', mainJs(second).file));
  }, 120_000);

  test('the manifest lists each dcb body with its dcz body; the size table shows both', () => {
    const js = mainJs(second);
    const [entry] = js.dictionaries!;
    const old = entry.from.split('.')[1];
    expect(entry.dcb).toEqual({ file: `${js.file}.${old}.dcb`, bytes: expect.any(Number) });
    expect(second.current.manifest.files).toEqual(
      expect.arrayContaining([entry.file, entry.dcb!.file]),
    );
    expect(table).toMatch(new RegExp(`dcb vs ${entry.from}\\s+${entry.dcb!.bytes.toLocaleString('en-US')}`)); // prettier-ignore
    expect(table).not.toContain('not made');
    // jQuery 3.6.4 -> 3.7.1: brotli against the old version beats zstd against it.
    expect(entry.dcb!.bytes).toBeLessThan(entry.bytes);
    expect(entry.dcb!.bytes).toBeLessThan(js.sizes.brotli * 0.2);
  });

  test('a dcb body is the RFC 9842 header, then brotli that needs the old bundle', async () => {
    const [entry] = mainJs(second).dictionaries!;
    const body = fs.readFileSync(path.join(dir, 'out', entry.dcb!.file));
    expect(body.subarray(0, 4)).toEqual(Buffer.from([0xff, 0x44, 0x43, 0x42]));
    expect(body.subarray(4, 36)).toEqual(sha256(oldJs));
    expect(() => zlib.brotliDecompressSync(body.subarray(36))).toThrow();
    const decode = `const zlib = require('node:zlib'), fs = require('node:fs');
      const [stream, dictionary] = process.argv.slice(1).map((file) => fs.readFileSync(file));
      process.stdout.write(zlib.brotliDecompressSync(stream.subarray(36), { dictionary }));`;
    const { stdout } = await run(
      nodeBinary(24),
      ['-e', decode, path.join(dir, 'out', entry.dcb!.file), path.join(dir, 'out', entry.from)],
      { encoding: 'buffer', maxBuffer: 1 << 24 },
    );
    expect(stdout.equals(newJs)).toBe(true);
  });

  const ask = (accept: string, more: Record<string, string> = {}) =>
    rawGet(page(second), mainJs(second).url, {
      'Accept-Encoding': accept,
      'Available-Dictionary': availableDictionary(dir, mainJs(second).dictionaries![0].from),
      ...more,
    });

  test.each([
    ['both: the smaller', 'gzip, deflate, br, zstd, dcb, dcz', 'dcb'],
    ['both, dcz first', 'dcz, dcb', 'dcb'],
    ['only dcb', 'br, dcb', 'dcb'],
    ['only dcz', 'br, dcz', 'dcz'],
    ['dcb refused', 'br, dcb;q=0, dcz', 'dcz'],
    ['dcb through "*"', 'dcz;q=0, *', 'dcb'],
    ['neither', 'gzip, br', 'br'],
  ])('Accept-Encoding with %s: %s', async (_case, accept, expected) => {
    const answer = await ask(accept);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe(expected);
    expect(answer.headers.vary).toBe('Accept-Encoding, Available-Dictionary');
    const [entry] = mainJs(second).dictionaries!;
    const file = { dcb: entry.dcb!.file, dcz: entry.file, br: `${mainJs(second).file}.br` };
    const onDisk = fs.readFileSync(path.join(dir, 'out', file[expected as keyof typeof file]));
    expect(answer.body.equals(onDisk)).toBe(true);
  });

  test('dcb has an ETag of its own: 304 to it, not to the dcz one', async () => {
    const { headers: dcb } = await ask('dcb');
    const { headers: dcz } = await ask('dcz');
    expect(dcb.etag).toMatch(/-dcb-/);
    expect(dcb.etag).not.toBe(dcz.etag);
    expect((await ask('dcb', { 'If-None-Match': dcb.etag! })).status).toBe(304);
    expect((await ask('dcb', { 'If-None-Match': dcz.etag! })).status).toBe(200);
  });

  test('a cross-site no-cors fetch gets no dictionary body', async () => {
    const mode = { 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Site': 'cross-site' };
    expect((await ask('br, dcb', mode)).headers['content-encoding']).toBe('br');
  });
});

describe('builds on Node.js 22: dcz only, as before, and kept when Node.js 24 builds next', () => {
  let dir: string;
  let table: string;
  beforeAll(async () => {
    dir = siteFolder();
    await buildRelease(dir, 22, ONE);
    table = await buildRelease(dir, 22, TWO);
  }, 120_000);

  test('no dcb body, and the size table says why in one line', async () => {
    const js = mainJs(await startRelease(dir, TWO));
    expect(js.dictionaries).toHaveLength(1);
    expect(js.dictionaries![0].dcb).toBeUndefined();
    expect(fs.readdirSync(path.join(dir, 'out')).filter((name) => name.endsWith('.dcb'))).toEqual(
      [],
    );
    expect(table.split('\n').filter((line) => /^dc[bz]/.test(line))).toEqual([
      expect.stringMatching(/^dcb: not made on this Node\.js \(v22\.\d+\.\d+'s brotli in node:zlib ignores dictionaries; /), // prettier-ignore
    ]);
    const answer = await rawGet(page(await startRelease(dir, TWO)), js.url, {
      'Accept-Encoding': 'gzip, deflate, br, zstd, dcb, dcz',
      'Available-Dictionary': availableDictionary(dir, js.dictionaries![0].from),
    });
    expect(answer.headers['content-encoding']).toBe('dcz');
  });

  test('a Node.js 24 build keeps the dcz-only entries of the bundles it keeps', async () => {
    const kept = mainJs(await startRelease(dir, TWO));
    const three = { ...TWO, css: 'body { color: #654321; }\n' };
    await buildRelease(dir, 24, three);
    const assets = await startRelease(dir, three);
    expect(mainJs(assets)).toEqual(kept);
    const css = assets.current.bundles.find((bundle) => bundle.id === 'main.css')!;
    expect(css.dictionaries?.[0].dcb).toEqual({ file: expect.any(String), bytes: expect.any(Number) }); // prettier-ignore
  }, 60_000);
});

describe('dcb in Chromium', () => {
  test('a returning visitor after a deploy gets dcb, runs it, and SRI holds', async () => {
    const dir = siteFolder();
    await buildRelease(dir, 24, ONE);
    let current = await startRelease(dir, ONE);
    const seen: { path: string; accepted?: string; dictionary?: string; encoding?: string }[] = [];
    const server = http.createServer((req, res) => {
      const accepted = req.headers['accept-encoding'];
      // Only dcb on offer: a request that accepts dcz too gets the smaller of the two.
      req.headers['accept-encoding'] = accepted?.replace(/,?\s*dcz\b/, '');
      res.on('finish', () => {
        seen.push({
          path: req.url ?? '',
          accepted,
          dictionary: req.headers['available-dictionary'] as string | undefined,
          encoding: res.getHeader('content-encoding') as string | undefined,
        });
      });
      page(current)(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const browser = await launchChromium();
    try {
      const tab = await (await browser.newContext()).newPage();
      const errors: string[] = [];
      tab.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      await tab.goto(`http://localhost:${port}/`); // localhost: a secure context
      expect(await tab.textContent('#out')).toBe('3.6.4 release one');
      const oldFile = mainJs(current).file;
      await buildRelease(dir, 24, TWO);
      current = await startRelease(dir, TWO);
      seen.length = 0;
      await tab.goto(`http://localhost:${port}/`);
      expect(await tab.textContent('#out')).toBe('3.7.1 release two');
      expect(await tab.getAttribute('script[src$=".js"]', 'integrity')).toBe(
        mainJs(current).integrity,
      );
      expect(errors).toEqual([]);
      const fetched = seen.find((entry) => entry.path === mainJs(current).url)!;
      expect(fetched.accepted).toMatch(/(^|,\s*)dcb(,|$)/); // Chromium advertises dcb
      expect(fetched.dictionary).toBe(availableDictionary(dir, oldFile));
      expect(fetched.encoding).toBe('dcb');
    } finally {
      await browser.close();
      server.close();
    }
  }, 120_000);
});
