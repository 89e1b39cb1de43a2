import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import request from 'supertest';
import { defineAssets } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import type { AssetOptions } from '../../src/registry/options';
import { sizeReport } from '../../src/cli/report';
import { bytes } from '../../src/build/sizeTable';
import { SITE_ASSETS, SITE_FILES } from '../app';
import { tempDir, writeFiles } from '../helpers';

const VIEWS = path.join(__dirname, '..', 'fixtures', 'views');
const TEST_SOURCE = fs.readFileSync(__filename, 'utf8').split('\n');
const opened: AssetRegistry[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((assets) => assets.close()));
});

/** A development-mode site in a fresh folder, with a page that requires `site/widgets.js`. */
async function developmentSite(options: Partial<AssetOptions> = {}) {
  const root = tempDir();
  writeFiles(root, {
    ...SITE_FILES,
    'site/base.less':
      '@import "partials/colors";\nbody { color: @text; background: url(img/dot.svg); }\n',
    'site/partials/colors.less': '@text: #111111;\n.partial { color: @text; }\n',
    'site/img/dot.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
  });
  const assets = defineAssets({
    root,
    outDir: path.join(root, 'out'),
    assets: SITE_ASSETS,
    mode: 'development',
    ...options,
  });
  opened.push(assets);
  await assets.build();
  const app = express();
  app.use(assets.middleware());
  const env = assets.nunjucks(new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS)));
  env.express(app);
  app.get('/', (_req, res) => {
    res.requireAssets('site/widgets.js');
    res.send(`<head>${res.locals.assetTags('css')}</head>${res.locals.assetTags('js')}`);
  });
  app.get('/child', (_req, res) => res.render('child.njk'));
  app.get('/typo', (_req, res) => {
    res.requireAssets('site/widget.js');
    res.send('unreachable');
  });
  app.get('/typo-in-template', (_req, res) => res.render('missing.njk'));
  app.use(assets.errorHandler());
  return {
    root,
    assets,
    app,
    write: (name: string, text: string) => writeFiles(root, { [name]: text }),
  };
}

/** Polls until `check` passes: file watching is asynchronous. Bounded: fails after `ms`. */
async function eventually(check: () => Promise<void>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const urlsOf = (html: string) => [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);

describe('development mode', () => {
  test('one tag per asset, in dependency order, each file unminified and revalidated', async () => {
    const { app } = await developmentSite();
    const page = await request(app).get('/').expect(200);
    expect(urlsOf(page.text)).toEqual([
      '/assets/dev/site/base.less.css',
      '/assets/dev/site/widgets.less.css',
      '/assets/dev/vendor/lib.js',
      '/assets/dev/site/widgets.js',
    ]);
    const js = await request(app).get('/assets/dev/site/widgets.js').expect(200);
    expect(js.text).toBe(SITE_FILES['site/widgets.js']);
    expect(js.headers['cache-control']).toBe('no-cache');
    await request(app)
      .get('/assets/dev/site/widgets.js')
      .set('If-None-Match', js.headers.etag)
      .expect(304);
    const css = await request(app).get('/assets/dev/site/base.less.css').expect(200);
    expect(css.text).toMatch(/body \{\n\s+color: #111111;/);
    expect(css.text).toContain('sourceMappingURL=base.less.css.map');
    const map = await request(app).get('/assets/dev/site/base.less.css.map').expect(200);
    expect(JSON.parse(map.text).sources.sort()).toEqual([
      'site/base.less',
      'site/partials/colors.less',
    ]);
    const [, font] = css.text.match(/url\("(\/assets\/dot\.[0-9a-f]{12}\.svg)"\)/) ?? [];
    expect(font).toBeDefined();
    await request(app).get(font).expect(200);
  });

  test('a saved change is served on the next request, without a restart', async () => {
    const { app, write } = await developmentSite();
    write('site/widgets.js', 'window.widgets = 42;\n');
    await eventually(async () => {
      expect((await request(app).get('/assets/dev/site/widgets.js')).text).toBe(
        'window.widgets = 42;\n',
      );
    });
    write('site/partials/colors.less', '@text: #222222;\n');
    const before = (await request(app).get('/assets/dev/site/base.less.css')).text.match(
      /url\("([^"]+)"\)/,
    )![1];
    await eventually(async () => {
      expect((await request(app).get('/assets/dev/site/base.less.css')).text).toContain('#222222');
    });
    write('site/img/dot.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="2"/>');
    await eventually(async () => {
      const css = (await request(app).get('/assets/dev/site/base.less.css')).text;
      const [, url] = css.match(/url\("([^"]+)"\)/)!;
      expect(url).not.toBe(before);
      await request(app).get(url).expect(200);
    });
  });

  test('a deleted or renamed file shows a clear error; restoring it recovers', async () => {
    const { app, root } = await developmentSite();
    const file = path.join(root, 'site/widgets.js');
    fs.renameSync(file, `${file}.bak`);
    await eventually(async () => {
      const page = await request(app).get('/').set('Accept', 'text/html').expect(500);
      expect(page.text).toContain('site/widgets.js');
      expect(page.text).toContain('has no file');
    });
    fs.renameSync(`${file}.bak`, file);
    await eventually(async () => {
      await request(app).get('/').expect(200);
    });
  });

  test.each([
    ['site/widgets.js', 'window.widgets = (;\n', 'Unexpected token', 1, 19], // the ";" is the 19th character,
    [
      'site/widgets.less',
      '.widget {\n  color: red;\n  border: 1px solid\n',
      'Unrecognised input',
      4,
      1,
    ],
    ['site/widgets.less', '@import "missing-partial";\n', 'missing-partial', 1, 1],
  ])(
    'a build error in %s shows the error page, and the next good save recovers',
    async (name, bad, message, line, column) => {
      const { app, write } = await developmentSite();
      write(name, bad);
      await eventually(async () => {
        const page = await request(app).get('/').set('Accept', 'text/html').expect(500);
        expect(page.headers['content-type']).toMatch(/html/);
        expect(page.text).toContain(message);
        expect(page.text).toContain(`${name}:${line}:${column}`);
        expect(page.text).toMatch(new RegExp(`<span class="ar-number">${line}</span>`));
      });
      write(name, SITE_FILES[name]);
      await eventually(async () => {
        await request(app).get('/').expect(200);
      });
    },
  );

  test('an unknown name shows the error page with suggestions and where the registry is', async () => {
    const { app } = await developmentSite();
    const page = await request(app).get('/typo').set('Accept', 'text/html').expect(500);
    expect(page.text).toContain('AssetMissingError');
    expect(page.text).toMatch(/Did you mean <code>site\/widgets\.js<\/code>/);
    expect(page.text).toMatch(
      /The registry is defined at <code>[^<]*development\.test\.ts:\d+:\d+<\/code>/,
    );
    const fromTemplate = await request(app)
      .get('/typo-in-template')
      .set('Accept', 'text/html')
      .expect(500);
    expect(fromTemplate.text).toMatch(/Did you mean <code>site\/widgets\.js<\/code>/);
    // The page points at the template line that asked for the name.
    expect(fromTemplate.text).toMatch(/<code>[^<]*missing\.njk:2:\d+<\/code>/);
    expect(fromTemplate.text).toContain('{% requireAsset &quot;site/widget.js&quot; %}');
  });

  test('a handler or template typo says where it is and that fixing it takes a restart', async () => {
    const { app, write } = await developmentSite();
    const handler = await request(app).get('/typo').set('Accept', 'text/html').expect(500);
    // The handler's own line, with its source.
    const line =
      TEST_SOURCE.findIndex((text) => text.includes("requireAssets('site/widget.js')")) + 1;
    expect(handler.text).toMatch(
      new RegExp(
        `In the application's code at <code>test/development/development\\.test\\.ts:${line}:\\d+</code>`,
      ),
    );
    expect(handler.text).toContain(`<span class="ar-number">${line}</span>`);
    const template = await request(app)
      .get('/typo-in-template')
      .set('Accept', 'text/html')
      .expect(500);
    expect(template.text).toMatch(/In the template <code>[^<]*missing\.njk:2:\d+<\/code><\/p>/);
    expect(template.text).not.toContain('while building');
    for (const page of [handler, template]) {
      expect(page.text).not.toContain('Save a fix');
      expect(page.text).toContain('restart the server');
    }
    // A build error is the one a saved fix clears.
    write('site/widgets.js', 'window.widgets = (;\n');
    await eventually(async () => {
      const broken = await request(app).get('/').set('Accept', 'text/html').expect(500);
      expect(broken.text).toContain(
        'Save a fix and reload: the assets are rebuilt without a restart',
      );
      expect(broken.text).not.toContain('restart the server');
    });
  });

  test('the middleware after the routes, or a page before build(), shows a page that says so', async () => {
    const root = tempDir();
    writeFiles(root, SITE_FILES);
    const assets = defineAssets({
      root,
      outDir: path.join(root, 'out'),
      assets: SITE_ASSETS,
      mode: 'development',
    });
    opened.push(assets);
    const app = express();
    app.get('/early', (_req, res) => {
      res.requireAssets('site/widgets.js');
      res.send('unreachable');
    });
    app.use(assets.middleware());
    app.get('/', (_req, res) => res.send('ok'));
    app.use(assets.errorHandler());
    const unbuilt = await request(app).get('/').set('Accept', 'text/html').expect(500);
    expect(unbuilt.text).toContain('AssetNotBuiltError <code>ASSET_NOT_BUILT</code>');
    expect(unbuilt.text).toContain('await assets.build() before app.listen()');
    await assets.build();
    const early = await request(app).get('/early').set('Accept', 'text/html').expect(500);
    expect(early.text).toContain('AssetSetupError <code>ASSET_SETUP</code>');
    expect(early.text).toContain(
      '<h1>app.use(assets.middleware()) must come before the routes that call res.requireAssets</h1>',
    );
    expect(early.text).not.toContain('Save a fix');
  });

  test('several missing files are named in one error', async () => {
    const { app, root } = await developmentSite();
    fs.rmSync(path.join(root, 'vendor/lib.js'));
    fs.rmSync(path.join(root, 'admin/editor.css'));
    await eventually(async () => {
      const page = await request(app).get('/').set('Accept', 'text/html').expect(500);
      expect(page.text).toContain(
        `2 assets have no file under ${root}: &quot;vendor/lib.js&quot;, &quot;admin/editor.css&quot;`,
      );
    });
  });

  test('the error page escapes what it shows', async () => {
    const { app, write } = await developmentSite();
    write('site/widgets.js', 'var x = "<script>alert(1)</script>" +;\n');
    await eventually(async () => {
      const page = await request(app).get('/').set('Accept', 'text/html').expect(500);
      expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(page.text).not.toContain('<script>alert(1)');
    });
  });

  test('a request that does not accept HTML gets the error through next()', async () => {
    const { app, write } = await developmentSite();
    write('site/widgets.js', 'window.widgets = (;\n');
    await eventually(async () => {
      const response = await request(app).get('/').set('Accept', 'application/json').expect(500);
      expect(response.text).not.toContain('ar-page');
    });
  });

  test('the report page lists bundles, members, bytes, edges, budget and routes', async () => {
    const { app } = await developmentSite({ budget: { js: 10 } });
    await request(app).get('/').expect(200);
    const report = await request(app).get('/assets/_report').expect(200);
    expect(report.headers['content-type']).toMatch(/html/);
    for (const id of ['main.css', 'main.js', 'admin.css', 'admin.js'])
      expect(report.text).toContain(`<h2>${id}</h2>`);
    expect(report.text).toContain('<code>site/widgets.js</code> &rarr; <code>vendor/lib.js</code>');
    expect(report.text).toMatch(
      /<code>admin\/editor\.js<\/code> <span class="ar-unused">unused<\/span>/,
    );
    expect(report.text).not.toMatch(/<code>site\/widgets\.js<\/code> <span class="ar-unused">/);
    expect(report.text).toContain('over budget');
    expect(report.text).toMatch(/<td><code>\/<\/code><\/td><td>.*site\/widgets\.js/);
    expect(report.text).toContain('name="viewport"');
  });

  test('the report page gives the sources bytes asset-registry report gives (LESS imports counted)', async () => {
    const { app, root } = await developmentSite();
    const production = defineAssets({
      root,
      outDir: path.join(root, 'prod'),
      assets: SITE_ASSETS,
      mode: 'production',
    });
    const { manifest } = await production.build();
    const report = await sizeReport(manifest, production.options);
    const page = (await request(app).get('/assets/_report').expect(200)).text;
    for (const bundle of report.bundles) {
      const section = page.slice(page.indexOf(`<h2>${bundle.id}</h2>`));
      expect(section).toMatch(
        new RegExp(`^<h2>[^<]+</h2>\\s*<p>${bytes(bundle.sizes.source)} B source`),
      );
      for (const member of bundle.members) {
        const row = section.slice(section.indexOf(`<code>${member.asset}</code>`));
        expect(row).toMatch(
          new RegExp(`^[^\\n]*\\n\\s*<td class="ar-num">${bytes(member.source)}</td>`),
        );
      }
    }
    // base.less imports partials/colors.less: both files count.
    const members = report.bundles.flatMap((bundle) => bundle.members);
    const base = members.find((member) => member.asset === 'site/base.less')!;
    const files = ['site/base.less', 'site/partials/colors.less'];
    expect(base.source).toBe(
      files.reduce((n, file) => n + fs.statSync(path.join(root, file)).size, 0),
    );
  });

  test('the report page is off with report: false, and never mounted in production', async () => {
    const { app } = await developmentSite({ report: false });
    await request(app).get('/assets/_report').expect(404);
    const root = tempDir();
    writeFiles(root, SITE_FILES);
    const production = defineAssets({
      root,
      outDir: path.join(root, 'out'),
      assets: SITE_ASSETS,
      mode: 'production',
    });
    await production.build();
    const prodApp = express();
    prodApp.use(production.middleware());
    await request(prodApp).get('/assets/_report').expect(404);
  });

  test('production and development deliver the same assets in the same order', async () => {
    const { app: devApp, root } = await developmentSite();
    const production = defineAssets({
      root,
      outDir: path.join(root, 'prod'),
      assets: SITE_ASSETS,
      mode: 'production',
    });
    const build = await production.build();
    const prodApp = express();
    prodApp.use(production.middleware());
    const env = production.nunjucks(new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS)));
    env.express(prodApp);
    prodApp.get('/child', (_req, res) => res.render('child.njk'));
    const needed = (urls: string[], needs: Set<string>) =>
      urls.flatMap((url) => {
        const bundle = build.bundles.find((b) => b.url === url);
        return bundle ? bundle.members.map((m) => m.asset).filter((name) => needs.has(name)) : [];
      });
    const devUrls = urlsOf((await request(devApp).get('/child').expect(200)).text);
    const devAssets = devUrls.map((url) =>
      url
        .replace('/assets/dev/', '')
        .replace(/\.css$/, '')
        .replace(/\.less\.css$/, '.less'),
    );
    const prodUrls = urlsOf((await request(prodApp).get('/child').expect(200)).text);
    expect(
      devAssets.map((name) =>
        name.endsWith('.less') || name.endsWith('.js') || name.endsWith('.css')
          ? name
          : `${name}.css`,
      ),
    ).toEqual(needed(prodUrls, new Set(devAssets)));
    expect(devAssets).toEqual([
      'site/base.less',
      'site/widgets.less',
      'vendor/lib.js',
      'site/widgets.js',
    ]);
  });

  test('no watcher runs in production, and close() stops watching in development', async () => {
    const { app, assets, write } = await developmentSite();
    await assets.close();
    write('site/widgets.js', 'window.widgets = 7;\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await request(app).get('/assets/dev/site/widgets.js')).text).toBe(
      SITE_FILES['site/widgets.js'],
    );
  });
});
