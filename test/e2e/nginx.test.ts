import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import type { Manifest } from '../../src';
import { defineAssets } from '../../src';
import { CLI, cli, ensureDist, REPO, siteWithModule } from '../dist';
import { tempDir, writeFiles } from '../helpers';
import { startNginx } from '../nginx';
import type { RunningNginx } from '../nginx';
import { nodeBinary } from '../runtimes';
import { siteOptions } from '../site';

/**
 * `asset-registry nginx` against Debian's nginx: every file of a build with two releases (so
 * that dcz and dcb bodies exist) is asked for through nginx and through the middleware with the same
 * request headers, and both must answer alike. nginx stands in front of the app, as deployed:
 * it serves publicPath's path from outDir and passes everything else to the app.
 */

const run = promisify(execFile);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * node:http with nothing added: no Accept-Encoding of its own, no decoding, and the target sent
 * as written (a URL string would lose its `..` segments on the client).
 */
function fetch(
  origin: string,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  const { hostname, port } = new URL(origin);
  const options = { hostname, port, path: target, method, headers, agent: false };
  return new Promise((resolve, reject) => {
    const request = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

/** What must be equal; ETag values may differ (nginx makes its own). */
const COMPARED = [
  'content-type',
  'content-encoding',
  'cache-control',
  'vary',
  'use-as-dictionary',
  'access-control-allow-origin',
];
const seen = ({ status, headers, body }: Answer) => ({
  status,
  body: `${body.length} bytes, sha256 ${createHash('sha256').update(body).digest('hex')}`,
  ...Object.fromEntries(COMPARED.map((name) => [name, headers[name]])),
});

/** Builds the site in `dir` with Node.js 24, whose node:zlib makes dcz and dcb bodies. */
async function buildOn24(dir: string): Promise<void> {
  await run(nodeBinary(24), [CLI, 'build', 'assets.js'], {
    cwd: dir,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

const ENCODINGS = [
  undefined,
  'identity',
  'gzip',
  'br',
  'BR',
  'gzip, deflate, br, zstd',
  '*',
  'br;q=0, gzip',
  'gzip;q=0, *',
  'br;q=0, gzip;q=0',
  'gzip;q=0.5, br;q=0.9',
  'deflate, zstd',
];
const WITH_DCZ = 'gzip, deflate, br, zstd, dcz';
const WITH_DCB = 'gzip, deflate, br, zstd, dcb';
/** What Chromium sends with Available-Dictionary. */
const WITH_BOTH = 'gzip, deflate, br, zstd, dcb, dcz';

beforeAll(ensureDist, 120_000);

describe.each([
  ['on the app’s origin', '/assets/'],
  ['on a CDN', 'https://cdn.example.test/static/'],
])('nginx and the middleware, publicPath %s', (_label, publicPath) => {
  const prefix = new URL(publicPath, 'http://x').pathname;
  let dir: string;
  let manifest: Manifest;
  let app: http.Server;
  let appOrigin: string;
  let nginx: RunningNginx;
  /** Every name a kept build serves: bundles, maps and url() copies, old and new. */
  let names: string[];

  beforeAll(async () => {
    dir = siteWithModule({ publicPath, mode: 'production' });
    await buildOn24(dir);
    writeFiles(dir, {
      'assets/site/widgets.js': `${fs.readFileSync(path.join(dir, 'assets/site/widgets.js'))}tiny.mark('release 2');\n`,
      'assets/site/base.less': `${fs.readFileSync(path.join(dir, 'assets/site/base.less'))}.release-2 { color: red; }\n`,
    });
    await buildOn24(dir);
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'manifest.json'), 'utf8'));
    // The command on this runtime reuses the build: the dcz bodies stay.
    const made = await cli(['nginx', 'assets.js', '--out', 'nginx'], { cwd: dir });
    expect(made).toMatchObject({ code: 0, stdout: '' });

    const assets = defineAssets(siteOptions(dir, { publicPath, requirePrebuilt: true }));
    await assets.build();
    const site = express();
    site.use(assets.middleware());
    site.use((req, res) => res.status(404).type('text/plain').send(`fell through: ${req.url}`));
    app = http.createServer(site);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    nginx = await startNginx({
      http: `include ${dir}/nginx/http.conf;`,
      server: `include ${dir}/nginx/server.conf;\nlocation / {\n    proxy_pass ${appOrigin};\n}`,
    });
    names = [...new Set([...manifest.files, ...manifest.previous.flat()])]
      .filter((name) => !/\.(br|gz|dcz|dcb)$/.test(name))
      .sort();
  }, 180_000);

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((resolve) => app?.close(resolve));
  });

  /** Asks both; returns what differs (empty when all is equal) and nginx's answer. */
  async function compare(target: string, headers: Record<string, string> = {}, method = 'GET') {
    const [fromNginx, fromApp] = await Promise.all([
      fetch(nginx.origin, target, headers, method),
      fetch(appOrigin, target, headers, method),
    ]);
    const [a, b] = [seen(fromNginx), seen(fromApp)];
    const same = JSON.stringify(a) === JSON.stringify(b);
    return { differences: same ? [] : [{ method, target, headers, nginx: a, app: b }], fromNginx };
  }

  async function compareAll(
    requests: [string, Record<string, string>, string?][],
  ): Promise<unknown[]> {
    const differences: unknown[] = [];
    // A few at a time: loopback servers refuse a thousand connections at once.
    for (let i = 0; i < requests.length; i += 16) {
      const batch = requests.slice(i, i + 16).map((args) => compare(...args));
      for (const result of await Promise.all(batch)) differences.push(...result.differences);
    }
    return differences;
  }

  const dictionaryOf = (file: string) =>
    `:${createHash('sha256')
      .update(fs.readFileSync(path.join(dir, 'out', file)))
      .digest('base64')}:`;

  test('the build has what the comparison needs: two releases, dcz and dcb, lone twins', () => {
    expect(manifest.previous).toHaveLength(1);
    const withDcz = manifest.bundles.filter((bundle) => bundle.dictionaries?.length);
    expect(withDcz.map((bundle) => bundle.id).sort()).toEqual(['main.css', 'main.js']);
    const entries = withDcz.flatMap((bundle) => bundle.dictionaries!);
    expect(entries.filter((entry) => entry.dcb)).toHaveLength(2);
    // A tiny bundle whose twins are no smaller than it, and a copy with a .br twin only.
    expect(names.some((name) => name.startsWith('admin.') && name.endsWith('.js'))).toBe(true);
    expect(manifest.files.some((name) => name.endsWith('.eot.br'))).toBe(true);
    expect(manifest.files.some((name) => name.endsWith('.eot.gz'))).toBe(false);
  });

  test('every file, every Accept-Encoding, GET and HEAD: the same answers, from nginx', async () => {
    const requests: [string, Record<string, string>, string][] = [];
    for (const name of names) {
      for (const accept of ENCODINGS) {
        for (const method of ['GET', 'HEAD']) {
          requests.push([prefix + name, accept ? { 'Accept-Encoding': accept } : {}, method]);
        }
      }
    }
    expect(await compareAll(requests)).toEqual([]);
    // nginx answered them itself: nothing came through from the app.
    const main = manifest.bundles.find((bundle) => bundle.id === 'main.js')!;
    const { fromNginx } = await compare(prefix + main.file, { 'Accept-Encoding': 'br' });
    expect(fromNginx.headers['x-powered-by']).toBeUndefined();
    expect(fromNginx.headers['content-encoding']).toBe('br');
  });

  test('dcz and dcb: the body for a kept older version named in Available-Dictionary', async () => {
    const requests: [string, Record<string, string>][] = [];
    const dcz: string[] = [];
    for (const bundle of manifest.bundles) {
      const older = manifest.previous
        .flat()
        .filter((file) => file !== bundle.file && file.startsWith(`${bundle.group}.`))
        .filter((file) => file.endsWith(`.${bundle.kind}`));
      for (const file of [bundle.file, ...older]) {
        for (const dictionary of older.map(dictionaryOf)) {
          const ask = (headers: Record<string, string>) =>
            requests.push([prefix + file, { 'Available-Dictionary': dictionary, ...headers }]);
          if (file === bundle.file) dcz.push(prefix + file);
          ask({ 'Accept-Encoding': WITH_DCZ });
          ask({ 'Accept-Encoding': WITH_DCB });
          ask({ 'Accept-Encoding': WITH_BOTH });
          ask({ 'Accept-Encoding': 'dcz, dcb' });
          ask({ 'Accept-Encoding': 'dcz' });
          ask({ 'Accept-Encoding': 'dcb' });
          ask({ 'Accept-Encoding': 'dcb;q=0, *' });
          ask({ 'Accept-Encoding': 'br, dcz;q=0, dcb' });
          ask({ 'Accept-Encoding': WITH_BOTH, 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Site': 'cross-site' }); // prettier-ignore
          ask({ 'Accept-Encoding': '*' });
          ask({ 'Accept-Encoding': 'gzip, br' }); // dcz not accepted
          ask({ 'Accept-Encoding': 'dcz;q=0, *' });
          ask({ 'Accept-Encoding': WITH_DCZ, 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Site': 'cross-site' }); // prettier-ignore
          ask({ 'Accept-Encoding': WITH_DCZ, 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Site': 'same-origin' }); // prettier-ignore
          ask({ 'Accept-Encoding': WITH_DCZ, 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Site': 'cross-site' }); // prettier-ignore
          ask({ 'Accept-Encoding': WITH_DCZ, 'Available-Dictionary': dictionary.toLowerCase() });
          ask({ 'Accept-Encoding': WITH_DCZ, 'Available-Dictionary': dictionary.slice(1, -1) });
          ask({ 'Accept-Encoding': WITH_DCZ, 'Available-Dictionary': ` ${dictionary} ` });
        }
        const unknown = `:${createHash('sha256').update('no such dictionary').digest('base64')}:`;
        requests.push([prefix + file, { 'Accept-Encoding': WITH_DCZ, 'Available-Dictionary': unknown }]); // prettier-ignore
      }
    }
    expect(dcz).toHaveLength(2);
    expect(await compareAll(requests)).toEqual([]);
    for (const target of dcz) {
      const older = requests.find(([file]) => file === target)![1]['Available-Dictionary'];
      const bundle = manifest.bundles.find((each) => prefix + each.file === target)!;
      const [entry] = bundle.dictionaries!;
      const smaller = entry.dcb!.bytes < entry.bytes ? 'dcb' : 'dcz';
      for (const [accept, coding] of [
        [WITH_DCZ, 'dcz'],
        [WITH_DCB, 'dcb'],
        [WITH_BOTH, smaller],
      ]) {
        const headers = { 'Accept-Encoding': accept, 'Available-Dictionary': older };
        const { fromNginx } = await compare(target, headers);
        expect(fromNginx.headers['content-encoding']).toBe(coding);
        expect(fromNginx.headers.vary).toBe('Accept-Encoding, Available-Dictionary');
      }
    }
  });

  test('If-None-Match: each server answers 304 to its own ETag, and alike', async () => {
    const main = manifest.bundles.find((bundle) => bundle.id === 'main.js')!;
    const dictionary = dictionaryOf(main.dictionaries![0].from);
    const variants: Record<string, string>[] = [
      ...ENCODINGS.slice(0, 4).map((accept): Record<string, string> =>
        accept ? { 'Accept-Encoding': accept } : {},
      ),
      { 'Accept-Encoding': WITH_DCZ, 'Available-Dictionary': dictionary },
      { 'Accept-Encoding': WITH_DCB, 'Available-Dictionary': dictionary },
    ];
    const differences: unknown[] = [];
    for (const name of names) {
      for (const headers of variants) {
        const target = prefix + name;
        const etags = await Promise.all(
          [nginx.origin, appOrigin].map(async (origin) => {
            const { headers: got } = await fetch(origin, target, headers);
            expect(got.etag).toMatch(/^"[^"]+"$/); // strong
            return got.etag!;
          }),
        );
        for (const [origin, etag] of [nginx.origin, appOrigin].map((o, i) => [o, etags[i]])) {
          for (const match of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
            for (const method of ['GET', 'HEAD']) {
              const conditional = { ...headers, 'If-None-Match': match };
              const answer = await fetch(origin, target, conditional, method);
              if (answer.status !== 304 || answer.body.length) {
                differences.push({ origin, target, conditional, status: answer.status });
              }
            }
          }
        }
        const [fromNginx, fromApp] = await Promise.all(
          [nginx.origin, appOrigin].map((origin, i) =>
            fetch(origin, target, { ...headers, 'If-None-Match': etags[i] }),
          ),
        );
        if (JSON.stringify(seen(fromNginx)) !== JSON.stringify(seen(fromApp))) {
          differences.push({ target, headers, nginx: seen(fromNginx), app: seen(fromApp) });
        }
      }
    }
    expect(differences).toEqual([]);
    // Another representation's ETag is not a match.
    const br = await fetch(nginx.origin, prefix + main.file, { 'Accept-Encoding': 'br' });
    const identity = { 'If-None-Match': br.headers.etag! };
    expect((await fetch(nginx.origin, prefix + main.file, identity)).status).toBe(200);
  });

  test('manifest.json, .cache, temporary files, unknown names and traversal: 404 alike', async () => {
    const out = path.join(dir, 'out');
    const main = manifest.bundles.find((bundle) => bundle.id === 'main.js')!.file;
    const cached = fs.readdirSync(path.join(out, '.cache'))[0];
    const temporary = `${main}.4242.0123456789ab.tmp`;
    fs.writeFileSync(path.join(out, temporary), 'half-written');
    const outside = 'vendor/tiny-lib.js';
    const targets = [
      'manifest.json',
      '.cache',
      `.cache/${cached}`,
      temporary,
      '',
      'main.js',
      'nothing.js',
      `${main}.br`,
      `${main}.gz`,
      `${main}.${manifest.previous[0][0].split('.')[1]}.dcz`,
      `${main}.${manifest.previous[0][0].split('.')[1]}.dcb`,
      ...manifest.bundles
        .flatMap((bundle) => bundle.dictionaries ?? [])
        .flatMap((entry) => [entry.file, entry.dcb!.file]),
      main.toUpperCase(),
      `${main}/`,
      `./${main}`,
      `/${main}`,
      `x/../${main}`,
      `%2e/${main}`,
      main.replace('.js', '%2ejs'),
      `../${outside}`,
      `..%2f${outside}`,
      `%2e%2e/${outside}`,
      `%2E%2E%2F${outside.replace('/', '%2F')}`,
      `..\\${outside.replace('/', '\\')}`,
      `....//${outside}`,
      `../assets/site/base.less`,
      `${main}?v=2`,
      `?${main}`,
    ].map((target) => prefix + target);
    const requests = targets.flatMap((target): [string, Record<string, string>, string][] => [
      [target, {}, 'GET'],
      [target, { 'Accept-Encoding': 'br, gzip' }, 'GET'],
      [target, {}, 'HEAD'],
      [target, {}, 'POST'],
    ]);
    expect(await compareAll(requests)).toEqual([]);
    const statuses = await Promise.all(targets.map((t) => fetch(nginx.origin, t)));
    expect(statuses.filter((answer) => answer.status === 404)).toHaveLength(targets.length - 1);
    // nginx's own internal locations are not reachable from outside.
    const internal = await fetch(nginx.origin, `/.asset-registry${prefix}identity/manifest.json`);
    expect(internal.status).toBe(404);
  });

  test('other methods: 405 with Allow for a served name, 404 for any other', async () => {
    const main = manifest.bundles.find((bundle) => bundle.id === 'main.js')!.file;
    const requests: [string, Record<string, string>, string][] = ['POST', 'PUT', 'DELETE'].flatMap(
      (method): [string, Record<string, string>, string][] => [
        [prefix + main, {}, method],
        [`${prefix}nothing.js`, {}, method],
      ],
    );
    expect(await compareAll(requests)).toEqual([]);
    const answer = await fetch(nginx.origin, prefix + main, {}, 'POST');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
  });

  /**
   * What nginx 1.22 answers otherwise, pinned so that a change shows: it rejects a path that
   * climbs above the root, or holds an encoded NUL, with 400 before any configuration runs (the
   * middleware says 404); and it takes br over gzip whenever both are accepted, where the
   * middleware follows q-values (no browser sends them so).
   */
  test('where nginx answers otherwise, and how', async () => {
    const main = manifest.bundles.find((bundle) => bundle.id === 'main.js')!.file;
    for (const target of [`${prefix}../../package.json`, `${prefix}${main}%00`]) {
      expect((await fetch(nginx.origin, target)).status).toBe(400);
      expect((await fetch(appOrigin, target)).status).toBe(404);
    }
    const accept = { 'Accept-Encoding': 'br;q=0.5, gzip' };
    expect((await fetch(nginx.origin, prefix + main, accept)).headers['content-encoding']).toBe(
      'br',
    );
    expect((await fetch(appOrigin, prefix + main, accept)).headers['content-encoding']).toBe(
      'gzip',
    );
  });
});

/** docs/deployment.md shows the command's output for its example; this makes and checks it. */
describe('docs/deployment.md', () => {
  const DOCS = path.join(REPO, 'docs', 'deployment.md');
  const MARK = '<!-- asset-registry nginx output: checked by test/e2e/nginx.test.ts -->';
  const EXAMPLE_DIR = '/srv/app';

  test('its nginx configuration is what `asset-registry nginx` prints for its example', async () => {
    const dir = tempDir('nginx-docs-');
    writeFiles(dir, {
      'app/assets.js': `const path = require('node:path');
const { defineAssets } = require(${JSON.stringify(path.join(REPO, 'dist', 'index.js'))});
exports.assets = defineAssets({
  root: path.join(__dirname, '..', 'src'),
  outDir: path.join(__dirname, '..', 'public', 'gen'),
  publicPath: '/assets/',
  assets: ['site/app.js', 'site/app.css'],
});
`,
      'src/site/app.js': 'document.documentElement.classList.add("js");\n',
      'src/site/app.css': 'body { margin: 0; font: 16px/1.5 system-ui, sans-serif; }\n',
    });
    await run(nodeBinary(24), [CLI, 'build', 'app/assets.js'], { cwd: dir });
    writeFiles(dir, {
      'src/site/app.js': 'document.documentElement.classList.add("js", "release-2");\n',
    });
    await run(nodeBinary(24), [CLI, 'build', 'app/assets.js'], { cwd: dir });
    const { code, stdout } = await cli(['nginx', 'app/assets.js'], { cwd: dir });
    expect(code).toBe(0);
    const printed = stdout
      .replaceAll(fs.realpathSync(dir), EXAMPLE_DIR)
      .replaceAll(dir, EXAMPLE_DIR);
    const docs = fs.readFileSync(DOCS, 'utf8');
    const at = docs.indexOf(MARK);
    expect(at).toBeGreaterThan(-1);
    const block = /```nginx\n([\s\S]*?)```\n/.exec(docs.slice(at));
    if (process.env.UPDATE_DOCS && block) {
      const start = at + block.index + '```nginx\n'.length;
      fs.writeFileSync(DOCS, docs.slice(0, start) + printed + docs.slice(start + block[1].length));
      return;
    }
    expect(block?.[1]).toBe(printed);
  }, 120_000);
});
