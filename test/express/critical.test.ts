/**
 * `criticalCss`: bootstrap 3 built from its LESS, a real Express app, beasties in its worker.
 * A page shape's critical CSS is made after its first responses, so each test first asks for
 * its page until the inline `<style>` (or the moved links) show that it is made.
 */
import type express from 'express';
import request from 'supertest';
import * as beasties from '../../src/page/beasties';
import { defineAssets } from '../../src';
import type { AssetOptions } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';
import { ASSETS, FILES, MARKUP, appOf, cookieOf, page, untilMade } from '../criticalSite';

let assets: AssetRegistry;
let app: express.Express;
let options: AssetOptions;
beforeAll(async () => {
  const root = tempDir();
  writeFiles(root, FILES);
  options = { root: [root, NODE_MODULES], outDir: `${root}/out`, assets: ASSETS };
  assets = defineAssets({ ...options, mode: 'production', criticalCss: true });
  await assets.build();
  app = appOf(assets);
}, 60_000);

describe('criticalCss', () => {
  test('a first visit: the plain tags until the shape is made, then the rules the page uses inline', async () => {
    const first = await request(app).get('/home');
    expect(first.text).not.toContain('<style');
    expect(first.text).toMatch(
      /<head><link rel="preload"[^>]*as="font"[^>]*>\n<link rel="stylesheet"/,
    );
    const made = await untilMade(app, '/home');
    const style = /<style nonce="n0nce">([^]*?)<\/style>/.exec(made.text)![1];
    expect(style).toMatch(/\.btn-primary\{/);
    expect(style).toMatch(/\.glyphicon-star:before\{/);
    expect(style).not.toMatch(/\.carousel|\.navbar|\.never-on-any-page/);
    expect(style).toContain('<\\/style>'); // a "</style>" in the CSS cannot end the element
    expect(made.text.match(/<\/style>/g)).toHaveLength(1);
    // The font, by the very URL its preload names: one fetch.
    const font = /<link rel="preload" href="([^"]+\.woff2)" as="font"/.exec(made.text)![1];
    expect(style).toContain(`url("${font}")`);
    // The font's preload and the stylesheet go at the end of the body: the page paints before
    // they arrive. A font preloaded before the body (a Link header's too) holds Chromium's first
    // paint back.
    expect(made.text).toMatch(
      /<link rel="preload"[^>]*as="font"[^>]*>\n<link rel="stylesheet"[^>]+nonce="n0nce">\n<\/body>/,
    );
    expect(made.text).toMatch(/<head><style nonce/);
    expect(made.headers.link).toMatch(/rel=preload; as=style/);
    expect(made.headers.link).not.toContain('as=font');
    expect(first.headers.link).toContain(`<${font}>; rel=preload; as=font`);
    expect(made.headers.vary).toMatch(/\bCookie\b/);
    expect(cookieOf(made)).toMatch(
      /^asset_css=[\w-]{12}; Path=\/; Max-Age=2592000; SameSite=Lax; HttpOnly$/,
    );
  }, 30_000);

  test('a visitor who holds the bundles: the plain tags, no fonts preloaded, no cookie', async () => {
    const first = await untilMade(app, '/held');
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
    await untilMade(app, '/deploy');
    const response = await request(app).get('/deploy').set('Cookie', 'asset_css=0ldBundle012');
    expect(response.text).toContain('<style nonce="n0nce">');
    expect(cookieOf(response)).toMatch(/^asset_css=[\w-]{12}\.0ldBundle012;/);
  }, 30_000);

  test('markup that differs between requests: the union of the rules its first renders used', async () => {
    await untilMade(app, '/varies?alert=success');
    const response = await untilMade(app, '/varies?alert=danger', (html) =>
      /\.alert-danger\{/.test(html),
    );
    expect(response.text).toMatch(/\.alert-success\{/);
    expect(response.text).not.toMatch(/\.alert-warning\{/);
  }, 30_000);

  test('a bundle with no rule the page uses: no empty <style>, the bundle still at the end', async () => {
    const made = await untilMade(app, '/never', (html) =>
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
    const made = await untilMade(app, '/callback');
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
      await untilMade(app, '/slow');
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  }, 30_000);

  test('with earlyHints, each page keeps its own shape (the hints are made before the view is known)', async () => {
    const registry = defineAssets({
      ...options,
      mode: 'production',
      earlyHints: true,
      criticalCss: true,
    });
    await registry.build(); // the same build in outDir, reused
    const hinted = appOf(registry);
    const pages = { '/button': MARKUP, '/alert': '<p class="alert-danger">!</p>' };
    for (const [url, markup] of Object.entries(pages)) {
      hinted.get(url, async (_req, res) => {
        res.requireAssets('site/site.less');
        await new Promise((resolve) => setImmediate(resolve)); // the hint goes out meanwhile
        page(res, markup);
      });
    }
    app = hinted;
    await untilMade(app, '/alert');
    const button = await untilMade(app, '/button');
    expect(button.text).toMatch(/\.btn-primary\{/);
    expect(button.text).not.toMatch(/\.alert-danger\{/);
  }, 30_000);

  test('development mode: off', async () => {
    const outDir = `${tempDir()}/out`;
    const development = defineAssets({
      ...options,
      outDir,
      mode: 'development',
      criticalCss: true,
    });
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
