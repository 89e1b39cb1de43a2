import path from 'node:path';
import nunjucks from 'nunjucks';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { appWith, builtSite, errorHandler, EXPRESSES } from '../app';

const VIEWS = path.join(__dirname, '..', 'fixtures', 'views');

/** The bundle ids whose tags a page printed, in order: `main.css`, `admin.js`... */
function bundleIds(html: string): string[] {
  return [...html.matchAll(/(?:href|src)="\/assets\/(\w+)\.[0-9a-f]{12}\.(css|js)"/g)].map(
    (m) => `${m[1]}.${m[2]}`,
  );
}

describe.each(EXPRESSES)('nunjucks tags under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });

  function site(options: nunjucks.ConfigureOptions = {}) {
    const app = appWith(express, assets);
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS), {
      autoescape: true,
      ...options,
    });
    expect(assets.nunjucks(env)).toBe(env);
    env.express(app);
    app.set('view engine', 'njk');
    return { app, env };
  }

  test('a requirement inside a child block reaches the layout head printed before it', async () => {
    const { app } = site();
    app.get('/', (_req, res) => res.render('child.njk'));
    const response = await request(app).get('/').expect(200);
    expect(bundleIds(response.text)).toEqual(['main.css', 'main.js']);
    expect(response.text.indexOf('main.css')).toBeLessThan(response.text.indexOf('<body>'));
  });

  test('a requirement at the top of a child template counts', async () => {
    const { app } = site();
    app.get('/', (_req, res) => res.render('top.njk'));
    const response = await request(app).get('/').expect(200);
    expect(bundleIds(response.text)).toEqual(['main.css', 'admin.css', 'main.js', 'admin.js']);
  });

  test('includes, macros imported without context, loops over variables, lists, if branches', async () => {
    const { app } = site();
    app.get('/:show', (req, res) =>
      res.render('everywhere.njk', {
        names: ['vendor/lib.js'],
        list: ['site/widgets.less'],
        show: req.params.show === 'yes',
      }),
    );
    const shown = await request(app).get('/yes').expect(200);
    expect(bundleIds(shown.text)).toEqual(['main.css', 'admin.css', 'main.js', 'admin.js']);
    const hidden = await request(app).get('/no').expect(200);
    // The partial needs admin.css; the editor macro (admin.js) did not run.
    expect(bundleIds(hidden.text)).toEqual(['main.css', 'admin.css', 'main.js']);
  });

  test('several names in one tag; tags printed unescaped with autoescape on', async () => {
    const { app } = site();
    app.get('/', (_req, res) => res.render('several.njk'));
    const response = await request(app).get('/').expect(200);
    expect(response.text).toMatch(
      /^<link rel="stylesheet" href="\/assets\/main\.[0-9a-f]{12}\.css"/,
    );
    expect(response.text).toContain('|<script src="/assets/main.');
  });

  test('an unknown name fails the render naming the template, line, column and asset', async () => {
    const { app } = site();
    app.get('/', (_req, res) => res.render('missing.njk'));
    app.use(errorHandler);
    const response = await request(app).get('/').expect(500);
    expect(response.body.code).toBe('ASSET_MISSING');
    expect(response.body.message).toMatch(/missing\.njk.*\[Line 2, Column \d+\]/s);
    expect(response.body.message).toContain('"site/widget.js"');
    expect(response.body.message).toContain('Did you mean "site/widgets.js"');
  });

  test('the suggestions reach the error handler', async () => {
    const { app } = site();
    app.get('/', (_req, res) => res.render('missing.njk'));
    app.use(
      (
        error: { suggestions?: string[] },
        _req: unknown,
        res: { json(body: unknown): void },
        _next: unknown,
      ) => res.json(error.suggestions),
    );
    const response = await request(app).get('/');
    expect(response.body[0]).toBe('site/widgets.js');
  });

  test('names with quotes or < never break out of the markup', async () => {
    const { app } = site();
    app.get('/', (_req, res) =>
      res.render('variable.njk', { name: '"><script>alert(1)</script>.js' }),
    );
    app.use(errorHandler);
    const response = await request(app).get('/').expect(500);
    expect(response.body.code).toBe('ASSET_MISSING');
  });

  test('custom <% %> block delimiters', async () => {
    const { app } = site({ tags: { blockStart: '<%', blockEnd: '%>' } });
    app.get('/', (_req, res) => res.render('angle/page.html', { title: 'Angle' }));
    const response = await request(app).get('/').expect(200);
    expect(response.text).toContain('Angle');
    expect(bundleIds(response.text)).toEqual(['main.css', 'main.js']);
  });
});

describe('nunjucks without Express', () => {
  test('env.render with the page state given explicitly', async () => {
    const assets = await builtSite();
    const env = assets.nunjucks(new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS)));
    const page = assets.page();
    const html = await new Promise<string>((resolve, reject) =>
      env.render('child.njk', { pageAssets: page }, (error, result) =>
        error ? reject(error) : resolve(result!),
      ),
    );
    expect(bundleIds(page.fill(html))).toEqual(['main.css', 'main.js']);
  });

  test('without page state the render fails with a message that says what to do', async () => {
    const assets = await builtSite();
    const env = assets.nunjucks(new nunjucks.Environment());
    expect(() => env.renderString('{% requireAsset "vendor/lib.js" %}', {})).toThrow(
      /assets\.page\(\)/,
    );
  });

  test('a macro imported without context cannot see the page, and the message says to import it with context', async () => {
    const assets = await builtSite();
    const env = assets.nunjucks(new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS)));
    const importing = (how: string) =>
      `{% from "macros.njk" import editor${how} %}{{ editor() }}{% assets "js" %}`;
    const page = assets.page();
    expect(() => env.renderString(importing(''), { pageAssets: page })).toThrow(/with context/);
    const html = env.renderString(importing(' with context'), { pageAssets: page });
    expect(bundleIds(page.fill(html))).toEqual(['main.js', 'admin.js']);
  });

  test('adding the tags twice to one environment is harmless', async () => {
    const assets = await builtSite();
    const env = new nunjucks.Environment();
    assets.nunjucks(env);
    assets.nunjucks(env);
    const page = assets.page();
    env.renderString('{% requireAsset "vendor/lib.js" %}', { pageAssets: page });
    expect([...page.needs]).toEqual(['vendor/lib.js']);
  });
});

describe.each(EXPRESSES)('other view engines under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });

  test.each([
    ['ejs', 'page.ejs'],
    ['pug', 'page.pug'],
  ])('%s through res.locals.requireAsset and assetTags', async (engine, view) => {
    const app = appWith(express, assets);
    app.set('views', path.join(VIEWS, engine));
    app.set('view engine', engine);
    app.get('/', (_req, res) => res.render(view));
    const response = await request(app).get('/').expect(200);
    expect(bundleIds(response.text)).toEqual(['main.css', 'admin.css', 'main.js']);
  });
});
