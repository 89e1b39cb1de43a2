import type { Express as App } from 'express';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { AssetNotBuiltError, AssetSetupError, defineAssets } from '../../src';
import { appWith, builtSite, errorHandler, EXPRESSES } from '../app';
import { tempDir } from '../helpers';
import { middlewareApps } from './middlewareApps';

/**
 * Mistakes in setting the middleware up (routes before it, a build not awaited, bad arguments to
 * assets.needs()): each an error that says what to do, where the mistake is made.
 */

const MIDDLEWARE_FIRST =
  'app.use(assets.middleware()) must come before the routes that call res.requireAssets';

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const { freshExpress } = middlewareApps(_label, express, () => assets);

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
});
