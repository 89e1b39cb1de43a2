import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { Response } from 'express';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { appWith, builtSite, EXPRESSES } from '../app';
import { tempDir } from '../helpers';
import { middlewareApps } from './middlewareApps';

/**
 * A page the middleware fills goes out as Express sends the same HTML: the same type, charset,
 * length, ETag, headers and bytes, whatever the app's media-type table or locals.
 */

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const { bundle, freshExpress, markedPage, renderedBy } = middlewareApps(
    _label,
    express,
    () => assets,
  );

  describe('what the middleware changes in Express', () => {
    describe('a page it fills goes out as Express sends the same HTML', () => {
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
    });
  });
});
