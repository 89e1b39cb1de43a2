import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import type { Express as App, Request, Response } from 'express';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { AssetNotBuiltError, AssetSetupError, defineAssets } from '../../src';
import { appWith, builtSite, errorHandler, EXPRESSES } from '../app';
import { tempDir } from '../helpers';

const MIDDLEWARE_FIRST =
  'app.use(assets.middleware()) must come before the routes that call res.requireAssets';

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const bundle = (id: string) => assets.current.bundles.find((b) => b.id === id)!;

  function page(handler: (req: Request, res: Response) => void) {
    const app = appWith(express, assets);
    app.get('/', handler);
    app.use(errorHandler);
    return app;
  }
  /** A fresh copy of this Express, `change`d as it loads, so that the change stays in the test. */
  function freshExpress(change?: (fresh: typeof express) => void): typeof express {
    let fresh: typeof express | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy
      fresh = require(_label === 'Express 5' ? 'express' : 'express4') as typeof express;
      change?.(fresh);
    });
    return fresh!;
  }

  const tagsPage = (...names: string[]) =>
    page((_req, res) => {
      res.requireAssets(...names);
      res.send(`<head>${res.locals.assetTags('css')}</head>${res.locals.assetTags('js')}`);
    });

  describe('res.requireAssets', () => {
    test('expands dependencies: the tags hold exactly the bundles with what the page needs', async () => {
      const response = await request(tagsPage('site/widgets.js')).get('/').expect(200);
      expect(response.text).toBe(
        `<head><link rel="stylesheet" href="${bundle('main.css').url}" integrity="${bundle('main.css').integrity}"></head>` +
          `<script src="${bundle('main.js').url}" defer integrity="${bundle('main.js').integrity}"></script>`,
      );
      expect(response.text).not.toContain('admin');
    });

    test('a need in another group brings its bundle, after the bundles it depends on', async () => {
      const response = await request(tagsPage('admin/editor.js')).get('/').expect(200);
      const urls = [...response.text.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
      expect(urls).toEqual([
        bundle('main.css').url,
        bundle('admin.css').url,
        bundle('main.js').url,
        bundle('admin.js').url,
      ]);
    });

    test('repeated needs are recorded once', async () => {
      const app = page((_req, res) => {
        res.requireAssets('site/widgets.js', 'site/widgets.js');
        res.requireAssets(['vendor/lib.js', 'site/widgets.js']);
        res.send([...res.locals.pageAssets.needs].join(','));
      });
      const response = await request(app).get('/').expect(200);
      expect(response.text.split(',').sort()).toEqual(
        ['site/base.less', 'site/widgets.js', 'site/widgets.less', 'vendor/lib.js'].sort(),
      );
    });

    test('an unknown name reaches the error handler as ASSET_MISSING with suggestions', async () => {
      const app = page((_req, res) => {
        try {
          res.requireAssets('site/widget.js');
        } catch (error) {
          res.status(500).json({ ...(error as object), message: (error as Error).message });
        }
      });
      const response = await request(app).get('/').expect(500);
      expect(response.body).toMatchObject({
        code: 'ASSET_MISSING',
        asset: 'site/widget.js',
      });
      expect(response.body.suggestions[0]).toBe('site/widgets.js');
      const thrown = await request(tagsPage('nope.js')).get('/').expect(500);
      expect(thrown.body).toMatchObject({ code: 'ASSET_MISSING', name: 'AssetMissingError' });
    });

    test.each(['__proto__', 'constructor', 'hasOwnProperty', 'toString'])(
      '%s is just an unknown name',
      async (name) => {
        const response = await request(tagsPage(name)).get('/').expect(500);
        expect(response.body.code).toBe('ASSET_MISSING');
      },
    );

    test.each([
      [undefined, 'argument 1 is undefined'],
      [42, 'argument 1 is the number 42'],
      [{ path: 'x.js' }, 'argument 1 is an object'],
    ])('a name that is not a string (%p) is a TypeError naming it', async (bad, message) => {
      const app = page((_req, res) => {
        res.requireAssets(bad as unknown as string);
        res.send('unreachable');
      });
      const response = await request(app).get('/').expect(500);
      expect(response.body).toMatchObject({ name: 'TypeError' });
      expect(response.body.message).toContain(message);
    });
  });

  describe('what the middleware changes in Express', () => {
    test("only the responses it handles change: Express's shared response keeps its own methods", async () => {
      const expressSend = express.response.send;
      const expressRender = express.response.render;
      const app = page((_req, res) => {
        res.requireAssets('site/widgets.js');
        const own = ['send', 'render', 'requireAssets'].filter((name) => Object.hasOwn(res, name));
        res.send(`${JSON.stringify(own)}${res.locals.assetTags('js')}`);
      });
      const response = await request(app).get('/').expect(200);
      expect(response.text).toBe(
        `["send","render","requireAssets"]<script src="${bundle('main.js').url}" defer integrity="${bundle('main.js').integrity}"></script>`,
      );
      expect(response.headers.link).toContain(bundle('main.js').url);
      // A second app in the same process, after the first served its pages, sees plain Express.
      const plain = express();
      plain.get('/', (_req, res) => {
        res.json({
          send: res.send === expressSend,
          render: res.render === expressRender,
          requireAssets: 'requireAssets' in res,
        });
      });
      const second = await request(plain).get('/').expect(200);
      expect(second.body).toEqual({ send: true, render: true, requireAssets: false });
      expect(express.response.send).toBe(expressSend);
      expect(express.response.render).toBe(expressRender);
      expect(Object.hasOwn(express.response, 'requireAssets')).toBe(false);
    });

    test('a response that did not pass through the middleware gets Express as it was', async () => {
      const app = express();
      app.get('/before', (_req, res) => {
        res.set('X-Has-Page', String('pageAssets' in res.locals));
        res.send('<p>asset_registry_ marks are not ours to touch</p>');
      });
      app.get('/require-before', (_req, res) => res.requireAssets('site/widgets.js'));
      app.use(assets.middleware());
      app.get('/after', (_req, res) => res.send('ok'));
      app.use(errorHandler);
      await request(app).get('/after').expect(200);
      const before = await request(app).get('/before').expect(200);
      expect(before.text).toBe('<p>asset_registry_ marks are not ours to touch</p>');
      expect(before.headers['x-has-page']).toBe('false');
      expect(before.headers.link).toBeUndefined();
      const missing = await request(app).get('/require-before').expect(500);
      expect(missing.body).toMatchObject({
        name: 'TypeError',
        message: 'res.requireAssets is not a function',
      });
    });

    describe('a page it fills goes out as Express sends the same HTML', () => {
      // Non-ASCII text on both sides of the marks: the filled page is made into UTF-8 bytes from
      // its pieces, so lengths in characters and in bytes differ.
      const text = (tags: { css: string; js: string }) =>
        `<!doctype html><head><title>Café ☕ 東京 🎉</title>${tags.css}</head>` +
        `<body>${'<p>naïve — ünïcödé 𝔘 ✓</p>'.repeat(60)}${tags.js}</body>`;
      /** An app of `fresh` whose page has more than 1,000 characters and, with the library, a mark. */
      function markedPage(fresh: typeof express, withLibrary: boolean): App {
        const made = fresh();
        if (withLibrary) made.use(assets.middleware());
        made.get('/', (_req, res) => {
          if (withLibrary) res.requireAssets('site/widgets.js');
          const mark = withLibrary ? res.locals.assetTags('js') : '';
          res.send(`${'<p>page</p>'.repeat(100)}${mark}`);
        });
        return made;
      }

      function renderedBy(
        withLibrary: boolean,
        setUp?: (res: Response) => void,
        setUpApp?: (app: App) => void,
      ) {
        const app = express();
        setUpApp?.(app);
        if (withLibrary) app.use(assets.middleware());
        const views = tempDir();
        fs.writeFileSync(path.join(views, 'page.html'), 'unused');
        app.engine('html', (_file, locals, callback) => {
          const { assetTags } = locals as Express.Locals;
          callback(null, text({ css: assetTags('css'), js: assetTags('js') }));
        });
        app.set('views', views);
        const filled = assets.page();
        filled.require('site/widgets.js');
        const fixed = { css: filled.tags('css'), js: filled.tags('js') };
        app.get(['/', '/render'], (_req, res) => {
          setUp?.(res);
          if (!withLibrary) return res.send(text(fixed));
          res.requireAssets('site/widgets.js');
          res.render('page.html');
        });
        app.get('/send', (_req, res) => {
          setUp?.(res);
          if (!withLibrary) return res.send(text(fixed));
          res.requireAssets('site/widgets.js');
          res.send(text({ css: res.locals.assetTags('css'), js: res.locals.assetTags('js') }));
        });
        app.use(errorHandler);
        return app;
      }

      test.each(['/render', '/send'])('%s: the same type, length, ETag and bytes', async (url) => {
        const [ours, plain] = [renderedBy(true), renderedBy(false)];
        const [got, expected] = await Promise.all([
          request(ours).get(url).buffer(true).expect(200),
          request(plain).get(url).buffer(true).expect(200),
        ]);
        expect(got.text).toBe(expected.text);
        expect(got.text).toContain(`src="${bundle('main.js').url}"`);
        expect(got.text).toContain('Café ☕ 東京 🎉');
        for (const name of ['content-type', 'content-length', 'etag']) {
          expect([name, got.headers[name]]).toEqual([name, expected.headers[name]]);
        }
        expect(got.headers['content-type']).toBe('text/html; charset=utf-8');
        // Headers in Express's order, the Link preload first, where the library sets it.
        const names = (response: object) =>
          (response as { res: http.IncomingMessage }).res.rawHeaders.filter((_, i) => i % 2 === 0);
        const ourNames = names(got);
        expect(ourNames.filter((name) => name !== 'Link')).toEqual(names(expected));
        expect(ourNames.indexOf('Link')).toBeLessThan(ourNames.indexOf('Content-Type'));
        expect(Number(got.headers['content-length'])).toBe(Buffer.byteLength(expected.text));
        // The ETag is Express's, so a revalidation and a HEAD go as Express's do.
        await request(ours).get(url).set('If-None-Match', got.headers.etag).expect(304);
        const head = await request(ours).head(url).expect(200);
        expect(head.headers['content-length']).toBe(got.headers['content-length']);
      });

      test("a Content-Type of the app's gets the charset Express gives it", async () => {
        const setUp = (res: Response) => res.type('application/xhtml+xml');
        const [ours, plain] = [renderedBy(true, setUp), renderedBy(false, setUp)];
        for (const url of ['/render', '/send']) {
          const got = await request(ours).get(url).buffer(true).expect(200);
          const expected = await request(plain).get(url).buffer(true).expect(200);
          expect(got.headers['content-type']).toBe('application/xhtml+xml; charset=utf-8');
          expect(got.headers['content-type']).toBe(expected.headers['content-type']);
          expect(got.headers.etag).toBe(expected.headers.etag);
          expect(got.body.toString('utf8')).toBe(expected.body.toString('utf8'));
        }
      });

      test("a res.type of the app's labels the page, as Express lets it", async () => {
        const setUpApp = (app: App) => {
          const type = app.response.type;
          app.response.type = function (this: Response, name: string) {
            this.append('X-Type-Asked', name); // a side effect: it runs as often as without
            return type.call(this, name === 'html' ? 'application/xhtml+xml' : name);
          };
        };
        for (const url of ['/render', '/send']) {
          const got = await request(renderedBy(true, undefined, setUpApp))
            .get(url)
            .buffer(true);
          const expected = await request(renderedBy(false, undefined, setUpApp))
            .get(url)
            .buffer(true);
          expect(got.headers['content-type']).toMatch(/^application\/xhtml\+xml/);
          expect(got.headers['content-type']).toBe(expected.headers['content-type']);
          expect(got.headers['x-type-asked']).toBe('html');
          expect(got.headers['x-type-asked']).toBe(expected.headers['x-type-asked']);
          expect(got.body.toString('utf8')).toBe(expected.body.toString('utf8'));
        }
      });

      test("a res.type an app put on Express's own response before the first page runs for every page", async () => {
        const fresh = freshExpress();
        const type = fresh.response.type;
        let calls = 0;
        fresh.response.type = function (this: Response, name: string) {
          calls++;
          if (name === 'html') this.set('X-Content-Type-Options', 'nosniff');
          return type.call(this, name);
        };
        const app = (withLibrary: boolean) => markedPage(fresh, withLibrary);
        for (let i = 0; i < 2; i++) {
          calls = 0;
          const got = await request(app(true)).get('/').expect(200);
          const ours = calls;
          calls = 0;
          const expected = await request(app(false)).get('/').expect(200);
          expect(ours).toBe(calls);
          expect(got.headers['x-content-type-options']).toBe('nosniff');
          expect(got.headers['content-type']).toBe(expected.headers['content-type']);
        }
      });

      test("a res.setHeader or res.set of the app's sees the Content-Type, as with Express alone", async () => {
        const seen: string[] = [];
        const spy = (res: Response) => {
          const setHeader = res.setHeader;
          res.setHeader = function (this: Response, name: string, value: never) {
            if (/^content-type$/i.test(name)) seen.push(`setHeader ${value}`);
            return setHeader.call(this, name, value);
          } as Response['setHeader'];
        };
        const spyApp = (app: App) => {
          const set = app.response.set;
          app.response.set = function (this: Response, ...args: never[]) {
            if (/^content-type$/i.test(String(args[0]))) seen.push(`set ${String(args[1])}`);
            return (set as (...a: never[]) => Response).apply(this, args);
          } as Response['set'];
        };
        for (const [setUp, setUpApp] of [
          [spy, undefined],
          [undefined, spyApp],
        ] as const) {
          for (const url of ['/render', '/send']) {
            seen.length = 0;
            await request(renderedBy(true, setUp, setUpApp))
              .get(url)
              .expect(200);
            const ours = [...seen];
            seen.length = 0;
            await request(renderedBy(false, setUp, setUpApp))
              .get(url)
              .expect(200);
            // Values Express sets too (Express 4 sets a string's type twice: first without the
            // charset, then with it).
            expect(ours.length).toBeGreaterThan(0);
            expect(seen).toEqual(expect.arrayContaining(ours));
            expect(ours.join()).toContain('text/html');
          }
        }
      });

      test('an Express whose media-type table says otherwise for html labels the page its way', async () => {
        const fresh = freshExpress((loaded) => {
          /* eslint-disable @typescript-eslint/no-require-imports -- its table, changed */
          if (_label === 'Express 5') {
            const types = (require('mime-types') as { types: Record<string, string> }).types;
            types.html = 'application/xhtml+xml';
          } else {
            const mime = (
              loaded as unknown as { static: { mime: { define(...a: unknown[]): void } } }
            ).static.mime;
            mime.define({ 'application/xhtml+xml': ['html'] }, true);
          }
          /* eslint-enable @typescript-eslint/no-require-imports */
        });
        const app = (withLibrary: boolean) => markedPage(fresh, withLibrary);
        const got = await request(app(true)).get('/').expect(200);
        const expected = await request(app(false)).get('/').expect(200);
        expect(got.headers['content-type']).toMatch(/^application\/xhtml\+xml/);
        expect(got.headers['content-type']).toBe(expected.headers['content-type']);
      });

      test('a small page without an ETag reaches res.end as a string, as Express sends it', async () => {
        const ends: string[] = [];
        const small = (withLibrary: boolean) => {
          const app = express();
          app.set('etag', false);
          app.use((_req, res, next) => {
            const end = res.end;
            res.end = function (this: Response, chunk?: unknown, ...rest: unknown[]) {
              ends.push(typeof chunk);
              return (end as (...args: unknown[]) => Response).call(this, chunk, ...rest);
            } as Response['end'];
            next();
          });
          if (withLibrary) app.use(assets.middleware());
          app.get('/', (_req, res) => {
            if (!withLibrary) return res.send('<p>small</p>');
            res.send(`<p>small</p>${res.locals.assetTags('css')}`);
          });
          return app;
        };
        await request(small(true)).get('/').expect(200, '<p>small</p>');
        await request(small(false)).get('/').expect(200, '<p>small</p>');
        expect(ends).toEqual(['string', 'string']);
      });

      test('a page whose locals the handler replaced after res.render is still filled', async () => {
        const app = appWith(express, assets);
        const views = tempDir();
        fs.writeFileSync(path.join(views, 'page.later'), 'unused');
        // An engine that answers later, as one reading its template from disk does.
        app.engine('later', (_file, locals, callback) => {
          const css = (locals as Express.Locals).assetTags('css');
          setTimeout(() => callback(null, `<head>${css}</head>`), 5);
        });
        app.set('views', views);
        app.get('/', (_req, res) => {
          res.requireAssets('site/widgets.js');
          res.render('page.later');
          res.locals = Object.create(null);
        });
        const response = await request(app).get('/').expect(200);
        expect(response.text).toBe(
          `<head><link rel="stylesheet" href="${bundle('main.css').url}" integrity="${bundle('main.css').integrity}"></head>`,
        );
      });

      test('a res.setHeader an earlier middleware wraps on each response is not kept from the first', async () => {
        const app = freshExpress()();
        app.use((_req, res, next) => {
          const setHeader = res.setHeader;
          res.setHeader = function (name: string, value: number | string | readonly string[]) {
            return setHeader.call(res, name, value); // its own response, not `this`
          } as Response['setHeader'];
          next();
        });
        app.use(assets.middleware());
        app.get('/', (_req, res) => {
          res.requireAssets('site/widgets.js');
          res.send(`${'<p>page</p>'.repeat(100)}${res.locals.assetTags('js')}`);
        });
        for (let i = 0; i < 3; i++) {
          const response = await request(app).get('/').expect(200);
          expect(response.headers.link).toContain(bundle('main.js').url);
        }
      });

      test("an app's own res.send, set after the middleware, gets the page filled, as a string", async () => {
        const seen: unknown[] = [];
        const app = renderedBy(true, (res) => {
          const send = res.send;
          res.send = function (this: Response, body?: unknown) {
            seen.push(typeof body === 'string' && body.includes('<script') && !/Zasset/.test(body));
            return send.call(this, body);
          };
        });
        const got = await request(app).get('/render').expect(200);
        expect(seen).toEqual([true]);
        expect(got.text).toContain(`src="${bundle('main.js').url}"`);
      });
    });

    test('a mounted sub-app (its own response prototype) requires and fills the same way', async () => {
      const sub = express();
      sub.get('/page', (_req, res) => {
        res.requireAssets('site/widgets.js');
        res.send(`<head>${res.locals.assetTags('css')}</head>`);
      });
      const app = appWith(express, assets);
      app.use('/sub', sub);
      app.use(errorHandler);
      const response = await request(app).get('/sub/page').expect(200);
      expect(response.text).toBe(
        `<head><link rel="stylesheet" href="${bundle('main.css').url}" integrity="${bundle('main.css').integrity}"></head>`,
      );
      expect(response.headers.link).toContain(bundle('main.css').url);
    });
  });

  describe('mistakes in setting it up, named where they are made', () => {
    /** A route that runs before the middleware, then the middleware, then `errorHandler()`. */
    function routesFirst(fresh: typeof express, registry: AssetRegistry): App {
      const app = fresh();
      app.get('/early', (_req, res) => {
        res.requireAssets('site/widgets.js');
        res.send('unreachable');
      });
      app.get('/needs', registry.needs('site/widgets.js'), (_req, res) => res.send('unreachable'));
      app.use(registry.middleware());
      app.get('/after', (_req, res) => res.send('ok'));
      app.use(registry.errorHandler());
      app.use(errorHandler);
      return app;
    }

    test('routes before app.use(assets.middleware()): errorHandler() says so, first request or later', async () => {
      const app = routesFirst(freshExpress(), assets);
      // No response has passed through the middleware: res.requireAssets is not there at all.
      const first = await request(app).get('/early').expect(500);
      expect(first.body).toEqual({
        code: 'ASSET_SETUP',
        name: 'AssetSetupError',
        message: MIDDLEWARE_FIRST,
      });
      await request(app).get('/after').expect(200);
      const later = await request(app).get('/early').expect(500);
      expect(later.body).toEqual(first.body);
      const needs = await request(app).get('/needs').expect(500);
      expect(needs.body).toMatchObject({ code: 'ASSET_SETUP' });
      expect(needs.body.message).toContain('must come before the routes that use assets.needs()');
    });

    test('errorHandler() passes any other error on unchanged', async () => {
      const app = express();
      app.use(assets.middleware());
      app.get('/', () => {
        throw new TypeError('widgets is not a function');
      });
      app.use(assets.errorHandler());
      app.use(errorHandler);
      const response = await request(app).get('/').expect(500);
      expect(response.body).toEqual({ name: 'TypeError', message: 'widgets is not a function' });
    });

    test('a page asked for before build() finished is ASSET_NOT_BUILT, saying what to await', async () => {
      const unbuilt = defineAssets({
        root: tempDir(),
        outDir: tempDir(),
        assets: ['site/widgets.js'],
        mode: 'production',
      });
      const app = appWith(express, unbuilt);
      app.get('/', (_req, res) => res.send('unreachable'));
      app.use(errorHandler);
      const response = await request(app).get('/').expect(500);
      expect(response.body).toMatchObject({ code: 'ASSET_NOT_BUILT', name: 'AssetNotBuiltError' });
      expect(response.body.message).toContain('await assets.build() before app.listen()');
      expect(() => unbuilt.current).toThrow(AssetNotBuiltError);
      expect(new AssetNotBuiltError()).toBeInstanceOf(AssetSetupError);
    });

    test('assets.needs() takes lists as res.requireAssets does', async () => {
      const app = appWith(express, assets);
      app.get('/', assets.needs(['vendor/lib.js'], 'admin/editor.css'), (_req, res) =>
        res.send([...res.locals.pageAssets.needs].sort().join(',')),
      );
      const response = await request(app).get('/').expect(200);
      expect(response.text).toBe('admin/editor.css,vendor/lib.js');
    });

    test.each<[string, unknown[], string]>([
      ['42', [42], 'argument 1 is the number 42'],
      ["'vendor/lib.js', null", ['vendor/lib.js', null], 'argument 2 is null'],
      [
        "['vendor/lib.js', 7]",
        [['vendor/lib.js', 7]],
        'argument 1 is a list holding something other than names',
      ],
      ['{ path }', [{ path: 'vendor/lib.js' }], 'argument 1 is an object'],
    ])('assets.needs(%s) is a TypeError naming the argument', (_shown, args, message) => {
      const needs = assets.needs.bind(assets) as (...names: unknown[]) => unknown;
      expect(() => needs(...args)).toThrow(TypeError);
      expect(() => needs(...args)).toThrow(message);
    });
  });

  describe('tags', () => {
    test('hold needs made after the place of the tag, in any view engine', async () => {
      const views = tempDir();
      fs.writeFileSync(path.join(views, 'page.late'), 'unused');
      const app = appWith(express, assets);
      // A layout writes its <head> first; the body, rendered later, requires an asset.
      app.engine('late', (_file, locals, callback) => {
        const { assetTags, requireAsset } = locals as Express.Locals;
        const head = `<head>${assetTags('css')}</head>`;
        const body = `<body>${requireAsset('site/widgets.js')}${assetTags('js')}</body>`;
        callback(null, head + body);
      });
      app.set('views', views);
      app.get('/', (_req, res) => res.render('page.late'));
      app.get('/callback', (_req, res) =>
        res.render('page.late', (error: Error | null, html?: string) => res.send(`[${html}]`)),
      );
      const response = await request(app).get('/').expect(200);
      expect(response.text).toContain(`href="${bundle('main.css').url}"`);
      expect(response.text).toContain(`src="${bundle('main.js').url}"`);
      const viaCallback = await request(app).get('/callback').expect(200);
      expect(viaCallback.text).toMatch(/^\[<head><link rel="stylesheet"/);
    });

    test('carry the nonce of res.locals.cspNonce, escaped', async () => {
      const app = page((_req, res) => {
        res.locals.cspNonce = 'abc"><script>';
        res.requireAssets('vendor/lib.js');
        res.send(res.locals.assetTags('js'));
      });
      const response = await request(app).get('/').expect(200);
      expect(response.text).toContain(' nonce="abc&quot;&gt;&lt;script&gt;"></script>');
    });

    test('integrity is the SRI hash of the bytes served', async () => {
      const js = bundle('main.js');
      const served = await request(appWith(express, assets)).get(
        new URL(js.url, 'http://x').pathname,
      );
      const digest = crypto.createHash('sha384').update(served.text).digest('base64');
      expect(js.integrity).toBe(`sha384-${digest}`);
    });

    test('a kind other than css or js is a TypeError', async () => {
      const app = page((_req, res) => {
        res.send(res.locals.assetTags('svg' as 'js'));
      });
      const response = await request(app).get('/').expect(500);
      expect(response.body.message).toContain('"css" or "js"');
    });
  });

  describe('with publicPath on a CDN', () => {
    let cdn: AssetRegistry;
    beforeAll(async () => {
      cdn = await builtSite({ publicPath: 'https://cdn.example.com/a&b/' });
    });
    test('tags point at the CDN, with crossorigin and escaped URLs', async () => {
      const app = appWith(express, cdn);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        res.send(res.locals.assetTags('css') + res.locals.assetTags('js'));
      });
      const response = await request(app).get('/').expect(200);
      expect(response.text).toMatch(
        /^<link rel="stylesheet" href="https:\/\/cdn\.example\.com\/a&amp;b\/main\.[0-9a-f]{12}\.css" integrity="sha384-[^"]+" crossorigin="anonymous">/,
      );
      expect(response.headers.link).toContain('crossorigin=anonymous');
    });
  });

  describe('res.locals', () => {
    test('what middleware before it put there (a CSP nonce, a user) stays, for handlers and tags', async () => {
      const app = express();
      const secret = Symbol('secret');
      app.use((_req, res, next) => {
        res.locals.cspNonce = 'n0nce';
        res.locals.user = 'ann';
        (res.locals as unknown as Record<symbol, unknown>)[secret] = 'kept';
        next();
      });
      app.use(assets.middleware());
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        const kept = (res.locals as unknown as Record<symbol, unknown>)[secret];
        res.send(`${String(res.locals.user)}|${String(kept)}|${res.locals.assetTags('js')}`);
      });
      const response = await request(app).get('/').expect(200);
      expect(response.text).toMatch(/^ann\|kept\|<script [^>]*nonce="n0nce"/);
    });

    // The locals stay the object Express or the app made: an earlier middleware may hold it and
    // write to it later. (An empty one replaced by an object V8 copies faster saved ~0.7% of a
    // page: not worth a lost write. bench/results-serve.md)
    test.each([
      ['nothing', () => undefined],
      ['a name', (locals: Record<PropertyKey, unknown>) => (locals.user = 'ann')],
      ['only a symbol', (locals: Record<PropertyKey, unknown>) => (locals[Symbol('s')] = 1)],
      [
        'only a non-enumerable getter',
        (locals: object) => Object.defineProperty(locals, 'csrf', { get: () => 'tok' }),
      ],
    ])('that hold %s stay the object a middleware before it holds', async (_what, fill) => {
      const app = express();
      let held: Record<string, unknown> | undefined;
      app.use((_req, res, next) => {
        fill(res.locals as Record<PropertyKey, unknown>);
        held = res.locals;
        next();
      });
      app.use(assets.middleware());
      app.get('/', (_req, res) => {
        res.locals.requireAsset('site/widgets.js');
        held!.late = 'written later';
        res.json({ same: res.locals === held, late: res.locals.late });
      });
      const response = await request(app).get('/').expect(200);
      expect(response.body).toEqual({ same: true, late: 'written later' });
    });

    test.each([
      ['a class instance', () => new (class Locals {})()],
      ['a proxy', () => new Proxy(Object.create(null), {})],
    ])('made by the app as %s stay its object', async (_what, make) => {
      const app = express();
      app.use((_req, res, next) => {
        res.locals = make();
        next();
      });
      let kept = false;
      const middleware = assets.middleware();
      app.use((_req, res, next) => {
        const before = res.locals;
        middleware(_req, res, () => {
          kept = res.locals === before;
          next();
        });
      });
      app.get('/', (_req, res) => res.send(res.locals.assetTags('js')));
      await request(app).get('/').expect(200);
      expect(kept).toBe(true);
    });

    test('has no inherited names, as Express makes it, and takes new ones', async () => {
      const app = page((_req, res) => {
        res.locals.title = 'Catalogue';
        const inherited = ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf'];
        res.json({
          inherited: inherited.filter((name) => name in res.locals),
          own: Object.keys(res.locals),
        });
      });
      const response = await request(app).get('/').expect(200);
      expect(response.body.inherited).toEqual([]);
      expect(response.body.own).toEqual(['pageAssets', 'requireAsset', 'assetTags', 'title']);
    });
  });

  describe('preload and Early Hints', () => {
    test('a page that required assets sends Link preload headers, styles first', async () => {
      const response = await request(tagsPage('site/widgets.js')).get('/').expect(200);
      expect(response.headers.link).toBe(
        `<${bundle('main.css').url}>; rel=preload; as=style; integrity="${bundle('main.css').integrity}", ` +
          `<${bundle('main.js').url}>; rel=preload; as=script; integrity="${bundle('main.js').integrity}"`,
      );
    });

    test('a streamed page ended with res.send() ends as Express ends it, without a Link header', async () => {
      const app = page((_req, res) => {
        res.requireAssets('site/widgets.js');
        res.write('hello ');
        res.send();
      });
      const response = await request(app).get('/').expect(200);
      expect(response.text).toBe('hello ');
      expect(response.headers.link).toBeUndefined();
    });

    test("an app's own Link header is kept as it set it", async () => {
      const own = '<https://cdn.example>; rel=preconnect';
      const app = page((_req, res) => {
        res.set('Link', own);
        res.requireAssets('site/widgets.js');
        res.send(res.locals.assetTags('js'));
      });
      const response = await request(app).get('/').expect(200);
      expect(response.headers.link).toBe(own);
      expect(response.text).toContain(bundle('main.js').url);
    });

    test('a page that required nothing sends no Link header', async () => {
      const response = await request(page((_req, res) => res.send('plain'))).get('/');
      expect(response.headers.link).toBeUndefined();
    });

    async function informational(app: App, url = '/') {
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        return await new Promise<{ hints: string[]; events: string[]; body: string }>(
          (resolve, reject) => {
            const hints: string[] = [];
            const events: string[] = [];
            const req = http.get({ host: '127.0.0.1', port, path: url }, (res) => {
              events.push(`${res.statusCode}`);
              let body = '';
              res.on('data', (chunk) => (body += chunk));
              res.on('end', () => resolve({ hints, events, body }));
            });
            req.on('information', (info) => {
              events.push(`${info.statusCode}`);
              hints.push(String(info.headers.link));
            });
            req.on('error', reject);
          },
        );
      } finally {
        server.close();
      }
    }

    test('with earlyHints, a handler that required assets sends a 103 before the page', async () => {
      const hinted = await builtSite({ earlyHints: true });
      const app = appWith(express, hinted);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        res.requireAssets('vendor/lib.js');
        setTimeout(() => res.send(res.locals.assetTags('js')), 150); // slow work
      });
      const { hints, events } = await informational(app);
      expect(events).toEqual(['103', '200']);
      expect(hints).toHaveLength(1);
      expect(hints[0]).toMatch(
        /main\.[0-9a-f]{12}\.css>; rel=preload; as=style.*main\.[0-9a-f]{12}\.js>; rel=preload; as=script/,
      );
    });

    test('without earlyHints (the default), no 103 is sent', async () => {
      const app = appWith(express, assets);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        setTimeout(() => res.send('done'), 50);
      });
      const { events } = await informational(app);
      expect(events).toEqual(['200']);
    });

    test('assets.needs() declares needs and hints before the handler runs', async () => {
      const hinted = await builtSite({ earlyHints: true });
      const app = appWith(express, hinted);
      app.get('/editor', hinted.needs('admin/editor.js'), (_req, res) => {
        setTimeout(() => res.send(res.locals.assetTags('js')), 150);
      });
      const { hints, events, body } = await informational(app, '/editor');
      expect(events).toEqual(['103', '200']);
      expect(hints[0]).toContain('admin.');
      expect(body).toContain('admin.');
      expect(() => hinted.needs('admin/editr.js')).toThrow(/admin\/editor\.js/);
    });
  });
});

describe('page.fill', () => {
  test('fills every mark, keeps all other text (partial marks too) and gives a page without marks back as it is', async () => {
    const assets = await builtSite();
    const page = assets.page();
    page.require('site/widgets.js');
    const css = page.tags('css');
    const js = page.tags('js');
    const [cssMark, jsMark] = [page.placeholder('css'), page.placeholder('js')];
    const stem = cssMark.slice(0, -'css'.length);
    const html =
      `${cssMark}<p>${stem}xyz ${stem}</p>${jsMark}${jsMark}<i>${cssMark}</i>` + `${stem}c`;
    expect(page.fill(html)).toBe(`${css}<p>${stem}xyz ${stem}</p>${js}${js}<i>${css}</i>${stem}c`);
    expect(css).toContain('<link rel="stylesheet"');
    expect(js).toContain('<script');

    const plain = '<p>no marks, only Z and Zasset_ look-alikes</p>';
    expect(assets.page().fill(plain)).toBe(plain);
    expect(assets.page().fill('')).toBe('');
  });

  test('with a nonce, every tag carries it', async () => {
    const assets = await builtSite();
    const page = assets.page();
    page.require('site/widgets.js', 'site/base.less');
    const filled = page.fill(`${page.placeholder('css')}|${page.placeholder('js')}`, 'n0nce');
    const [css, js] = filled.split('|');
    expect(css).toMatch(/^<link [^>]* nonce="n0nce">$/);
    expect(js).toMatch(/^<script [^>]* nonce="n0nce"><\/script>$/);
  });
});
