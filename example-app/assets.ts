/**
 * Every asset of the example site, declared once. Pages say what they need with
 * `res.requireAssets()`, `assets.needs()` or `{% requireAsset %}`; the build makes one CSS and
 * one JS bundle per group (`main`, and `admin` for the editor).
 *
 * In your own app, import from 'express-asset-registry' instead of '../src'.
 */
import path from 'node:path';
import { defineAssets } from '../src';

export const assets = defineAssets({
  // The load path: the site's own files first, then npm packages by their package path.
  root: [path.join(__dirname, 'assets'), path.join(__dirname, '..', 'node_modules')],
  outDir: path.join(__dirname, 'public', 'gen'),
  publicPath: '/assets/',
  // Worth turning on behind a CDN or proxy that speaks HTTP/2 to browsers and forwards 103s.
  earlyHints: process.env.EARLY_HINTS === '1',
  // A first visit gets the rules its page uses inline, and the bundles without blocking paint.
  criticalCss: true,
  assets: [
    'jquery/dist/jquery.js',
    // bootstrap 3 from its LESS sources; its glyphicon fonts come along through url().
    'bootstrap/less/bootstrap.less',
    { path: 'site/site.less', deps: ['bootstrap/less/bootstrap.less'] },
    { path: 'site/site.js', deps: ['jquery/dist/jquery.js'] },
    { path: 'site/newsletter.less', deps: ['site/site.less'] },
    { path: 'site/catalogue.less', deps: ['site/site.less'] },
    { path: 'site/catalogue.js', deps: ['site/site.js', 'site/catalogue.less'] },
    { path: 'admin/editor.less', deps: ['site/site.less'], bundle: 'admin' },
    { path: 'admin/editor.js', deps: ['site/site.js', 'admin/editor.less'], bundle: 'admin' },
  ],
});
