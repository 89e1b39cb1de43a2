import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { defineAssets } from '../../src';
import { appWith, builtSite, EXPRESSES, SITE_ASSETS, SITE_FILES } from '../app';
import { tempDir, writeFiles } from '../helpers';
import { pathOf } from './servedSite';

/**
 * Serving across releases and set-ups: older builds kept on disk, builds another process wrote
 * into the same outDir, `serve: false`, and a CDN pulling from publicPath's URL path.
 */

describe.each(EXPRESSES)('serving under %s', (_label, express) => {
  describe('older builds', () => {
    test('files of the kept older builds are served; those past keepVersions are 404', async () => {
      const root = tempDir();
      writeFiles(root, SITE_FILES);
      const site = defineAssets({
        root,
        outDir: `${root}/out`,
        assets: SITE_ASSETS,
        mode: 'production',
      });
      const app = appWith(express, site);
      const rebuild = async (version: number) => {
        writeFiles(root, { 'site/widgets.js': `window.widgets = lib.version + ${version};\n` });
        await site.build();
        const { file, url } = site.current.bundles.find((b) => b.id === 'main.js')!;
        return { file, url, body: fs.readFileSync(path.join(`${root}/out`, file)) };
      };
      const first = await rebuild(1);
      const second = await rebuild(2);
      expect(second.url).not.toBe(first.url);
      for (const { url, body } of [first, second]) {
        const response = await request(app).get(pathOf(url)).expect(200);
        expect(Buffer.from(response.text).equals(body)).toBe(true);
        await request(app).head(pathOf(url)).set('Accept-Encoding', 'br').expect(200);
      }
      await rebuild(3); // keepVersions is 3: the first build is still kept
      await request(app).get(pathOf(first.url)).expect(200);
      await rebuild(4);
      await request(app).get(pathOf(first.url)).expect(404);
      await request(app).get(pathOf(second.url)).expect(200);
    });
  });

  describe('builds another process wrote into the same outDir', () => {
    test('a name the manifest on disk lists is served, one read of it a second at most', async () => {
      const outDir = path.join(tempDir(), 'out');
      const registry = (version: number) => {
        const root = tempDir();
        writeFiles(root, {
          ...SITE_FILES,
          'site/widgets.js': `window.widgets = lib.version + ${version};\n`,
        });
        return defineAssets({ root, outDir, assets: SITE_ASSETS, mode: 'production' });
      };
      const releaseA = registry(1);
      await releaseA.build();
      const app = appWith(express, releaseA);
      const releaseB = registry(2);
      await releaseB.build();
      const newer = releaseB.current.bundles.find((b) => b.id === 'main.js')!;
      expect(releaseA.current.files.has(newer.file)).toBe(false);

      const response = await request(app).get(pathOf(newer.url)).set('Accept-Encoding', 'br');
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBe('br');
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.text).toBe(fs.readFileSync(path.join(outDir, newer.file), 'utf8'));
      // Pages of release A still point at A's bundles.
      expect(releaseA.current.bundles.map((b) => b.file)).not.toContain(newer.file);

      // A file a third build lists, right after the read: not read again within the second.
      const manifestFile = path.join(outDir, 'manifest.json');
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { files: string[] };
      const third = 'main.0123456789ab.js';
      fs.writeFileSync(path.join(outDir, third), 'window.third = 3;\n');
      manifest.files.push(third);
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      await request(app).get(`/assets/${third}`).expect(404);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await request(app).get(`/assets/${third}`).expect(200, 'window.third = 3;\n');

      // Only what the manifest lists: never itself, the compile cache or a temporary file.
      const temporary = `${newer.file}.4242.0123456789ab.tmp`;
      fs.writeFileSync(path.join(outDir, temporary), 'half');
      const cached = fs.readdirSync(path.join(outDir, '.cache'))[0];
      for (const name of ['manifest.json', `.cache/${cached}`, temporary, `${newer.file}.br`]) {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await request(app).get(`/assets/${name}`).expect(404);
      }
    });
  });

  describe('serve: false', () => {
    test('bundle URLs go to next(), and the tags still point at them', async () => {
      const unserved = await builtSite({ serve: false });
      const app = appWith(express, unserved);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        res.send(res.locals.assetTags('js'));
      });
      const main = unserved.current.bundles.find((b) => b.id === 'main.js')!;
      const page = await request(app).get('/').expect(200);
      expect(page.text).toContain(`<script src="${main.url}" defer integrity="${main.integrity}"`);
      const response = await request(app).get(pathOf(main.url)).expect(404);
      expect(response.text).toContain('Cannot GET');
    });
  });

  describe('publicPath on a CDN', () => {
    test('the app answers the CDN pulling from the URL path of publicPath', async () => {
      const cdn = await builtSite({ publicPath: 'https://cdn.example.com/static/' });
      const app = appWith(express, cdn);
      const main = cdn.current.bundles.find((b) => b.id === 'main.js')!;
      expect(main.url).toBe(`https://cdn.example.com/static/${main.file}`);
      const response = await request(app)
        .get(`/static/${main.file}`)
        .set('Accept-Encoding', 'identity')
        .expect(200);
      const body = fs.readFileSync(path.join(cdn.options.outDir, main.file));
      expect(Buffer.from(response.text).equals(body)).toBe(true);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      // The tags say crossorigin="anonymous": browsers need CORS on what the CDN passes on.
      expect(response.headers['access-control-allow-origin']).toBe('*');
      const revalidated = await request(app)
        .get(`/static/${main.file}`)
        .set('If-None-Match', response.headers.etag)
        .expect(304);
      expect(revalidated.headers['access-control-allow-origin']).toBe('*');
      await request(app)
        .get(`/assets/${main.file}`)
        .expect(404, /Cannot GET/);
      await request(app).get(`/static/../${main.file}`).expect(404);
    });
  });
});
