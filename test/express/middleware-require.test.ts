import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { builtSite, EXPRESSES } from '../app';
import { middlewareApps } from './middlewareApps';

/**
 * res.requireAssets(): the bundles a page's needs bring in, in order, once each, and the errors
 * for a name that is unknown or not a string.
 */

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const { bundle, page, tagsPage } = middlewareApps(_label, express, () => assets);

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
});
