import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { builtSite, EXPRESSES } from '../app';
import { middlewareApps } from './middlewareApps';

/**
 * res.locals: what middleware before it put there stays, and it stays the object an earlier
 * middleware or the app made.
 */

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const { page } = middlewareApps(_label, express, () => assets);

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
});
