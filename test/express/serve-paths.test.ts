import fs from 'node:fs';
import path from 'node:path';
import type { AssetRegistry } from '../../src/assets';
import { EXPRESSES } from '../app';
import { DECODERS, servedSite, siteFiles, type Listening } from './servedSite';

/**
 * Which paths the middleware answers: the url() copies and source maps besides the bundles, 404
 * (reading no file) for any other path under the prefix, and next() for paths outside it.
 */

describe.each(EXPRESSES)('serving under %s', (_label, express) => {
  let assets: AssetRegistry;
  let server: Listening;
  beforeAll(async () => {
    ({ assets, server } = await servedSite(express));
  });
  afterAll(() => server.close());

  const { bundle, onDisk, copyOf } = siteFiles(() => assets);

  describe('files besides the bundles', () => {
    test('url() copies: a font as it is, an SVG in every encoding', async () => {
      const font = copyOf('site/fonts/icons.woff2');
      const svg = copyOf('site/img/logo.svg');
      expect(font).toMatch(/^icons\.[0-9a-f]+\.woff2$/);
      const css = onDisk(bundle('main.css').file).toString();
      expect(css).toContain(font);
      expect(css).toContain(svg);

      const fontResponse = await server.fetch(`/assets/${font}`, { 'Accept-Encoding': 'br' });
      expect(fontResponse.status).toBe(200);
      expect(fontResponse.headers['content-type']).toBe('font/woff2');
      expect(fontResponse.headers['content-encoding']).toBeUndefined();
      expect(fontResponse.body.equals(onDisk(font))).toBe(true);

      for (const encoding of ['br', 'gzip']) {
        const response = await server.fetch(`/assets/${svg}`, { 'Accept-Encoding': encoding });
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toBe('image/svg+xml');
        expect(response.headers['content-encoding']).toBe(encoding);
        expect(DECODERS[encoding](response.body).equals(onDisk(svg))).toBe(true);
      }
    });

    test('source maps, named by the bundle they map', async () => {
      for (const id of ['main.js', 'main.css']) {
        const { file, map } = bundle(id);
        expect(onDisk(file).toString()).toContain(`sourceMappingURL=${map}`);
        const response = await server.fetch(`/assets/${map}`);
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(JSON.parse(response.body.toString())).toMatchObject({ version: 3, file });
      }
    });
  });

  describe('any other path under the prefix', () => {
    // outDir is <root>/out: the sources sit one level up, in <root>/vendor and <root>/site.
    const outside = 'vendor/lib.js';
    const tooLong = (file: string) => [
      `/assets/${'a'.repeat(10_000)}`,
      `/assets/${'../'.repeat(3_400)}${outside}`,
      `/assets/${'x/'.repeat(5_000)}${file}`,
    ];
    const paths = (file: string, cached: string) => [
      `/assets/../${outside}`,
      `/assets/..%2f${outside}`,
      `/assets/..%2F${outside.replace('/', '%2F')}`,
      `/assets/%2e%2e/${outside}`,
      `/assets/%2E%2E%2F${outside.replace('/', '%2F')}`,
      `/assets/%252e%252e%252f${outside.replace('/', '%252f')}`,
      `/assets/..\\${outside.replace('/', '\\')}`,
      `/assets/..%5c${outside.replace('/', '%5c')}`,
      `/assets/....//${outside}`,
      `/assets/%c0%ae%c0%ae/${outside}`,
      `/assets/../../package.json`,
      `/assets/../package.json`,
      `/assets/${outside}`,
      `/assets/site/base.less`,
      `/assets/${file}%00`,
      `/assets/${file}%00.map`,
      `/assets/%00/../${file}`,
      `/assets/./${file}`,
      `/assets//${file}`,
      `/assets/${file}/`,
      `/assets/${file}/..`,
      `/assets/x/../${file}`,
      `/assets/${file.toUpperCase()}`,
      `/assets/${file}.br`,
      `/assets/${file}.gz`,
      `/assets/manifest.json`,
      `/assets/.cache/${cached}`,
      `/assets/.cache`,
      `/assets/`,
      `/assets/main.js`,
      ...tooLong(file),
    ];

    test('is 404, whatever its encoding, and reads no file', async () => {
      const { file } = bundle('main.js');
      const cached = fs.readdirSync(path.join(assets.options.outDir, '.cache'))[0];
      expect(cached).toBeDefined();
      const root = assets.options.roots[0];
      const secret = fs.readFileSync(path.join(root, outside), 'utf8').trim();
      const opened: string[] = [];
      const record = (target: unknown) => {
        const name = String(target);
        // The one file a miss may read is the manifest, for builds of other processes.
        if (name === path.join(assets.options.outDir, 'manifest.json')) return;
        if (name.startsWith(root) || name.includes('package.json')) opened.push(name);
      };
      const spies = [
        jest.spyOn(fs, 'readFileSync'),
        jest.spyOn(fs, 'readFile'),
        jest.spyOn(fs, 'createReadStream'),
        jest.spyOn(fs, 'openSync'),
        jest.spyOn(fs, 'open'),
        jest.spyOn(fs, 'statSync'),
        jest.spyOn(fs, 'stat'),
        jest.spyOn(fs.promises, 'readFile'),
        jest.spyOn(fs.promises, 'open'),
        jest.spyOn(fs.promises, 'stat'),
      ];
      try {
        for (const url of paths(file, cached)) {
          for (const headers of [{}, { 'Accept-Encoding': 'br, gzip' }]) {
            const response = await server.fetch(url, headers);
            expect({ url, status: response.status }).toEqual({ url, status: 404 });
            expect(response.body.toString()).not.toContain(secret);
            expect(response.headers['cache-control']).toBe('no-store');
          }
        }
        for (const spy of spies) for (const call of spy.mock.calls) record(call[0]);
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
      expect(opened).toEqual([]);
    });

    test('is 404 for other methods too: no method reveals which names exist', async () => {
      const response = await server.fetch(`/assets/../${outside}`, {}, 'POST');
      expect(response.status).toBe(404);
    });
  });

  describe('paths outside the prefix', () => {
    test.each([
      '/later',
      '/assets',
      '/assetsx/main.js',
      '/other/assets/main.js',
      '/ASSETS/main.js',
    ])('%s goes to next()', async (url) => {
      const response = await server.fetch(url);
      expect(response.body.toString()).toBe(
        url === '/later' ? 'a later route' : `fell through: ${url}`,
      );
    });

    test('a bundle name under another prefix goes to next()', async () => {
      const { file } = bundle('main.js');
      const response = await server.fetch(`/static/${file}`);
      expect(response.status).toBe(404);
      expect(response.body.toString()).toBe(`fell through: /static/${file}`);
    });
  });
});
