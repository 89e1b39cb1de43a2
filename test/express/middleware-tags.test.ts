import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { appWith, builtSite, EXPRESSES } from '../app';
import { tempDir } from '../helpers';
import { middlewareApps } from './middlewareApps';

/**
 * The tags a page gets: what they hold in any view engine, their nonce, integrity and CDN URLs,
 * and page.fill(), which puts them in place of the marks.
 */

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const { bundle, page } = middlewareApps(_label, express, () => assets);

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
