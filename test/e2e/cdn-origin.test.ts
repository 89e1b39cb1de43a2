import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import type { ManifestBundle } from '../../src';
import { defineAssets } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { launchChromium } from '../chromium';
import { CLI, cli, ensureDist, REPO, writeRegistryModule } from '../dist';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';
import { startNginx } from '../nginx';
import type { RunningNginx } from '../nginx';
import { nodeBinary } from '../runtimes';

/**
 * nginx as the CDN origin, in Chromium: the app renders pages whose tags point at nginx's origin
 * (`publicPath` on another loopback port) and serves no bundles (`serve: false`); nginx serves
 * outDir with the configuration `asset-registry nginx` wrote. A deploy is a build, the
 * configuration made again, an nginx reload and the app restarted on the new build. Builds on
 * Node.js 22 make dcz bodies only; on 24 they make dcb too, and the smaller one is served.
 */

const run = promisify(execFile);

/** What nginx logs of each request, one field a word ("-" for an empty one). */
const LOG_FORMAT =
  "log_format origin '$request_uri $status $sent_http_content_encoding $http_available_dictionary';";

/** nginx's configuration as an origin: the generated files, nothing else for the bundles. */
const originHttp = (dir: string) => `include ${dir}/nginx/http.conf;`;
const originServer = (dir: string) => `include ${dir}/nginx/server.conf;`;

test('docs/deployment.md shows the origin configuration this test runs', () => {
  const docs = fs.readFileSync(path.join(REPO, 'docs', 'deployment.md'), 'utf8');
  expect(docs).toContain(
    `http {\n    ${originHttp('/srv/app')}\n    server {\n        listen 127.0.0.1:8081;\n` +
      `        ${originServer('/srv/app')}\n    }\n}\n`,
  );
  expect(docs).toMatch(/publicPath: 'http:\/\/127\.0\.0\.1:8081\/assets\/'.*\n {2}serve: false,/);
});

interface Logged {
  url: string;
  status: string;
  encoding: string;
  dictionary: string;
}

beforeAll(ensureDist, 120_000);

describe.each([
  [22, 'dcz'],
  [24, 'dcb or dcz, the smaller'],
])('nginx as the CDN origin, builds on Node.js %i: %s', (major) => {
  let dir: string;
  let nginx: RunningNginx;
  let app: http.Server;
  let current: AssetRegistry;

  const options = (publicPath: string) => ({
    mode: 'production' as const,
    publicPath,
    serve: false,
    assets: [
      'jquery-3.7.1/dist/jquery.js',
      { path: 'site/app.js', deps: ['jquery-3.7.1/dist/jquery.js', 'site/app.css'] },
      'site/app.css',
    ],
  });

  /** A deploy: one line of app.js changed, built, nginx configured and reloaded, app restarted. */
  async function deploy(release: string): Promise<void> {
    writeFiles(dir, {
      'src/site/app.js': `document.getElementById('out').textContent = jQuery.fn.jquery + ${JSON.stringify(` ${release}`)};\n`,
    });
    const env = { ...process.env, JEST_WORKER_ID: undefined, NODE_ENV: 'production' };
    await run(nodeBinary(major), [CLI, 'build', 'assets.js'], { cwd: dir, env });
    expect(await cli(['nginx', 'assets.js', '--out', 'nginx'], { cwd: dir })).toMatchObject({
      code: 0,
    });
    await nginx.reload();
    const started = defineAssets({
      ...options(`${nginx.origin}/assets/`),
      root: [path.join(dir, 'src'), NODE_MODULES],
      outDir: path.join(dir, 'out'),
      requirePrebuilt: true,
      logger: false,
    });
    await started.build();
    current = started;
  }

  const mainJs = (): ManifestBundle => current.current.bundles.find((b) => b.id === 'main.js')!;

  /** nginx's access log, one entry a request, oldest first. */
  function logged(): Logged[] {
    const log = path.join(nginx.prefix, 'logs', 'origin.log');
    if (!fs.existsSync(log)) return [];
    return fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [url, status, encoding, dictionary] = line.split(' ');
        return { url, status, encoding, dictionary };
      });
  }

  beforeAll(async () => {
    dir = tempDir('cdn-origin-');
    // nginx runs before the first deploy, as an origin does: each deploy brings its files.
    writeFiles(dir, { 'nginx/http.conf': '', 'nginx/server.conf': '' });
    nginx = await startNginx({
      http: `${LOG_FORMAT}\n${originHttp(dir)}`,
      server: `access_log logs/origin.log origin;\n${originServer(dir)}`,
    });
    writeRegistryModule(path.join(dir, 'assets.js'), {
      root: ['src', path.relative(dir, NODE_MODULES)],
      outDir: 'out',
      ...options(`${nginx.origin}/assets/`),
    });
    writeFiles(dir, { 'src/site/app.css': '#out { color: #123456; }\n' });
    await deploy('release one');
    const site = express();
    site.use((req, res, next) => current.middleware()(req, res, next));
    site.get('/', (_req, res) => {
      res.requireAssets('site/app.js');
      res.send(
        `<!doctype html><html><head><link rel="icon" href="data:,">${res.locals.assetTags('css')}` +
          `</head><body><div id="out"></div>${res.locals.assetTags('js')}</body></html>`,
      );
    });
    app = http.createServer(site);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  }, 180_000);

  afterAll(async () => {
    await new Promise((resolve) => app?.close(resolve));
    await nginx?.stop();
  });

  test('pages load with SRI from nginx, each bundle once; after a deploy the new bundle comes against the old one, smaller than brotli', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      tab.on('pageerror', (error) => errors.push(error.message));
      const cdp = await context.newCDPSession(tab);
      await cdp.send('Network.enable');
      const urls = new Map<string, string>();
      const onWire = new Map<string, number>();
      cdp.on('Network.requestWillBeSent', (event) => urls.set(event.requestId, event.request.url));
      cdp.on('Network.loadingFinished', (event) => {
        onWire.set(urls.get(event.requestId)!, event.encodedDataLength);
      });
      // 127.0.0.1 is a secure context, which dictionaries need. The page and nginx share a site
      // (ports do not count), as www. and cdn. of one domain do: with the page on localhost,
      // cross-site, this Chromium profile sent no Available-Dictionary and got brotli.
      const page = `http://127.0.0.1:${(app.address() as AddressInfo).port}/`;

      await tab.goto(page);
      expect(await tab.textContent('#out')).toBe('3.7.1 release one');
      const first = current.current.bundles;
      const tags = await tab.$$eval('script[integrity], link[integrity]', (elements) =>
        elements.map((e) => ({
          url: e.getAttribute('src') ?? e.getAttribute('href'),
          integrity: e.getAttribute('integrity'),
          crossorigin: e.getAttribute('crossorigin'),
        })),
      );
      expect(tags.sort((x, y) => x.url!.localeCompare(y.url!))).toEqual(
        first
          .map(({ url, integrity }) => ({ url, integrity, crossorigin: 'anonymous' }))
          .sort((x, y) => x.url.localeCompare(y.url)),
      );
      const fetchedOnce = first.map(({ file }) => ({ url: `/assets/${file}`, times: 1 }));
      const times = (url: string) => logged().filter((entry) => entry.url === url).length;
      expect(first.map(({ file }) => ({ url: `/assets/${file}`, times: times(`/assets/${file}`) }))).toEqual(fetchedOnce); // prettier-ignore

      const old = mainJs();
      await deploy('release two');
      const fresh = mainJs();
      expect(fresh.file).not.toBe(old.file);
      await tab.goto(page);
      expect(await tab.textContent('#out')).toBe('3.7.1 release two');
      expect(await tab.getAttribute('script[integrity]', 'integrity')).toBe(fresh.integrity);
      expect(errors).toEqual([]);

      const [entry] = fresh.dictionaries!;
      const smaller = entry.dcb && entry.dcb.bytes < entry.bytes ? 'dcb' : 'dcz';
      const oldHash = createHash('sha256').update(fs.readFileSync(path.join(dir, 'out', old.file)));
      const served = logged().filter((each) => each.url === `/assets/${fresh.file}`);
      expect(served).toEqual([
        {
          url: `/assets/${fresh.file}`,
          status: '200',
          encoding: major === 22 ? 'dcz' : smaller,
          dictionary: `:${oldHash.digest('base64')}:`,
        },
      ]);
      // The stylesheet did not change: the browser's cache answered, nginx was not asked again.
      const css = first.find((bundle) => bundle.kind === 'css')!;
      expect(times(`/assets/${css.file}`)).toBe(1);
      // Bytes on the wire, headers included, against the brotli body alone.
      const wire = onWire.get(fresh.url)!;
      expect(wire).toBeGreaterThan(0);
      expect(wire).toBeLessThan(fresh.sizes.brotli / 10);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
