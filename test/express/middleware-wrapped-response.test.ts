import type { Express as App, Response } from 'express';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { builtSite, EXPRESSES } from '../app';
import { middlewareApps } from './middlewareApps';

/**
 * A page the middleware fills goes out as Express sends the same HTML even where the app wraps
 * the response's methods (res.type, res.set, res.setHeader, res.send), on a response or on
 * Express's own: each wrapper runs as often, and sees what it would see without the library.
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
  });
});
