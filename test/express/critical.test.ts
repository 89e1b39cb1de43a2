/**
 * `criticalCss`: bootstrap 3 built from its LESS, a real Express app, beasties in its worker.
 * A page shape's critical CSS is made after its first responses, so each test first asks for
 * its page until the inline `<style>` (or the moved links) show that it is made.
 */
import express from 'express';
import request from 'supertest';
import * as beasties from '../../src/page/beasties';
import { defineAssets } from '../../src';
import type { AssetOptions } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';

const FILES = {
  'site/site.less':
    '@import "bootstrap/less/bootstrap.less";\n.x::after { content: "</style>"; }\n',
  'site/site.js': 'window.site = 1;\n',
  'extra/never.css': '.never-on-any-page { color: red; }\n',
};
const ASSETS: AssetOptions['assets'] = [
  'site/site.less',
  'site/site.js',
  { path: 'extra/never.css', bundle: 'extra' },
];

const MARKUP = `<div class="container"><a class="btn btn-primary x">Go
  <span class="glyphicon glyphicon-star"></span></a></div>`;

/** A page as a layout would write it: the css tags in the head, the body after. */
function page(res: express.Response, body: string): void {
  res.send(
    `<!doctype html><html><head>${res.locals.assetTags('css')}</head>` +
      `<body>${body}${res.locals.assetTags('js')}</body></html>`,
  );
}

function appOf(assets: AssetRegistry): express.Express {
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

let assets: AssetRegistry;
let app: express.Express;
beforeAll(async () => {
  const root = tempDir();
  writeFiles(root, FILES);
  const options = { root: [root, NODE_MODULES], outDir: `${root}/out`, assets: ASSETS };
  assets = defineAssets({ ...options, mode: 'production', criticalCss: true });
  await assets.build();
  app = appOf(assets);
}, 60_000);

/** Asks for `url` (as a first visit) until `ready` holds for the page, for at most 20 s. */
async function untilMade(url: string, ready = (html: string) => html.includes('<style')) {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const response = await request(app).get(url);
    if (ready(response.text)) return response;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no critical CSS for ${url} in 20 s`);
}

const cookieOf = (response: request.Response) =>
  ([] as string[]).concat(response.headers['set-cookie'] ?? []).join('\n');

describe('criticalCss', () => {
  test('a first visit: the plain tags until the shape is made, then the rules the page uses inline', async () => {
    const first = await request(app).get('/home');
    expect(first.text).not.toContain('<style');
    expect(first.text).toMatch(
      /<head><link rel="preload"[^>]*as="font"[^>]*>\n<link rel="stylesheet"/,
    );
    const made = await untilMade('/home');
    const style = /<style nonce="n0nce">([^]*?)<\/style>/.exec(made.text)![1];
    expect(style).toMatch(/\.btn-primary\{/);
    expect(style).toMatch(/\.glyphicon-star:before\{/);
    expect(style).not.toMatch(/\.carousel|\.navbar|\.never-on-any-page/);
    expect(style).toContain('<\\/style>'); // a "</style>" in the CSS cannot end the element
    expect(made.text.match(/<\/style>/g)).toHaveLength(1);
    // The font, by the very URL its preload names: one fetch.
    const font = /<link rel="preload" href="([^"]+\.woff2)" as="font"/.exec(made.text)![1];
    expect(style).toContain(`url("${font}")`);
    expect(made.headers.link).toContain(`<${font}>; rel=preload; as=font`);
    // The stylesheet goes at the end of the body: the page paints before it arrives.
    expect(made.text).toMatch(/<link rel="stylesheet"[^>]+nonce="n0nce">\n<\/body>/);
    expect(made.headers.vary).toMatch(/\bCookie\b/);
    expect(cookieOf(made)).toMatch(
      /^asset_css=[\w-]{12}; Path=\/; Max-Age=2592000; SameSite=Lax; HttpOnly$/,
    );
  }, 30_000);

  test('a visitor who holds the bundles: the plain tags, no fonts preloaded, no cookie', async () => {
    const first = await untilMade('/held');
    const cookie = cookieOf(first).split(';')[0];
    const again = await request(app).get('/held').set('Cookie', `theme=dark; ${cookie}`);
    expect(again.text).not.toMatch(/<style|as="font"/);
    expect(again.headers.link).not.toContain('as=font');
    expect(again.text).toMatch(/<head><link rel="stylesheet"/);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.headers.vary).toMatch(/\bCookie\b/);
    expect(again.text.length).toBeLessThan(first.text.length);
  }, 30_000);

  test('a deploy in the middle of a visit: a cookie of older bundles is a first visit again', async () => {
    await untilMade('/deploy');
    const response = await request(app).get('/deploy').set('Cookie', 'asset_css=0ldBundle012');
    expect(response.text).toContain('<style nonce="n0nce">');
    expect(cookieOf(response)).toMatch(/^asset_css=[\w-]{12}\.0ldBundle012;/);
  }, 30_000);

  test('markup that differs between requests: the union of the rules its first renders used', async () => {
    await untilMade('/varies?alert=success');
    const response = await untilMade('/varies?alert=danger', (html) =>
      /\.alert-danger\{/.test(html),
    );
    expect(response.text).toMatch(/\.alert-success\{/);
    expect(response.text).not.toMatch(/\.alert-warning\{/);
  }, 30_000);

  test('a bundle with no rule the page uses: no empty <style>, the bundle still at the end', async () => {
    const made = await untilMade('/never', (html) =>
      /<link rel="stylesheet"[^>]*>\n<\/body>/.test(html),
    );
    expect(made.text).not.toContain('<style');
  }, 30_000);

  test('a page without CSS needs: no cookie, no Vary: Cookie', async () => {
    const response = await request(app).get('/script');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers.vary ?? '').not.toMatch(/Cookie/);
  });

  test('a response that sends no stylesheet sets no cookie: JSON, a page without css tags', async () => {
    for (const url of ['/json', '/untagged']) {
      const response = await request(app).get(url);
      expect({ url, cookie: response.headers['set-cookie'] }).toEqual({ url, cookie: undefined });
      expect(response.headers.vary ?? '').not.toMatch(/Cookie/);
    }
  });

  test('a page rendered to a callback and sent with res.end: Vary: Cookie and the cookie', async () => {
    const made = await untilMade('/callback');
    expect(made.text).toContain('<style nonce="n0nce">');
    expect(made.headers.vary).toMatch(/\bCookie\b/);
    const again = await request(app).get('/callback').set('Cookie', cookieOf(made).split(';')[0]);
    expect(again.text).not.toContain('<style');
    expect(again.headers.vary).toMatch(/\bCookie\b/);
    expect(again.headers['set-cookie']).toBeUndefined();
  }, 30_000);

  test('over HTTPS (behind a proxy that says so) the cookie is Secure', async () => {
    const response = await request(app).get('/home').set('X-Forwarded-Proto', 'https');
    expect(cookieOf(response)).toMatch(/; Secure$/);
  });

  test('one computation per shape, never on the request path', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const real = beasties.processHtml;
    const spy = jest.spyOn(beasties, 'processHtml').mockImplementation(async (html) => {
      await held; // the computation takes as long as the test wants
      return real(html);
    });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => request(app).get('/slow')),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
      expect(responses.some((response) => response.text.includes('<style'))).toBe(false);
      expect(spy).toHaveBeenCalledTimes(1);
      release();
      await untilMade('/slow');
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  }, 30_000);

  test('development mode: off', async () => {
    const root = tempDir();
    writeFiles(root, FILES);
    const options = { root: [root, NODE_MODULES], outDir: `${root}/out`, assets: ASSETS };
    const development = defineAssets({ ...options, mode: 'development', criticalCss: true });
    await development.build();
    try {
      for (let i = 0; i < 3; i++) {
        const response = await request(appOf(development)).get('/home');
        expect(response.text).not.toContain('<style');
        expect(response.headers['set-cookie']).toBeUndefined();
      }
    } finally {
      await development.close();
    }
  }, 60_000);
});
