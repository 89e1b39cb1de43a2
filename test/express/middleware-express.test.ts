import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { appWith, builtSite, errorHandler, EXPRESSES } from '../app';
import { middlewareApps } from './middlewareApps';

/**
 * What the middleware changes in Express: only the responses it handles, in the app it is used
 * in or in an app mounted under it, never Express's shared response.
 */

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const { bundle, page } = middlewareApps(_label, express, () => assets);

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
});
