/**
 * The site of the critical CSS tests: bootstrap 3 from its LESS, a script, a bundle no page
 * uses; an app with one route per page shape and a fixed CSP nonce.
 */
import express from 'express';
import request from 'supertest';
import type { AssetOptions } from '../src';
import type { AssetRegistry } from '../src/assets';
import { tempDir, writeFiles } from './helpers';

export const FILES = {
  'site/site.less':
    '@import "bootstrap/less/bootstrap.less";\n.x::after { content: "</style>"; }\n',
  'site/site.js': 'window.site = 1;\n',
  'extra/never.css': '.never-on-any-page { color: red; }\n',
};
export const ASSETS: AssetOptions['assets'] = [
  'site/site.less',
  'site/site.js',
  { path: 'extra/never.css', bundle: 'extra' },
];

export const MARKUP = `<div class="container"><a class="btn btn-primary x">Go
  <span class="glyphicon glyphicon-star"></span></a></div>`;

/** A page as a layout would write it: the css tags in the head, the body after. */
export function page(res: express.Response, body: string): void {
  res.send(
    `<!doctype html><html><head>${res.locals.assetTags('css')}</head>` +
      `<body>${body}${res.locals.assetTags('js')}</body></html>`,
  );
}

export function appOf(assets: AssetRegistry): express.Express {
  const app = express();
  app.set('trust proxy', true);
  app.use((_req, res, next) => {
    res.locals.cspNonce = 'n0nce';
    next();
  });
  app.use(assets.middleware());
  // One route per page: a page sent as a string takes its route as its shape.
  for (const shape of ['home', 'held', 'deploy', 'varies', 'never', 'script', 'slow']) {
    app.get(`/${shape}`, (req, res) => {
      if (shape === 'never') res.requireAssets('extra/never.css');
      else if (shape === 'script') res.requireAssets('site/site.js');
      else res.requireAssets('site/site.less', 'site/site.js');
      const alert = `<p class="alert alert-${req.query.alert ?? 'info'}">!</p>`;
      page(res, `${MARKUP}${shape === 'varies' ? alert : ''}`);
    });
  }
  // What sends no stylesheet: JSON, a page without css tags. A page rendered to a callback.
  app.get('/json', (_req, res) => {
    res.requireAssets('site/site.less');
    res.json({ ok: true });
  });
  app.get('/untagged', (_req, res) => {
    res.requireAssets('site/site.less');
    res.send(`<html><body>${MARKUP}${res.locals.assetTags('js')}</body></html>`);
  });
  const views = tempDir();
  writeFiles(views, { 'callback.page': '' });
  app.set('views', views);
  app.engine('page', (_file, options: { assetTags?: (kind: string) => string }, done) =>
    done(null, `<html><head>${options.assetTags!('css')}</head><body>${MARKUP}</body></html>`),
  );
  app.get('/callback', (_req, res) => {
    res.requireAssets('site/site.less');
    res.render('callback.page', (_error: Error | null, html?: string) =>
      res.type('html').end(html),
    );
  });
  return app;
}

/** Asks for `url` (as a first visit) until `ready` holds for the page, for at most 20 s. */
export async function untilMade(
  app: express.Express,
  url: string,
  ready = (html: string) => html.includes('<style'),
) {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const response = await request(app).get(url);
    if (ready(response.text)) return response;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no critical CSS for ${url} in 20 s`);
}

export const cookieOf = (response: request.Response) =>
  ([] as string[]).concat(response.headers['set-cookie'] ?? []).join('\n');
