import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import express from 'express';
import type { Express } from 'express';
import request from 'supertest';
import { defineAssets } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { dcbUnavailable } from '../../src/build/dcb';
import { compressWithDictionary, dczUnavailable } from '../../src/build/dictionaries';
import type { DictionaryEntry } from '../../src/build/dictionaries';
import type { ManifestBundle } from '../../src/build/manifest';
import { launchChromium } from '../chromium';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';

/**
 * Whether this Node.js's node:zlib has zstd with dictionaries (22.19+ and 24.6+; zstd alone came
 * in 22.15 and 23.8), from its version: the library finds out by itself, which is under test.
 */
const [MAJOR, MINOR] = process.versions.node.split('.').map(Number);
const MAKES_DCZ = MAJOR >= 25 || (MAJOR === 24 && MINOR >= 6) || (MAJOR === 22 && MINOR >= 19);
/** The dcz tests run where dcz bodies are made; the others where they cannot be. */
const withDcz = MAKES_DCZ ? describe : describe.skip;
const withoutDcz = MAKES_DCZ ? describe.skip : describe;

const APP_JS = (release: string) =>
  `document.getElementById('out').textContent = ${JSON.stringify(release)};\n` +
  `window.release = jQuery.fn.jquery + ' ' + ${JSON.stringify(release)};\n`;

/** One release of a small site: jQuery and an app file, built into a shared outDir. */
function release(
  root: string,
  name: string,
  logger: (line: string) => void = () => {},
  css = 'body { color: #123456; }\n',
): AssetRegistry {
  writeFiles(root, { 'site/app.js': APP_JS(name), 'site/app.css': css });
  return defineAssets({
    root: [root, NODE_MODULES],
    outDir: path.join(root, 'out'),
    mode: 'production',
    logger,
    assets: [
      'jquery/dist/jquery.js',
      { path: 'site/app.js', deps: ['jquery/dist/jquery.js', 'site/app.css'] },
      'site/app.css',
    ],
  });
}

function page(assets: AssetRegistry): Express {
  const app = express();
  app.use(assets.middleware());
  app.get('/', (_req, res) => {
    res.requireAssets('site/app.js');
    res.send(
      `<!doctype html><html><head><link rel="icon" href="data:,">${res.locals.assetTags('css')}</head>` +
        `<body><div id="out"></div>${res.locals.assetTags('js')}</body></html>`,
    );
  });
  return app;
}

const bundleOf = (assets: AssetRegistry, id: string): ManifestBundle =>
  assets.current.bundles.find((bundle) => bundle.id === id)!;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();
const readOut = (root: string, file: string) => fs.readFileSync(path.join(root, 'out', file));

test(`the library knows whether this Node.js (${process.version}) can make dcz bodies`, () => {
  expect(dczUnavailable() === undefined).toBe(MAKES_DCZ);
});

withDcz('Compression Dictionary Transport (dcz)', () => {
  let root: string;
  let first: AssetRegistry;
  let second: AssetRegistry;
  let oldJs: Buffer;
  let newJs: Buffer;
  beforeAll(async () => {
    root = tempDir();
    first = release(root, 'release one');
    await first.build();
    oldJs = readOut(root, bundleOf(first, 'main.js').file);
    second = release(root, 'release two');
    await second.build();
    newJs = readOut(root, bundleOf(second, 'main.js').file);
  });

  test('a new build compresses each bundle against the kept older version, in the manifest', () => {
    const js = bundleOf(second, 'main.js');
    expect(js.file).not.toBe(bundleOf(first, 'main.js').file);
    expect(js.dictionaries).toEqual([
      {
        from: bundleOf(first, 'main.js').file,
        hash: sha256(oldJs).toString('base64'),
        file: `${js.file}.${bundleOf(first, 'main.js').file.split('.')[1]}.dcz`,
        bytes: expect.any(Number),
        // Also as dcb where this Node.js's brotli takes a dictionary (test/build/dcb.test.ts).
        dcb: dcbUnavailable() ? undefined : { file: expect.stringMatching(/\.dcb$/), bytes: expect.any(Number) }, // prettier-ignore
      },
    ]);
    // The CSS did not change: no new version, nothing to compress against.
    expect(bundleOf(second, 'main.css').file).toBe(bundleOf(first, 'main.css').file);
    expect(bundleOf(second, 'main.css').dictionaries).toBeUndefined();
  });

  test('a bundle is served with Use-As-Dictionary for later versions of itself', async () => {
    const js = bundleOf(second, 'main.js');
    const response = await request(page(second)).get(`/assets/${js.file}`).expect(200);
    expect(response.headers['use-as-dictionary']).toBe(
      'match="/assets/main.*.js", match-dest=("script")',
    );
    expect(response.headers['cache-control']).toContain('max-age=31536000');
    const css = await request(page(second)).get(`/assets/${bundleOf(second, 'main.css').file}`);
    expect(css.headers['use-as-dictionary']).toBe(
      'match="/assets/main.*.css", match-dest=("style")',
    );
  });

  /** A raw GET (no decompression by the client) of the new bundle. */
  function get(headers: Record<string, string>, file = bundleOf(second, 'main.js').file) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        const server = page(second).listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          http
            .get({ host: '127.0.0.1', port, path: `/assets/${file}`, headers }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => {
                server.close();
                resolve({
                  status: res.statusCode!,
                  headers: res.headers,
                  body: Buffer.concat(chunks),
                });
              });
            })
            .on('error', reject);
        });
      },
    );
  }
  const available = () => `:${sha256(oldJs).toString('base64')}:`;

  test('a request naming the older version gets dcz, decoded by the zstd command line tool', async () => {
    const response = await get({
      'Accept-Encoding': 'gzip, deflate, br, zstd, dcz',
      'Available-Dictionary': available(),
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('dcz');
    expect(response.headers.vary).toBe('Accept-Encoding, Available-Dictionary');
    expect(response.headers.etag).toMatch(/-dcz-/);
    expect(response.body.subarray(0, 8)).toEqual(
      Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 0x20, 0, 0, 0]),
    );
    expect(response.body.subarray(8, 40)).toEqual(sha256(oldJs));
    const dictionary = path.join(tempDir(), 'old.js');
    fs.writeFileSync(dictionary, oldJs);
    const decoded = execFileSync('zstd', ['-d', '-c', '-D', dictionary], {
      input: response.body.subarray(40),
    });
    expect(decoded.equals(newJs)).toBe(true);
    const brotli = zlib.brotliCompressSync(newJs, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 },
    });
    expect(response.body.length).toBeLessThanOrEqual(brotli.length * 0.1);
  });

  test('304 for the dcz representation uses its own ETag', async () => {
    const headers = { 'Accept-Encoding': 'br, dcz', 'Available-Dictionary': available() };
    const { headers: first } = await get(headers);
    const again = await get({ ...headers, 'If-None-Match': String(first.etag) });
    expect(again.status).toBe(304);
    const plain = await get({ 'Accept-Encoding': 'br', 'If-None-Match': String(first.etag) });
    expect(plain.status).toBe(200);
  });

  test.each([
    ['no Available-Dictionary', { 'Accept-Encoding': 'br, dcz' }],
    ['dcz not accepted', { 'Accept-Encoding': 'br, gzip', 'Available-Dictionary': 'OLD' }],
    ['dcz refused by q=0', { 'Accept-Encoding': 'br, dcz;q=0', 'Available-Dictionary': 'OLD' }],
    [
      'an unknown hash',
      {
        'Accept-Encoding': 'br, dcz',
        'Available-Dictionary': `:${Buffer.alloc(32, 7).toString('base64')}:`,
      },
    ],
    ['a malformed header', { 'Accept-Encoding': 'br, dcz', 'Available-Dictionary': 'not a hash' }],
    ['the hash without colons', { 'Accept-Encoding': 'br, dcz', 'Available-Dictionary': 'BARE' }],
    ['the hash of another bundle', { 'Accept-Encoding': 'br, dcz', 'Available-Dictionary': 'CSS' }],
    [
      'a cross-site no-cors fetch',
      {
        'Accept-Encoding': 'br, dcz',
        'Available-Dictionary': 'OLD',
        'Sec-Fetch-Mode': 'no-cors',
        'Sec-Fetch-Site': 'cross-site',
      },
    ],
  ])('falls back to brotli for %s', async (_case, given: Record<string, string>) => {
    const headers = { ...given };
    if (headers['Available-Dictionary'] === 'OLD') headers['Available-Dictionary'] = available();
    if (headers['Available-Dictionary'] === 'BARE')
      headers['Available-Dictionary'] = sha256(oldJs).toString('base64');
    if (headers['Available-Dictionary'] === 'CSS') {
      headers['Available-Dictionary'] =
        `:${sha256(readOut(root, bundleOf(second, 'main.css').file)).toString('base64')}:`;
    }
    const response = await get(headers);
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('br');
    expect(zlib.brotliDecompressSync(response.body).equals(newJs)).toBe(true);
  });

  test('the size table lists the dcz bytes per older version', async () => {
    const lines: string[] = [];
    const third = release(root, 'release three', (line) => lines.push(line));
    await third.build();
    expect(lines.join('\n')).toMatch(/dcz vs main\.[0-9a-f]{12}\.js\s+[\d,]+/);
    expect(lines.join('\n')).not.toContain('dcz: not made');
    expect(bundleOf(third, 'main.js').dictionaries).toHaveLength(2);
  });
});

withDcz('dcz bodies of a kept bundle', () => {
  /** Releases one and two, then three with only the stylesheet changed: main.js is kept. */
  async function keptMainJs(
    beforeThree: (entry: DictionaryEntry, root: string) => void = () => {},
  ) {
    const root = tempDir();
    await release(root, 'one').build();
    const two = release(root, 'two');
    await two.build();
    const [entry] = bundleOf(two, 'main.js').dictionaries!;
    beforeThree(entry, root);
    const three = release(root, 'two', undefined, 'body { color: #654321; }\n');
    await three.build();
    expect(bundleOf(three, 'main.js').file).toBe(bundleOf(two, 'main.js').file);
    return { two, three, entry };
  }

  test('are kept while their older version is', async () => {
    const { two, three, entry } = await keptMainJs();
    expect(bundleOf(three, 'main.js')).toEqual(bundleOf(two, 'main.js'));
    expect(three.current.manifest.files).toContain(entry.file);
  });

  test('are dropped when their file is gone', async () => {
    const { three, entry } = await keptMainJs((gone, root) =>
      fs.rmSync(path.join(root, 'out', gone.file)),
    );
    expect(bundleOf(three, 'main.js').dictionaries).toBeUndefined();
    expect(three.current.manifest.files).not.toContain(entry.file);
  });
});

withDcz('dcz in Chromium', () => {
  test('a returning visitor gets the new release as dcz, runs it, and downloads <= 10% of brotli', async () => {
    const root = tempDir();
    let current = release(root, 'release one');
    await current.build();
    const seen: { path: string; dictionary?: string; encoding?: string; bytes: number }[] = [];
    const server = http.createServer((req, res) => {
      // Only dcz on offer: where this Node.js made dcb bodies too, the smaller one would be sent.
      req.headers['accept-encoding'] = req.headers['accept-encoding']?.replace(/,?\s*dcb\b/, '');
      res.on('finish', () => {
        seen.push({
          path: req.url ?? '',
          dictionary: req.headers['available-dictionary'] as string | undefined,
          encoding: res.getHeader('content-encoding') as string | undefined,
          bytes: Number(res.getHeader('content-length') ?? 0),
        });
      });
      page(current)(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const tab = await context.newPage();
      // localhost is a secure context, which dictionaries need.
      await tab.goto(`http://localhost:${port}/`);
      expect(await tab.textContent('#out')).toBe('release one');
      const oldJs = readOut(root, bundleOf(current, 'main.js').file);
      const next = release(root, 'release two');
      await next.build();
      current = next;
      seen.length = 0;
      await tab.goto(`http://localhost:${port}/`);
      expect(await tab.textContent('#out')).toBe('release two');
      const newFile = bundleOf(next, 'main.js').file;
      const fetched = seen.find((entry) => entry.path === `/assets/${newFile}`)!;
      expect(fetched.dictionary).toBe(`:${sha256(oldJs).toString('base64')}:`);
      expect(fetched.encoding).toBe('dcz');
      const brotli = zlib.brotliCompressSync(readOut(root, newFile), {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 },
      });
      expect(fetched.bytes).toBeLessThanOrEqual(brotli.length * 0.1);
    } finally {
      await browser.close();
      server.close();
    }
  }, 60_000);
});

withoutDcz(`without zstd dictionaries in node:zlib (${process.version})`, () => {
  let root: string;
  let first: AssetRegistry;
  let second: AssetRegistry;
  const lines: string[] = [];
  beforeAll(async () => {
    root = tempDir();
    first = release(root, 'release one');
    await first.build();
    second = release(root, 'release two', (line) => lines.push(line));
    await second.build();
  });

  test('a new build makes no dcz bodies, and the size table says why in one line', () => {
    const js = bundleOf(second, 'main.js');
    // The older version is kept, so a runtime with zstd dictionaries would have made one.
    expect(second.current.manifest.previous.flat()).toContain(bundleOf(first, 'main.js').file);
    expect(js.dictionaries).toBeUndefined();
    expect(fs.readdirSync(path.join(root, 'out')).filter((file) => file.endsWith('.dcz'))).toEqual(
      [],
    );
    const why = lines
      .join('\n')
      .split('\n')
      .filter((line) => line.startsWith('dcz'));
    expect(why).toEqual([
      `dcz: not made on this Node.js (${process.version} has no zstd in node:zlib; ` +
        'Node.js 22.19+ and 24.6+ have zstd with dictionaries)',
    ]);
  });

  test('a request naming the older version gets brotli, and the bundle still works', async () => {
    const old = bundleOf(first, 'main.js').file;
    const js = bundleOf(second, 'main.js');
    const response = await request(page(second))
      .get(`/assets/${js.file}`)
      .set('Accept-Encoding', 'br, dcz')
      .set('Available-Dictionary', `:${sha256(readOut(root, old)).toString('base64')}:`)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(response.headers['content-encoding']).toBe('br');
    expect(response.body).toEqual(readOut(root, js.file));
  });

  test('compressWithDictionary says why it cannot', () => {
    expect(() => compressWithDictionary(Buffer.from('new'), Buffer.from('old'))).toThrow(
      `Cannot make dcz bodies: ${process.version} has no zstd in node:zlib`,
    );
  });
});
