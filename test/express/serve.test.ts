import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Express as App } from 'express';
import request from 'supertest';
import { defineAssets } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { appWith, builtSite, EXPRESSES, SITE_ASSETS, SITE_FILES } from '../app';
import { tempDir, writeFiles } from '../helpers';

/**
 * Requests go through node:http, not supertest: superagent sends `Accept-Encoding: gzip, deflate`
 * unless told otherwise, decompresses bodies, and resolves `..` in paths, all of which would
 * hide what the server really sent.
 */
interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Listening {
  fetch(url: string, headers?: http.OutgoingHttpHeaders, method?: string): Promise<Raw>;
  close(): Promise<void>;
}

async function listen(app: App): Promise<Listening> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    fetch: (url, headers = {}, method = 'GET') =>
      new Promise<Raw>((resolve, reject) => {
        const options = { host: '127.0.0.1', port, path: url, method, headers, agent: false };
        const req = http.request(options, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        });
        req.on('error', reject);
        req.end();
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const WORDS = Array.from({ length: 120 }, (_, i) => `word${i}`);

/** The test site plus a stylesheet whose `url()`s reach a font (stored as is) and an SVG. */
async function siteWithCopies(): Promise<AssetRegistry> {
  const root = tempDir();
  writeFiles(root, {
    ...SITE_FILES,
    // Big enough that both twins are smaller than the bundle.
    'vendor/lib.js': `window.lib = { version: 1, words: ${JSON.stringify(WORDS)} };\n`,
    'site/fonts/icons.woff2': Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 131) % 256)),
    'site/img/logo.svg': `<svg xmlns="http://www.w3.org/2000/svg">${'<rect width="1" height="1"/>'.repeat(40)}</svg>\n`,
    'site/icons.less':
      '@font-face { font-family: icons; src: url("fonts/icons.woff2") format("woff2"); }\n' +
      '.logo { background: url(img/logo.svg) no-repeat; }\n',
  });
  const assets = defineAssets({
    root,
    outDir: `${root}/out`,
    assets: [...SITE_ASSETS, { path: 'site/icons.less', deps: ['site/base.less'] }],
    mode: 'production',
  });
  await assets.build();
  return assets;
}

const pathOf = (url: string) => new URL(url, 'http://localhost').pathname;

const DECODERS: Record<string, (data: Buffer) => Buffer> = {
  br: (data) => zlib.brotliDecompressSync(data),
  gzip: (data) => zlib.gunzipSync(data),
};

/** Headers that a HEAD must share with the GET of the same URL. */
const ENTITY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'etag',
  'cache-control',
  'vary',
];
const entityHeaders = (headers: http.IncomingHttpHeaders) =>
  Object.fromEntries(ENTITY_HEADERS.map((name) => [name, headers[name]]));

describe.each(EXPRESSES)('serving under %s', (_label, express) => {
  let assets: AssetRegistry;
  let server: Listening;
  beforeAll(async () => {
    assets = await siteWithCopies();
    const app = appWith(express, assets);
    app.get('/later', (_req, res) => res.send('a later route'));
    app.use((req, res) => res.status(404).send(`fell through: ${req.url}`));
    server = await listen(app);
  });
  afterAll(() => server.close());

  const bundle = (id: string) => assets.current.bundles.find((b) => b.id === id)!;
  const onDisk = (file: string) => fs.readFileSync(path.join(assets.options.outDir, file));
  const copyOf = (source: string) =>
    Object.keys(assets.current.manifest.copies).find(
      (name) => assets.current.manifest.copies[name] === source,
    )!;

  describe('a bundle', () => {
    test.each([
      ['main.js', 'text/javascript; charset=utf-8'],
      ['main.css', 'text/css; charset=utf-8'],
      ['admin.js', 'text/javascript; charset=utf-8'],
      ['admin.css', 'text/css; charset=utf-8'],
    ])(
      '%s: 200 with its type, length, strong ETag, immutable caching and Vary',
      async (id, type) => {
        const { file, url } = bundle(id);
        const response = await server.fetch(pathOf(url));
        expect(response.status).toBe(200);
        expect(response.headers).toMatchObject({
          'content-type': type,
          'content-length': String(onDisk(file).length),
          'cache-control': 'public, max-age=31536000, immutable',
          vary: 'Accept-Encoding',
        });
        expect(response.headers.etag).toMatch(/^"[^"]+"$/); // strong: no W/ prefix
        expect(response.headers['access-control-allow-origin']).toBeUndefined(); // same origin
        expect(response.headers['content-encoding']).toBeUndefined();
        expect(response.body.equals(onDisk(file))).toBe(true);
      },
    );

    test('a query string does not change what is served', async () => {
      const { file, url } = bundle('main.js');
      for (const query of ['?v=2', '?', '?x=/../../package.json']) {
        const response = await server.fetch(pathOf(url) + query);
        expect(response.status).toBe(200);
        expect(response.body.equals(onDisk(file))).toBe(true);
      }
    });
  });

  describe('Accept-Encoding', () => {
    test.each([
      ['br;q=0, gzip', 'gzip'],
      ['gzip;q=0.5, br;q=0.9', 'br'],
      ['identity', undefined],
      ['*', 'br'],
      [undefined, undefined],
      ['br;q=0, gzip;q=0', undefined],
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip, deflate', 'gzip'],
      ['gzip;q=0, *', 'br'],
      ['BR', 'br'],
      ['deflate, zstd', undefined],
    ])('%p is answered with %p, which decodes to the bundle', async (accept, encoding) => {
      const { file, url } = bundle('main.js');
      const response = await server.fetch(
        pathOf(url),
        accept === undefined ? {} : { 'Accept-Encoding': accept },
      );
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBe(encoding);
      expect(response.headers['content-length']).toBe(String(response.body.length));
      expect(response.headers.vary).toBe('Accept-Encoding');
      const decoded = encoding ? DECODERS[encoding](response.body) : response.body;
      expect(decoded.equals(onDisk(file))).toBe(true);
      if (encoding) expect(response.body.length).toBeLessThan(decoded.length);
    });

    test('a twin no smaller than the file is not sent', async () => {
      const tiny = await builtSite();
      const main = tiny.current.bundles.find((b) => b.id === 'main.js')!;
      expect(main.sizes.gzip).toBeGreaterThanOrEqual(main.sizes.min); // gzip's 18-byte framing
      const tinyServer = await listen(appWith(express, tiny));
      try {
        const response = await tinyServer.fetch(pathOf(main.url), { 'Accept-Encoding': 'gzip' });
        expect(response.status).toBe(200);
        expect(response.headers['content-encoding']).toBeUndefined();
        expect(response.body.length).toBe(main.sizes.min);
      } finally {
        await tinyServer.close();
      }
    });

    test('each encoding is a representation of its own, with its own strong ETag', async () => {
      const url = pathOf(bundle('main.css').url);
      const etags = await Promise.all(
        ['identity', 'br', 'gzip'].map(
          async (accept) => (await server.fetch(url, { 'Accept-Encoding': accept })).headers.etag,
        ),
      );
      expect(new Set(etags).size).toBe(3);
      for (const etag of etags) expect(etag).toMatch(/^"[^"]+"$/);
    });
  });

  describe('If-None-Match', () => {
    let etag: string;
    beforeAll(async () => {
      etag = (await server.fetch(pathOf(bundle('main.js').url))).headers.etag!;
    });

    test.each([
      ['the ETag', (tag: string) => tag],
      ['its weak form', (tag: string) => `W/${tag}`],
      ['a list holding it', (tag: string) => `"abc", ${tag} , "def"`],
      ['*', () => '*'],
    ])('%s: 304 without a body, with the caching headers', async (_name, header) => {
      for (const method of ['GET', 'HEAD']) {
        const response = await server.fetch(
          pathOf(bundle('main.js').url),
          { 'If-None-Match': header(etag) },
          method,
        );
        expect(response.status).toBe(304);
        expect(response.body.length).toBe(0);
        expect(response.headers).toMatchObject({
          etag,
          'cache-control': 'public, max-age=31536000, immutable',
          vary: 'Accept-Encoding',
        });
      }
    });

    test('another ETag, or the ETag of another encoding, gets the full 200', async () => {
      const url = pathOf(bundle('main.js').url);
      const other = await server.fetch(url, { 'If-None-Match': '"abc"' });
      expect(other.status).toBe(200);
      const identityTagForBrotli = await server.fetch(url, {
        'If-None-Match': etag,
        'Accept-Encoding': 'br',
      });
      expect(identityTagForBrotli.status).toBe(200);
      expect(identityTagForBrotli.headers['content-encoding']).toBe('br');
      const brotliTag = identityTagForBrotli.headers.etag!;
      const revalidated = await server.fetch(url, {
        'If-None-Match': brotliTag,
        'Accept-Encoding': 'gzip, br',
      });
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers.etag).toBe(brotliTag);
    });
  });

  test('a Vary set by an earlier middleware keeps its fields', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('Vary', 'Origin');
      next();
    });
    app.use(assets.middleware());
    const url = pathOf(bundle('main.js').url);
    const response = await request(app).get(url).set('Accept-Encoding', 'br').expect(200);
    expect(response.headers.vary).toBe('Origin, Accept-Encoding');
    const revalidated = await request(app)
      .get(url)
      .set('Accept-Encoding', 'br')
      .set('If-None-Match', response.headers.etag)
      .expect(304);
    expect(revalidated.headers.vary).toBe('Origin, Accept-Encoding');
  });

  describe('HEAD', () => {
    test.each(['identity', 'br', 'gzip'])(
      'with %s: the headers of the GET, no body',
      async (accept) => {
        const url = pathOf(bundle('main.css').url);
        const [got, head] = await Promise.all([
          server.fetch(url, { 'Accept-Encoding': accept }, 'GET'),
          server.fetch(url, { 'Accept-Encoding': accept }, 'HEAD'),
        ]);
        expect(head.status).toBe(200);
        expect(head.body.length).toBe(0);
        expect(entityHeaders(head.headers)).toEqual(entityHeaders(got.headers));
        expect(Number(head.headers['content-length'])).toBe(got.body.length);
      },
    );
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH'])('%s: 405 with Allow: GET, HEAD', async (method) => {
    const app = appWith(express, assets);
    const response = await request(app)[method.toLowerCase() as 'post'](
      pathOf(bundle('main.js').url),
    );
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

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

  describe('older builds', () => {
    test('files of the kept older builds are served; those past keepVersions are 404', async () => {
      const root = tempDir();
      writeFiles(root, SITE_FILES);
      const site = defineAssets({
        root,
        outDir: `${root}/out`,
        assets: SITE_ASSETS,
        mode: 'production',
      });
      const app = appWith(express, site);
      const rebuild = async (version: number) => {
        writeFiles(root, { 'site/widgets.js': `window.widgets = lib.version + ${version};\n` });
        await site.build();
        const { file, url } = site.current.bundles.find((b) => b.id === 'main.js')!;
        return { file, url, body: fs.readFileSync(path.join(`${root}/out`, file)) };
      };
      const first = await rebuild(1);
      const second = await rebuild(2);
      expect(second.url).not.toBe(first.url);
      for (const { url, body } of [first, second]) {
        const response = await request(app).get(pathOf(url)).expect(200);
        expect(Buffer.from(response.text).equals(body)).toBe(true);
        await request(app).head(pathOf(url)).set('Accept-Encoding', 'br').expect(200);
      }
      await rebuild(3); // keepVersions is 3: the first build is still kept
      await request(app).get(pathOf(first.url)).expect(200);
      await rebuild(4);
      await request(app).get(pathOf(first.url)).expect(404);
      await request(app).get(pathOf(second.url)).expect(200);
    });
  });

  describe('builds another process wrote into the same outDir', () => {
    test('a name the manifest on disk lists is served, one read of it a second at most', async () => {
      const outDir = path.join(tempDir(), 'out');
      const registry = (version: number) => {
        const root = tempDir();
        writeFiles(root, {
          ...SITE_FILES,
          'site/widgets.js': `window.widgets = lib.version + ${version};\n`,
        });
        return defineAssets({ root, outDir, assets: SITE_ASSETS, mode: 'production' });
      };
      const releaseA = registry(1);
      await releaseA.build();
      const app = appWith(express, releaseA);
      const releaseB = registry(2);
      await releaseB.build();
      const newer = releaseB.current.bundles.find((b) => b.id === 'main.js')!;
      expect(releaseA.current.files.has(newer.file)).toBe(false);

      const response = await request(app).get(pathOf(newer.url)).set('Accept-Encoding', 'br');
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBe('br');
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.text).toBe(fs.readFileSync(path.join(outDir, newer.file), 'utf8'));
      // Pages of release A still point at A's bundles.
      expect(releaseA.current.bundles.map((b) => b.file)).not.toContain(newer.file);

      // A file a third build lists, right after the read: not read again within the second.
      const manifestFile = path.join(outDir, 'manifest.json');
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { files: string[] };
      const third = 'main.0123456789ab.js';
      fs.writeFileSync(path.join(outDir, third), 'window.third = 3;\n');
      manifest.files.push(third);
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      await request(app).get(`/assets/${third}`).expect(404);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await request(app).get(`/assets/${third}`).expect(200, 'window.third = 3;\n');

      // Only what the manifest lists: never itself, the compile cache or a temporary file.
      const temporary = `${newer.file}.4242.0123456789ab.tmp`;
      fs.writeFileSync(path.join(outDir, temporary), 'half');
      const cached = fs.readdirSync(path.join(outDir, '.cache'))[0];
      for (const name of ['manifest.json', `.cache/${cached}`, temporary, `${newer.file}.br`]) {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await request(app).get(`/assets/${name}`).expect(404);
      }
    });
  });

  describe('serve: false', () => {
    test('bundle URLs go to next(), and the tags still point at them', async () => {
      const unserved = await builtSite({ serve: false });
      const app = appWith(express, unserved);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        res.send(res.locals.assetTags('js'));
      });
      const main = unserved.current.bundles.find((b) => b.id === 'main.js')!;
      const page = await request(app).get('/').expect(200);
      expect(page.text).toContain(`<script src="${main.url}" defer integrity="${main.integrity}"`);
      const response = await request(app).get(pathOf(main.url)).expect(404);
      expect(response.text).toContain('Cannot GET');
    });
  });

  describe('publicPath on a CDN', () => {
    test('the app answers the CDN pulling from the URL path of publicPath', async () => {
      const cdn = await builtSite({ publicPath: 'https://cdn.example.com/static/' });
      const app = appWith(express, cdn);
      const main = cdn.current.bundles.find((b) => b.id === 'main.js')!;
      expect(main.url).toBe(`https://cdn.example.com/static/${main.file}`);
      const response = await request(app)
        .get(`/static/${main.file}`)
        .set('Accept-Encoding', 'identity')
        .expect(200);
      const body = fs.readFileSync(path.join(cdn.options.outDir, main.file));
      expect(Buffer.from(response.text).equals(body)).toBe(true);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      // The tags say crossorigin="anonymous": browsers need CORS on what the CDN passes on.
      expect(response.headers['access-control-allow-origin']).toBe('*');
      const revalidated = await request(app)
        .get(`/static/${main.file}`)
        .set('If-None-Match', response.headers.etag)
        .expect(304);
      expect(revalidated.headers['access-control-allow-origin']).toBe('*');
      await request(app)
        .get(`/assets/${main.file}`)
        .expect(404, /Cannot GET/);
      await request(app).get(`/static/../${main.file}`).expect(404);
    });
  });
});
