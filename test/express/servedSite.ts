import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import type express5 from 'express';
import type { Express as App } from 'express';
import { defineAssets } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { appWith, SITE_ASSETS, SITE_FILES } from '../app';
import { tempDir, writeFiles } from '../helpers';

/**
 * What the serving tests share: the test site with url() copies, built and served on a real
 * port, the raw client that reads what the server sent, and where the site's files are.
 */

/**
 * Requests go through node:http, not supertest: superagent sends `Accept-Encoding: gzip, deflate`
 * unless told otherwise, decompresses bodies, and resolves `..` in paths, all of which would
 * hide what the server really sent.
 */
interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Listening {
  fetch(url: string, headers?: http.OutgoingHttpHeaders, method?: string): Promise<Raw>;
  close(): Promise<void>;
}

export async function listen(app: App): Promise<Listening> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    fetch: (url, headers = {}, method = 'GET') =>
      new Promise<Raw>((resolve, reject) => {
        const options = { host: '127.0.0.1', port, path: url, method, headers, agent: false };
        const req = http.request(options, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        });
        req.on('error', reject);
        req.end();
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const WORDS = Array.from({ length: 120 }, (_, i) => `word${i}`);

/** The test site plus a stylesheet whose `url()`s reach a font (stored as is) and an SVG. */
async function siteWithCopies(): Promise<AssetRegistry> {
  const root = tempDir();
  writeFiles(root, {
    ...SITE_FILES,
    // Big enough that both twins are smaller than the bundle.
    'vendor/lib.js': `window.lib = { version: 1, words: ${JSON.stringify(WORDS)} };\n`,
    'site/fonts/icons.woff2': Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 131) % 256)),
    'site/img/logo.svg': `<svg xmlns="http://www.w3.org/2000/svg">${'<rect width="1" height="1"/>'.repeat(40)}</svg>\n`,
    'site/icons.less':
      '@font-face { font-family: icons; src: url("fonts/icons.woff2") format("woff2"); }\n' +
      '.logo { background: url(img/logo.svg) no-repeat; }\n',
  });
  const assets = defineAssets({
    root,
    outDir: `${root}/out`,
    assets: [...SITE_ASSETS, { path: 'site/icons.less', deps: ['site/base.less'] }],
    mode: 'production',
  });
  await assets.build();
  return assets;
}

export const pathOf = (url: string) => new URL(url, 'http://localhost').pathname;

export const DECODERS: Record<string, (data: Buffer) => Buffer> = {
  br: (data) => zlib.brotliDecompressSync(data),
  gzip: (data) => zlib.gunzipSync(data),
};

/**
 * The site with copies, built and served under `express`: its routes after the middleware answer
 * /later, and anything else with "fell through: <url>".
 */
export async function servedSite(
  express: typeof express5,
): Promise<{ assets: AssetRegistry; server: Listening }> {
  const assets = await siteWithCopies();
  const app = appWith(express, assets);
  app.get('/later', (_req, res) => res.send('a later route'));
  app.use((req, res) => res.status(404).send(`fell through: ${req.url}`));
  return { assets, server: await listen(app) };
}

/** Where the served site's bundles and url() copies are, and their bytes on disk. */
export function siteFiles(site: () => AssetRegistry) {
  const bundle = (id: string) => site().current.bundles.find((b) => b.id === id)!;
  const onDisk = (file: string) => fs.readFileSync(path.join(site().options.outDir, file));
  const copyOf = (source: string) =>
    Object.keys(site().current.manifest.copies).find(
      (name) => site().current.manifest.copies[name] === source,
    )!;
  return { bundle, onDisk, copyOf };
}
