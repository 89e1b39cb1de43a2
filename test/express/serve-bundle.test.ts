import type http from 'node:http';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { appWith, builtSite, EXPRESSES } from '../app';
import { DECODERS, listen, pathOf, servedSite, siteFiles, type Listening } from './servedSite';

/**
 * A bundle as the middleware serves it: its type, length, strong ETag and immutable caching; the
 * encoding Accept-Encoding picks; 304s for If-None-Match; HEAD; and 405 for other methods.
 */

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
    ({ assets, server } = await servedSite(express));
  });
  afterAll(() => server.close());

  const { bundle, onDisk } = siteFiles(() => assets);

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
});
