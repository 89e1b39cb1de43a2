import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express as App } from 'express';
import request from 'supertest';
import type { AssetRegistry } from '../../src/assets';
import { appWith, builtSite, EXPRESSES } from '../app';
import { middlewareApps } from './middlewareApps';

/**
 * Link preload headers for the bundles a page required, and with earlyHints, a 103 Early Hints
 * response before the page.
 */

describe.each(EXPRESSES)('middleware under %s', (_label, express) => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite();
  });
  const { bundle, page, tagsPage } = middlewareApps(_label, express, () => assets);

  describe('preload and Early Hints', () => {
    test('a page that required assets sends Link preload headers, styles first', async () => {
      const response = await request(tagsPage('site/widgets.js')).get('/').expect(200);
      expect(response.headers.link).toBe(
        `<${bundle('main.css').url}>; rel=preload; as=style; integrity="${bundle('main.css').integrity}", ` +
          `<${bundle('main.js').url}>; rel=preload; as=script; integrity="${bundle('main.js').integrity}"`,
      );
    });

    test('a streamed page ended with res.send() ends as Express ends it, without a Link header', async () => {
      const app = page((_req, res) => {
        res.requireAssets('site/widgets.js');
        res.write('hello ');
        res.send();
      });
      const response = await request(app).get('/').expect(200);
      expect(response.text).toBe('hello ');
      expect(response.headers.link).toBeUndefined();
    });

    test("an app's own Link header is kept as it set it", async () => {
      const own = '<https://cdn.example>; rel=preconnect';
      const app = page((_req, res) => {
        res.set('Link', own);
        res.requireAssets('site/widgets.js');
        res.send(res.locals.assetTags('js'));
      });
      const response = await request(app).get('/').expect(200);
      expect(response.headers.link).toBe(own);
      expect(response.text).toContain(bundle('main.js').url);
    });

    test('a page that required nothing sends no Link header', async () => {
      const response = await request(page((_req, res) => res.send('plain'))).get('/');
      expect(response.headers.link).toBeUndefined();
    });

    async function informational(app: App, url = '/') {
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        return await new Promise<{ hints: string[]; events: string[]; body: string }>(
          (resolve, reject) => {
            const hints: string[] = [];
            const events: string[] = [];
            const req = http.get({ host: '127.0.0.1', port, path: url }, (res) => {
              events.push(`${res.statusCode}`);
              let body = '';
              res.on('data', (chunk) => (body += chunk));
              res.on('end', () => resolve({ hints, events, body }));
            });
            req.on('information', (info) => {
              events.push(`${info.statusCode}`);
              hints.push(String(info.headers.link));
            });
            req.on('error', reject);
          },
        );
      } finally {
        server.close();
      }
    }

    test('with earlyHints, a handler that required assets sends a 103 before the page', async () => {
      const hinted = await builtSite({ earlyHints: true });
      const app = appWith(express, hinted);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        res.requireAssets('vendor/lib.js');
        setTimeout(() => res.send(res.locals.assetTags('js')), 150); // slow work
      });
      const { hints, events } = await informational(app);
      expect(events).toEqual(['103', '200']);
      expect(hints).toHaveLength(1);
      expect(hints[0]).toMatch(
        /main\.[0-9a-f]{12}\.css>; rel=preload; as=style.*main\.[0-9a-f]{12}\.js>; rel=preload; as=script/,
      );
    });

    test('without earlyHints (the default), no 103 is sent', async () => {
      const app = appWith(express, assets);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js');
        setTimeout(() => res.send('done'), 50);
      });
      const { events } = await informational(app);
      expect(events).toEqual(['200']);
    });

    test('assets.needs() declares needs and hints before the handler runs', async () => {
      const hinted = await builtSite({ earlyHints: true });
      const app = appWith(express, hinted);
      app.get('/editor', hinted.needs('admin/editor.js'), (_req, res) => {
        setTimeout(() => res.send(res.locals.assetTags('js')), 150);
      });
      const { hints, events, body } = await informational(app, '/editor');
      expect(events).toEqual(['103', '200']);
      expect(hints[0]).toContain('admin.');
      expect(body).toContain('admin.');
      expect(() => hinted.needs('admin/editr.js')).toThrow(/admin\/editor\.js/);
    });
  });
});
