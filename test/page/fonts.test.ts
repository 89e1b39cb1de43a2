/**
 * `preloadFonts`: real builds of bootstrap 3's glyphicons (LESS, from node_modules), through a
 * real Express app. The preload must be the very request the stylesheet makes: same URL, CORS.
 */
import express from 'express';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { defineAssets } from '../../src';
import type { AssetOptions } from '../../src';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';
import { readOut } from '../site';

const FILES = {
  'site/icons.less':
    '@import "bootstrap/less/variables.less";\n@import "bootstrap/less/glyphicons.less";\n',
  'admin/icons.less':
    '@import "bootstrap/less/variables.less";\n@import "bootstrap/less/glyphicons.less";\n',
  'site/plain.css': '.plain { color: red; }\n',
};
const ASSETS: AssetOptions['assets'] = [
  'site/icons.less',
  { path: 'admin/icons.less', bundle: 'admin' },
  { path: 'site/plain.css', bundle: 'plain' },
];

async function builtIcons(options: Partial<AssetOptions> = {}): Promise<AssetRegistry> {
  const root = tempDir();
  outDir = `${root}/out`;
  writeFiles(root, FILES);
  const assets = defineAssets({
    root: [root, NODE_MODULES],
    outDir,
    assets: ASSETS,
    mode: 'production',
    ...options,
  });
  await assets.build();
  return assets;
}

/** A page needing `names`: its body is the css tags. */
function pageOf(assets: AssetRegistry, ...names: string[]) {
  const app = express();
  app.use(assets.middleware());
  app.get('/', (_req, res) => {
    res.requireAssets(...names);
    res.send(res.locals.assetTags('css'));
  });
  return request(app).get('/');
}

let outDir: string;

const FONT_PRELOAD = /<link rel="preload" href="([^"]+)" as="font"[^>]*>/g;

describe('preloadFonts', () => {
  describe('when true (the default)', () => {
    let assets: AssetRegistry;
    let woff2: string;
    beforeAll(async () => {
      assets = await builtIcons();
      const main = assets.current.bundles.find((bundle) => bundle.id === 'main.css')!;
      const css = readOut(outDir, main.file);
      // The URL the browser resolves the stylesheet's own woff2 reference to.
      const written = /url\("?([^")]+\.woff2)"?\)/.exec(css)![1];
      woff2 = new URL(written, `http://site.test${main.url}`).pathname;
    }, 60_000);

    test('the Link header preloads the woff2, and only it, in CORS mode, after the stylesheet', async () => {
      const response = await pageOf(assets, 'site/icons.less');
      const links = (response.headers.link as string).split(', ');
      expect(links).toHaveLength(2);
      expect(links[0]).toMatch(/rel=preload; as=style/);
      expect(links[1]).toBe(`<${woff2}>; rel=preload; as=font; type=font/woff2; crossorigin`);
    });

    test('the css tags carry the same preload, before the stylesheet', async () => {
      const { text } = await pageOf(assets, 'site/icons.less');
      expect(text.split('\n')[0]).toBe(
        `<link rel="preload" href="${woff2}" as="font" type="font/woff2" crossorigin>`,
      );
      expect([...text.matchAll(FONT_PRELOAD)].map((match) => match[1])).toEqual([woff2]);
      expect(text.split('\n')[1]).toMatch(/^<link rel="stylesheet" href="\/assets\/main\./);
    });

    test('two bundles with the same font preload it once', async () => {
      const response = await pageOf(assets, 'site/icons.less', 'admin/icons.less');
      expect(response.headers.link.match(/as=font/g)).toHaveLength(1);
      expect([...response.text.matchAll(FONT_PRELOAD)]).toHaveLength(1);
    });

    test('a bundle without fonts preloads none', async () => {
      const response = await pageOf(assets, 'site/plain.css');
      expect(response.headers.link).not.toMatch(/as=font/);
      expect(response.text).not.toMatch(/as="font"/);
      expect(assets.current.bundles.find((bundle) => bundle.id === 'plain.css')!.fonts).toEqual([]);
    });
  });

  describe('when false', () => {
    test('no font is preloaded, in the header or the tags', async () => {
      const assets = await builtIcons({ preloadFonts: false });
      const response = await pageOf(assets, 'site/icons.less');
      expect(response.headers.link).toMatch(/as=style/);
      expect(response.headers.link).not.toMatch(/as=font/);
      expect(response.text).toMatch(/rel="stylesheet"/);
      expect(response.text).not.toMatch(/as="font"/);
    }, 60_000);
  });

  describe('per asset: preloadFonts: false on an entry', () => {
    test("that stylesheet's fonts are not preloaded; another bundle's still are", async () => {
      const assets = await builtIcons({
        assets: [
          { path: 'site/icons.less', preloadFonts: false },
          { path: 'admin/icons.less', bundle: 'admin' },
        ],
      });
      const site = await pageOf(assets, 'site/icons.less');
      expect(site.headers.link).toMatch(/as=style/);
      expect(`${site.headers.link} ${site.text}`).not.toMatch(/as="?font/);
      const admin = await pageOf(assets, 'admin/icons.less');
      expect(admin.headers.link).toMatch(/as=font/);
      expect(admin.text).toMatch(/as="font"/);
    }, 60_000);

    test('a value other than true or false is a TypeError naming the entry', () => {
      const assets = [{ path: 'a.css', preloadFonts: 'no' as never }];
      expect(() => defineAssets({ root: tempDir(), outDir: tempDir(), assets })).toThrow(
        'Option "assets[0].preloadFonts" must be true or false',
      );
    });
  });

  test('a value other than true or false is a TypeError naming the option', () => {
    expect(() =>
      defineAssets({ root: tempDir(), outDir: tempDir(), assets: [], preloadFonts: 'no' as never }),
    ).toThrow('Option "preloadFonts" must be true or false');
  });
});
