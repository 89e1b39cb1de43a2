/**
 * The app of one bench/request row, run in its own child process: an Express 5 app rendering the
 * catalogue page with Nunjucks, with the library (criticalCss off or on) or without it (the tags
 * written in as fixed strings).
 */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { CATALOGUE_VIEWS, catalogueData } from './catalogue';
import { APP, CORPUS, SITE, loadLibrary, writeFile } from './common';
import { sleep } from './harness';
import { listen } from './servers';

/**
 * `without`: no library; `off`, `on`: the library, criticalCss so; `sized`: no library, the tags
 * as a first visit gets them (the inline CSS, the bundles at the end), read from {@link FIRST_VISIT}.
 */
export type AppKind = 'without' | 'off' | 'on' | 'sized';

/** In the scratch folder: a first visit's tags, `{ css, end }`, for the `sized` app. */
export const FIRST_VISIT = 'first-visit.json';

/** In a child: the app of one variant, served on loopback. */
export function serve(app: AppKind, entry: string, dir: string): void {
  const library = loadLibrary(entry);
  const views = path.join(dir, 'views');
  const assets = library.defineAssets({
    ...registryOptions(dir),
    requirePrebuilt: true,
    ...(app === 'on' && { criticalCss: true }),
  });
  const withLibrary = app === 'off' || app === 'on';
  const env = new nunjucks.Environment(
    new nunjucks.FileSystemLoader([
      path.join(views, withLibrary ? 'with' : 'without'),
      path.join(views, 'common'),
    ]),
    { autoescape: true },
  );
  const server = express();
  env.express(server);
  server.set('view engine', 'njk');
  const data = catalogueData();
  if (withLibrary) {
    assets.nunjucks(env);
    server.use(assets.middleware());
  }
  void assets.build().then(() => {
    const page = assets.page();
    page.require(APP, SITE);
    const tags = { css: page.tags('css'), js: page.tags('js') };
    if (app === 'sized') {
      const first = JSON.parse(fs.readFileSync(path.join(dir, FIRST_VISIT), 'utf8'));
      Object.assign(tags, { css: first.css, js: `${tags.js}\n${first.end}` });
    }
    server.get('/', async (_req, res) => {
      await sleep(1); // the page's data, from a database
      if (withLibrary) {
        res.requireAssets(APP);
        res.render('page.njk', data);
      } else {
        res.render('page.njk', { ...data, tags });
      }
    });
    listen(server);
  });
}

export function registryOptions(dir: string) {
  return {
    root: [path.join(dir, 'assets'), path.join(__dirname, '..', 'node_modules')],
    outDir: path.join(dir, 'gen'),
    assets: CORPUS,
    mode: 'production' as const,
    logger: false as const,
  };
}

/** Whether the library has the criticalCss option (an older build given by --library may not). */
export function hasCriticalCss(entry: string, dir: string): boolean {
  try {
    loadLibrary(entry).defineAssets({ ...registryOptions(dir), criticalCss: true });
    return true;
  } catch {
    return false;
  }
}

/** Writes the catalogue page's templates into `dir/views`. */
export function writeViews(dir: string): void {
  for (const [name, text] of Object.entries(CATALOGUE_VIEWS))
    writeFile(path.join(dir, 'views', name), text);
}
