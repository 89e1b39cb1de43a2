import fs from 'node:fs';
import path from 'node:path';
import type express5 from 'express';
import type { Express as App, Request, Response } from 'express';
import type { AssetRegistry } from '../../src/assets';
import { appWith, errorHandler } from '../app';
import { tempDir } from '../helpers';

/**
 * The apps the middleware tests make around the site their file built, under one Express major:
 * `label` and `express` are those `describe.each(EXPRESSES)` gives, `site` the built registry.
 */
export function middlewareApps(label: string, express: typeof express5, site: () => AssetRegistry) {
  const bundle = (id: string) => site().current.bundles.find((b) => b.id === id)!;

  function page(handler: (req: Request, res: Response) => void) {
    const app = appWith(express, site());
    app.get('/', handler);
    app.use(errorHandler);
    return app;
  }
  /** A fresh copy of this Express, `change`d as it loads, so that the change stays in the test. */
  function freshExpress(change?: (fresh: typeof express) => void): typeof express {
    let fresh: typeof express | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy
      fresh = require(label === 'Express 5' ? 'express' : 'express4') as typeof express;
      change?.(fresh);
    });
    return fresh!;
  }

  const tagsPage = (...names: string[]) =>
    page((_req, res) => {
      res.requireAssets(...names);
      res.send(`<head>${res.locals.assetTags('css')}</head>${res.locals.assetTags('js')}`);
    });

  // Non-ASCII text on both sides of the marks: the filled page is made into UTF-8 bytes from
  // its pieces, so lengths in characters and in bytes differ.
  const text = (tags: { css: string; js: string }) =>
    `<!doctype html><head><title>Café ☕ 東京 🎉</title>${tags.css}</head>` +
    `<body>${'<p>naïve — ünïcödé 𝔘 ✓</p>'.repeat(60)}${tags.js}</body>`;
  /** An app of `fresh` whose page has more than 1,000 characters and, with the library, a mark. */
  function markedPage(fresh: typeof express, withLibrary: boolean): App {
    const made = fresh();
    if (withLibrary) made.use(site().middleware());
    made.get('/', (_req, res) => {
      if (withLibrary) res.requireAssets('site/widgets.js');
      const mark = withLibrary ? res.locals.assetTags('js') : '';
      res.send(`${'<p>page</p>'.repeat(100)}${mark}`);
    });
    return made;
  }

  /**
   * An app that sends the same page at /render (through a view engine) and /send, filled by the
   * library or, without it, written with the tags already in place.
   */
  function renderedBy(
    withLibrary: boolean,
    setUp?: (res: Response) => void,
    setUpApp?: (app: App) => void,
  ) {
    const assets = site();
    const app = express();
    setUpApp?.(app);
    if (withLibrary) app.use(assets.middleware());
    const views = tempDir();
    fs.writeFileSync(path.join(views, 'page.html'), 'unused');
    app.engine('html', (_file, locals, callback) => {
      const { assetTags } = locals as Express.Locals;
      callback(null, text({ css: assetTags('css'), js: assetTags('js') }));
    });
    app.set('views', views);
    const filled = assets.page();
    filled.require('site/widgets.js');
    const fixed = { css: filled.tags('css'), js: filled.tags('js') };
    app.get(['/', '/render'], (_req, res) => {
      setUp?.(res);
      if (!withLibrary) return res.send(text(fixed));
      res.requireAssets('site/widgets.js');
      res.render('page.html');
    });
    app.get('/send', (_req, res) => {
      setUp?.(res);
      if (!withLibrary) return res.send(text(fixed));
      res.requireAssets('site/widgets.js');
      res.send(text({ css: res.locals.assetTags('css'), js: res.locals.assetTags('js') }));
    });
    app.use(errorHandler);
    return app;
  }

  return { bundle, page, freshExpress, tagsPage, markedPage, renderedBy };
}
