import path from 'node:path';
import type { Express as App, Request, Response } from 'express';
import nunjucks from 'nunjucks';
import request from 'supertest';
import { defineAssets } from '../../src';
import type { AssetOptions, AssetRegistry } from '../../src';
import { errorHandler, EXPRESSES } from '../app';
import { tempDir, writeFiles } from '../helpers';

/** A site registry under /assets/ and an admin one under /admin-assets/; both hold `shared.js`. */
const SITE = {
  files: {
    'vendor/lib.js': 'window.lib = 1;\n',
    'site/app.js': 'window.app = lib + 1;\n',
    'site/app.css': '.app { margin: 0; }\n',
    'shared.js': 'window.shared = "site";\n',
  },
  assets: [
    'vendor/lib.js',
    'site/app.css',
    { path: 'site/app.js', deps: ['vendor/lib.js', 'site/app.css'] },
    'shared.js',
  ],
};
const ADMIN = {
  files: {
    'admin/editor.js': 'window.editor = 1;\n',
    'admin/editor.css': '.editor { padding: 0; }\n',
    'shared.js': 'window.shared = "admin";\n',
  },
  assets: [
    'admin/editor.css',
    { path: 'admin/editor.js', deps: ['admin/editor.css'] },
    'shared.js',
  ],
};

const opened: AssetRegistry[] = [];
afterAll(async () => {
  await Promise.all(opened.map((assets) => assets.close()));
});

function registryOf(
  spec: { files: Record<string, string>; assets: AssetOptions['assets'] },
  options: Partial<AssetOptions>,
): AssetRegistry {
  const root = tempDir();
  writeFiles(root, spec.files);
  const assets = defineAssets({
    root,
    outDir: path.join(root, 'out'),
    assets: spec.assets,
    mode: 'production',
    ...options,
  });
  opened.push(assets);
  return assets;
}

/** The URLs a page's tags point at, in order. */
const urlsOf = (html: string) => [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
/** `/assets/main.css` for `/assets/main.<hash>.css`. */
const unhashed = (urls: string[]) => urls.map((url) => url.replace(/\.[0-9a-f]{12}\./, '.'));

describe.each(EXPRESSES)('two registries side by side under %s', (_label, express) => {
  let site: AssetRegistry;
  let admin: AssetRegistry;
  beforeAll(async () => {
    site = registryOf(SITE, { publicPath: '/assets/' });
    admin = registryOf(ADMIN, { publicPath: '/admin-assets/' });
    await Promise.all([site.build(), admin.build()]);
  });

  /** An app with both middlewares at the root, in the order given, and one page. */
  function both(first: AssetRegistry, second: AssetRegistry, handler: (res: Response) => void) {
    const app = express();
    app.use(first.middleware());
    app.use(second.middleware());
    app.get('/', (_req: Request, res: Response) => handler(res));
    app.use(errorHandler);
    return app;
  }
  const tagsPage = (res: Response) =>
    res.send(`<head>${res.locals.assetTags('css')}</head>${res.locals.assetTags('js')}`);

  test('res.requireAssets takes a name of either; the tags are both, in mount order', async () => {
    const handler = (res: Response) => {
      res.requireAssets('admin/editor.js', 'site/app.js');
      tagsPage(res);
    };
    const siteFirst = await request(both(site, admin, handler))
      .get('/')
      .expect(200);
    expect(unhashed(urlsOf(siteFirst.text))).toEqual([
      '/assets/main.css',
      '/admin-assets/main.css',
      '/assets/main.js',
      '/admin-assets/main.js',
    ]);
    const adminFirst = await request(both(admin, site, handler))
      .get('/')
      .expect(200);
    expect(unhashed(urlsOf(adminFirst.text))).toEqual([
      '/admin-assets/main.css',
      '/assets/main.css',
      '/admin-assets/main.js',
      '/assets/main.js',
    ]);
    // The preloads name the same bundles as the tags, each registry's integrity included.
    const link = siteFirst.headers.link;
    for (const url of urlsOf(siteFirst.text)) expect(link).toContain(`<${url}>`);
    for (const registry of [site, admin]) {
      for (const bundle of registry.current.bundles) expect(link).toContain(bundle.integrity);
    }
  });

  test('a name both register goes to the one mounted first', async () => {
    const handler = (res: Response) => {
      res.requireAssets('shared.js');
      tagsPage(res);
    };
    const siteFirst = await request(both(site, admin, handler))
      .get('/')
      .expect(200);
    expect(unhashed(urlsOf(siteFirst.text))).toEqual(['/assets/main.js']);
    const adminFirst = await request(both(admin, site, handler))
      .get('/')
      .expect(200);
    expect(unhashed(urlsOf(adminFirst.text))).toEqual(['/admin-assets/main.js']);
  });

  test('each middleware serves its own bundles', async () => {
    const app = both(site, admin, tagsPage);
    for (const registry of [site, admin]) {
      for (const bundle of registry.current.bundles) {
        const served = await request(app).get(bundle.url).expect(200);
        expect(served.headers['cache-control']).toContain('immutable');
      }
    }
  });

  test('an unknown name is ASSET_MISSING with the nearest names of both', async () => {
    const app = both(site, admin, (res) => {
      res.requireAssets('admin/editr.js');
      res.send('unreachable');
    });
    const response = await request(app).get('/').expect(500);
    expect(response.body.code).toBe('ASSET_MISSING');
    expect(response.body.message).toContain('Did you mean "admin/editor.js"');
  });

  test('{% assets %} in a nunjucks layout prints both, each under its publicPath', async () => {
    const views = tempDir();
    writeFiles(views, {
      'layout.njk': '<head>{% assets "css" %}</head><body>{% block body %}{% endblock %}</body>',
      'page.njk':
        '{% extends "layout.njk" %}{% block body %}{% include "editor.njk" %}' +
        '{% requireAsset "site/app.js" %}{% assets "js" %}{% endblock %}',
      'editor.njk': '{% requireAsset "admin/editor.js" %}<div class="editor"></div>',
    });
    const app = express();
    app.use(site.middleware());
    app.use(admin.middleware());
    const env = site.nunjucks(new nunjucks.Environment(new nunjucks.FileSystemLoader(views)));
    env.express(app);
    app.get('/', (_req, res) => res.render('page.njk'));
    app.use(errorHandler);
    const response = await request(app).get('/').expect(200);
    expect(unhashed(urlsOf(response.text))).toEqual([
      '/assets/main.css',
      '/admin-assets/main.css',
      '/assets/main.js',
      '/admin-assets/main.js',
    ]);
    expect(response.text.indexOf('/admin-assets/main.')).toBeLessThan(
      response.text.indexOf('<body>'),
    );
  });

  test('on two apps, each page has only its own registry', async () => {
    const one = (registry: AssetRegistry, name: string): App => {
      const app = express();
      app.use(registry.middleware());
      app.get('/', (_req, res) => {
        res.requireAssets(name);
        tagsPage(res);
      });
      app.use(errorHandler);
      return app;
    };
    const siteApp = one(site, 'site/app.js');
    const adminApp = one(admin, 'admin/editor.js');
    const siteOtherName = one(site, 'admin/editor.js');
    for (let i = 0; i < 2; i++) {
      const sitePage = await request(siteApp).get('/').expect(200);
      expect(unhashed(urlsOf(sitePage.text))).toEqual(['/assets/main.css', '/assets/main.js']);
      const adminPage = await request(adminApp).get('/').expect(200);
      expect(unhashed(urlsOf(adminPage.text))).toEqual([
        '/admin-assets/main.css',
        '/admin-assets/main.js',
      ]);
      const missing = await request(siteOtherName).get('/').expect(500);
      expect(missing.body.code).toBe('ASSET_MISSING');
    }
  });

  test('on an app and a sub-app mounted in it, each with its own middleware', async () => {
    const sub = express();
    sub.use(admin.middleware());
    sub.get('/page', (_req, res) => {
      res.requireAssets('admin/editor.js', 'site/app.js');
      tagsPage(res);
    });
    const app = express();
    app.use(site.middleware());
    app.use('/admin', sub);
    app.use(errorHandler);
    const response = await request(app).get('/admin/page').expect(200);
    expect(unhashed(urlsOf(response.text))).toEqual([
      '/assets/main.css',
      '/admin-assets/main.css',
      '/assets/main.js',
      '/admin-assets/main.js',
    ]);
  });
});

describe('two registries in development mode', () => {
  let site: AssetRegistry;
  let admin: AssetRegistry;
  let app: App;
  beforeAll(async () => {
    // Defined here, each on its line: the error page names where.
    const [siteRoot, adminRoot] = [tempDir(), tempDir()];
    writeFiles(siteRoot, SITE.files);
    writeFiles(adminRoot, ADMIN.files);
    const common = { mode: 'development', outDir: tempDir() } as const;
    site = defineAssets({ ...common, root: siteRoot, assets: SITE.assets });
    admin = defineAssets({ ...common, root: adminRoot, assets: ADMIN.assets, publicPath: '/x/' });
    opened.push(site, admin);
    await Promise.all([site.build(), admin.build()]);
    const views = tempDir();
    writeFiles(views, { 'typo.njk': '<p>{% requireAsset "admin/editr.js" %}</p>' });
    const express = EXPRESSES[0][1];
    app = express();
    app.use(admin.middleware());
    app.use(site.middleware());
    site.nunjucks(new nunjucks.Environment(new nunjucks.FileSystemLoader(views))).express(app);
    app.get('/handler', (_req, res) => {
      res.requireAssets('admin/editr.js');
      res.send('unreachable');
    });
    app.get('/template', (_req, res) => res.render('typo.njk'));
    app.use(site.errorHandler());
  });

  test.each(['/handler', '/template'])(
    '%s: the error page of a near miss points at the registry that has the name',
    async (url) => {
      const page = await request(app).get(url).set('Accept', 'text/html').expect(500);
      expect(page.text).toMatch(/Did you mean <code>admin\/editor\.js<\/code>/);
      expect(page.text).toContain(`The registry is defined at <code>${admin.definedAt}</code>`);
      expect(admin.definedAt).not.toBe(site.definedAt);
    },
  );

  test('each registry has its report page under its own publicPath', async () => {
    const siteReport = await request(app).get('/assets/_report').expect(200);
    expect(siteReport.text).toContain('site/app.js');
    expect(siteReport.text).not.toContain('admin/editor.js');
    const adminReport = await request(app).get('/x/_report').expect(200);
    expect(adminReport.text).toContain('admin/editor.js');
    expect(adminReport.text).not.toContain('site/app.js');
  });
});
