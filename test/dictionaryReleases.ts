/**
 * Releases of a small site (jQuery, an app script, a stylesheet) built into one outDir by
 * `asset-registry build` on a chosen Node.js, as deploys would be, and served by this process's
 * middleware from what they wrote: the dictionary tests need builds from runtimes whose node:zlib
 * can (or cannot) compress against a dictionary, whatever runtime runs jest.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import type { Express } from 'express';
import { defineAssets } from '../src';
import type { AssetOptions } from '../src';
import type { AssetRegistry } from '../src/assets';
import { CLI, writeRegistryModule } from './dist';
import { NODE_MODULES, tempDir, writeFiles } from './helpers';
import { nodeBinary } from './runtimes';

const run = promisify(execFile);

export interface Release {
  /** The jQuery devDependency: `3.6.4` or `3.7.1`. */
  jquery: string;
  /** What the app script writes into the page. */
  text: string;
  css?: string;
}

const optionsOf = ({ jquery }: Release) => {
  const jq = `jquery-${jquery}/dist/jquery.js`;
  return {
    mode: 'production' as const,
    assets: [jq, { path: 'site/app.js', deps: [jq, 'site/app.css'] }, 'site/app.css'],
  };
};

/** A fresh site folder; {@link buildRelease} builds releases into its `out`. */
export const siteFolder = (): string => tempDir('dictionary-site-');

/**
 * Writes `release` into `dir` and builds it with `asset-registry build` on Node.js `major`.
 * Resolves with what the build printed (its size table).
 */
export async function buildRelease(dir: string, major: number, release: Release): Promise<string> {
  writeFiles(dir, {
    'src/site/app.js':
      `document.getElementById('out').textContent = jQuery.fn.jquery + ' ' + ` +
      `${JSON.stringify(release.text)};\n`,
    'src/site/app.css': release.css ?? 'body { color: #123456; }\n',
  });
  writeRegistryModule(path.join(dir, 'assets.js'), {
    root: ['src', path.relative(dir, NODE_MODULES)],
    outDir: 'out',
    ...optionsOf(release),
  });
  const env = { ...process.env, JEST_WORKER_ID: undefined, NODE_ENV: 'production' };
  const { stdout } = await run(nodeBinary(major), [CLI, 'build', 'assets.js'], { cwd: dir, env });
  return stdout;
}

/** The registry of the release last built in `dir`, as the app starts it: from disk. */
export async function startRelease(dir: string, release: Release): Promise<AssetRegistry> {
  const options: AssetOptions = {
    root: [path.join(dir, 'src'), NODE_MODULES],
    outDir: path.join(dir, 'out'),
    requirePrebuilt: true,
    logger: false,
    ...optionsOf(release),
  };
  const assets = defineAssets(options);
  await assets.build();
  return assets;
}

/** A page that needs the app script, with tags carrying SRI, and the middleware serving. */
export function page(assets: AssetRegistry): Express {
  const app = express();
  app.use(assets.middleware());
  app.get('/', (_req, res) => {
    res.requireAssets('site/app.js');
    res.send(
      `<!doctype html><html><head><link rel="icon" href="data:,">${res.locals.assetTags('css')}` +
        `</head><body><div id="out"></div>${res.locals.assetTags('js')}</body></html>`,
    );
  });
  return app;
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET through a real socket, with nothing added or decoded by the client. */
export function rawGet(app: Express, url: string, headers: Record<string, string>) {
  return new Promise<RawAnswer>((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      http
        .get({ host: '127.0.0.1', port, path: url, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            server.close();
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) });
          });
        })
        .on('error', reject);
    });
  });
}

export const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** `Available-Dictionary` naming a file of `dir/out`. */
export const availableDictionary = (dir: string, file: string): string =>
  `:${sha256(fs.readFileSync(path.join(dir, 'out', file))).toString('base64')}:`;
