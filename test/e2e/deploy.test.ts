import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import request from 'supertest';
import { defineAssets } from '../../src';
import type { Manifest } from '../../src';
import { appWith, builtSite, EXPRESSES } from '../app';
import { cli, ensureDist, node, siteWithModule, writeRegistryModule } from '../dist';
import { snapshot, tempDir } from '../helpers';
import { bundleOf, copySite, SITE_ASSETS, siteOptions } from '../site';

const SERVE = path.join(__dirname, '..', 'fixtures', 'deploy', 'serve.js');

/** What test/fixtures/deploy/serve.js prints once its build() resolved. */
interface Ready {
  reused: boolean;
  compilers: string[];
  bundles: { id: string; url: string; integrity: string }[];
  port?: number;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest;
}

const PRODUCTION = { NODE_ENV: 'production' };

beforeAll(ensureDist, 120_000);

describe('startup from a prebuilt manifest', () => {
  test('after `asset-registry build`, a server starts without loading terser, less or clean-css', async () => {
    const dir = siteWithModule({ requirePrebuilt: true });
    expect((await cli(['build', 'assets.js'], { cwd: dir })).code).toBe(0);
    const started = await node([SERVE, 'assets.js', '--exit'], { cwd: dir, env: PRODUCTION });
    expect(started.stderr).toBe('');
    const ready = JSON.parse(started.stdout) as Ready;
    expect({ reused: ready.reused, compilers: ready.compilers }).toEqual({
      reused: true,
      compilers: [],
    });
    expect(ready.bundles.map(({ url }) => url)).toEqual(
      readManifest(dir).bundles.map(({ url }) => url),
    );

    // The same check does see a compiler when the build has to compile.
    fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), "tiny.mark('v2');\n");
    writeRegistryModule(path.join(dir, 'assets.js'), {
      root: ['assets', 'vendor'],
      outDir: 'out',
      assets: SITE_ASSETS,
    });
    const compiling = await node([SERVE, 'assets.js', '--exit'], { cwd: dir, env: PRODUCTION });
    const rebuilt = JSON.parse(compiling.stdout) as Ready;
    expect(rebuilt.reused).toBe(false);
    // Only the edited script is compiled: terser loads, less and clean-css do not.
    expect(rebuilt.compilers.some((file) => file.includes('/terser/'))).toBe(true);
  });

  describe('a manifest that does not match the inputs', () => {
    let dir: string;
    beforeEach(async () => {
      dir = copySite();
      await defineAssets(siteOptions(dir)).build();
      fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), "tiny.mark('v2');\n");
    });

    test('in production with requirePrebuilt, build() fails and outDir stays as it was', async () => {
      const before = snapshot(path.join(dir, 'out'));
      const assets = defineAssets(siteOptions(dir, { requirePrebuilt: true }));
      await expect(assets.build()).rejects.toMatchObject({
        name: 'AssetConfigError',
        code: 'ASSET_CONFIG',
        message: expect.stringContaining('run `asset-registry build` at deploy'),
      });
      expect(snapshot(path.join(dir, 'out'))).toEqual(before);
      expect(assets.built).toBe(false);
    });

    test('in production with requirePrebuilt and no manifest at all, build() fails', async () => {
      const empty = copySite();
      const assets = defineAssets(siteOptions(empty, { requirePrebuilt: true }));
      await expect(assets.build()).rejects.toMatchObject({ code: 'ASSET_CONFIG' });
      expect(fs.existsSync(path.join(empty, 'out'))).toBe(false);
    });

    test('in development (requirePrebuilt set for production), it is rebuilt', async () => {
      const assets = defineAssets(
        siteOptions(dir, { mode: 'development', requirePrebuilt: true, report: false }),
      );
      try {
        const build = await assets.build();
        expect(build.reused).toBe(false);
        expect(assets.failure).toBeUndefined();
      } finally {
        await assets.close();
      }
    });

    test('in production without requirePrebuilt, it is rebuilt', async () => {
      const old = readManifest(dir);
      const build = await defineAssets(siteOptions(dir)).build();
      expect(build.reused).toBe(false);
      expect(bundleOf(build, 'main.js').file).not.toBe(
        old.bundles.find((b) => b.id === 'main.js')!.file,
      );
    });
  });
});

describe('determinism across machines', () => {
  test('two folders, other paths, times, zones and locales: the same bytes, names and manifest', async () => {
    const folders = [
      path.join(tempDir('machine-a-'), 'srv', 'app'),
      path.join(tempDir('machine-b-with-a-longer-path-'), 'home', 'deploy', 'current'),
    ];
    folders.forEach((dir, i) => {
      siteWithModule({}, dir);
      // Every file gets other timestamps on each machine, as a checkout or a copy would give.
      const stamp = new Date(i === 0 ? '2001-02-03T04:05:06Z' : '2024-11-12T13:14:15Z');
      for (const file of Object.keys(snapshot(dir))) {
        fs.utimesSync(path.join(dir, file), stamp, stamp);
      }
    });
    const environments = [
      { TZ: 'Pacific/Auckland', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' },
      { TZ: 'America/Los_Angeles', LANG: 'C', LC_ALL: 'C' },
    ];
    const runs = await Promise.all(
      folders.map((dir, i) => cli(['build', 'assets.js'], { cwd: dir, env: environments[i] })),
    );
    expect(runs.map(({ code, stderr }) => ({ code, stderr }))).toEqual([
      { code: 0, stderr: 'Built: out\n' },
      { code: 0, stderr: 'Built: out\n' },
    ]);
    expect(readManifest(folders[1])).toEqual(readManifest(folders[0]));
    // Every file of outDir, the compile cache included, byte for byte; but the record of the
    // inputs' stat (size, times, inode, as each machine has them; only files settled when
    // hashed) only by its hashes, which must be the manifest's.
    const [a, b] = folders.map((dir) => snapshot(path.join(dir, 'out')));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    const { inputs } = readManifest(folders[0]);
    for (const file of Object.keys(a)) {
      if (file !== path.join('.cache', 'inputs.json')) {
        expect({ file, bytes: b[file] }).toEqual({ file, bytes: a[file] });
        continue;
      }
      for (const bytes of [a[file], b[file]]) {
        const { files } = JSON.parse(Buffer.from(bytes, 'base64').toString()) as {
          files: Record<string, unknown[]>;
        };
        for (const [name, seen] of Object.entries(files)) expect(seen.at(-1)).toBe(inputs[name]);
      }
    }
    const forbidden = [...folders, ...folders.map((dir) => fs.realpathSync(dir)), os.tmpdir()];
    for (const [index, dir] of folders.entries()) {
      for (const [file, bytes] of Object.entries(index ? b : a)) {
        const text = Buffer.from(bytes, 'base64').toString('latin1');
        const found = forbidden.filter((folder) => text.includes(folder));
        expect({ dir, file, found }).toEqual({ dir, file, found: [] });
      }
    }
  });
});

describe('rolling deploys', () => {
  test('a new server still serves the kept older builds; older ones are 404 and gone', async () => {
    const dir = copySite();
    const options = siteOptions(dir, { keepVersions: 2 });
    const widgets = path.join(dir, 'assets', 'site', 'widgets.js');
    // Each release: the deploy builds, then a new server process starts from the manifest.
    const release = async (version: number) => {
      fs.appendFileSync(widgets, `tiny.mark('release ${version}');\n`);
      await defineAssets(options).build();
      const server = defineAssets(options);
      expect((await server.build()).reused).toBe(true);
      const app = appWith(EXPRESSES[0][1], server);
      app.get('/', (_req, res) => {
        res.requireAssets('site/widgets.js', 'site/base.less');
        res.send(res.locals.assetTags('css') + res.locals.assetTags('js'));
      });
      const page = (await request(app).get('/').expect(200)).text;
      // The bundles' tags (a font's preload link aside).
      const urls = [...page.matchAll(/(?:href|src)="([^"]+\.(?:css|js))"/g)].map(
        (match) => match[1],
      );
      expect(urls).toHaveLength(2);
      const files = server.current.manifest.files;
      return { app, urls, files };
    };
    const one = await release(1);
    const two = await release(2);
    expect(two.urls[1]).not.toBe(one.urls[1]);
    // The load balancer sends the old release's page's requests to a new server: they work.
    for (const url of [...one.urls, ...two.urls]) await request(two.app).get(url).expect(200);

    const three = await release(3);
    for (const url of [...two.urls, ...three.urls]) await request(three.app).get(url).expect(200);
    const gone = one.files.filter(
      (file) => !three.files.includes(file) && !two.files.includes(file),
    );
    expect(gone).toEqual(expect.arrayContaining([path.posix.basename(one.urls[1])]));
    for (const file of gone) {
      expect({ file, onDisk: fs.existsSync(path.join(dir, 'out', file)) }).toEqual({
        file,
        onDisk: false,
      });
      await request(three.app).get(`/assets/${file}`).expect(404);
    }
    // A server still on release 1 keeps serving its own files from memory until it stops.
    await request(one.app).get(one.urls[1]).expect(200);
  });

  // Upgrading the library is a rolling deploy too: the build of the new version keeps the files
  // of the build the previous version made, while servers of the old release still ask for them.
  test.each([
    [
      'of 0.1.0 (bundles without inputs, files or dictionaries)',
      (old: Manifest) => ({
        ...old,
        bundles: old.bundles.map(
          ({ inputs: _inputs, files: _files, dictionaries: _dictionaries, ...rest }) => rest,
        ),
      }),
    ],
    [
      'of an unknown version',
      (old: Manifest) => ({ version: 0, files: old.files, previous: old.previous }),
    ],
  ])('a manifest %s is migrated: its files stay kept and served', async (_label, olderShape) => {
    const dir = copySite();
    const options = siteOptions(dir, { keepVersions: 2 });
    await defineAssets(options).build();
    const old = readManifest(dir);
    const manifestFile = path.join(dir, 'out', 'manifest.json');
    fs.writeFileSync(manifestFile, JSON.stringify(olderShape(old), null, 2));

    fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), "tiny.mark('v2');\n");
    const upgraded = defineAssets(options);
    const build = await upgraded.build();
    expect(build.reused).toBe(false);
    expect(readManifest(dir).previous).toEqual([old.files]);
    const app = appWith(EXPRESSES[0][1], upgraded);
    for (const bundle of old.bundles) {
      expect(fs.existsSync(path.join(dir, 'out', bundle.file))).toBe(true);
      await request(app).get(`/assets/${bundle.file}`).expect(200);
    }
  });
});

describe('cluster: processes starting at once on one outDir', () => {
  const WORKERS = 4;
  let children: ChildProcessByStdio<Writable, Readable, Readable>[] = [];
  afterEach(() => {
    for (const child of children) child.stdin.end();
    children = [];
  });

  /** Starts the workers at once; resolves when each printed its ready line. */
  function startWorkers(dir: string): Promise<Ready[]> {
    return Promise.all(
      Array.from({ length: WORKERS }, () => {
        const child = spawn(process.execPath, [SERVE, 'assets.js'], {
          cwd: dir,
          env: { ...process.env, JEST_WORKER_ID: undefined, ...PRODUCTION },
        });
        children.push(child);
        return new Promise<Ready>((resolve, reject) => {
          let out = '';
          let err = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk;
            if (out.includes('\n')) resolve(JSON.parse(out) as Ready);
          });
          child.stderr.on('data', (chunk: Buffer) => (err += chunk));
          child.on('exit', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
        });
      }),
    );
  }

  async function checkWorkers(dir: string, workers: Ready[]): Promise<void> {
    const manifest = readManifest(dir);
    const expected = manifest.bundles.map(({ id, url, integrity }) => ({ id, url, integrity }));
    for (const worker of workers) {
      expect(worker.bundles).toEqual(expected);
      for (const { url, integrity } of worker.bundles) {
        for (const encoding of ['identity', 'gzip', 'br']) {
          const body = await fetchDecoded(worker.port!, url, encoding);
          const sri = `sha384-${createHash('sha384').update(body).digest('base64')}`;
          expect({ url, encoding, sri }).toEqual({ url, encoding, sri: integrity });
        }
      }
    }
    const temporary = Object.keys(snapshot(path.join(dir, 'out'))).filter((f) =>
      f.endsWith('.tmp'),
    );
    expect(temporary).toEqual([]);
  }

  test(`${WORKERS} workers on an empty outDir, then on the next release, all serve whole files`, async () => {
    const dir = siteWithModule();
    const first = await startWorkers(dir);
    await checkWorkers(dir, first);
    for (const child of children.splice(0)) child.stdin.end();

    fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), "tiny.mark('v2');\n");
    fs.appendFileSync(path.join(dir, 'vendor', 'theme', 'colors.less'), '.v2 { color: red; }\n');
    const second = await startWorkers(dir);
    await checkWorkers(dir, second);
    expect(second.map((worker) => worker.bundles)).not.toContainEqual(first[0].bundles);
    expect(readManifest(dir).previous).toHaveLength(1);
  }, 60_000);
});

/** GETs a bundle from a worker with one Accept-Encoding and returns the decoded bytes. */
function fetchDecoded(port: number, url: string, encoding: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const headers = { 'Accept-Encoding': encoding };
    http
      .get({ host: '127.0.0.1', port, path: new URL(url, 'http://x').pathname, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
          const body = Buffer.concat(chunks);
          const sent = res.headers['content-encoding'] ?? 'identity';
          // A twin no smaller than the file is not sent: tiny bundles come as they are.
          if (sent !== encoding && sent !== 'identity') {
            return reject(new Error(`${url}: sent ${sent} for ${encoding}`));
          }
          if (sent === 'br') resolve(zlib.brotliDecompressSync(body));
          else if (sent === 'gzip') resolve(zlib.gunzipSync(body));
          else resolve(body);
        });
      })
      .on('error', reject);
  });
}

describe.each(EXPRESSES)('publicPath on a CDN with serve: false, under %s', (_label, express) => {
  test('tags point at the CDN with crossorigin and SRI; the middleware serves nothing', async () => {
    const site = await builtSite({ publicPath: 'https://cdn.example.com/static/', serve: false });
    const app = appWith(express, site);
    app.get('/', (_req, res) => {
      res.requireAssets('site/widgets.js', 'site/base.less');
      res.send(`${res.locals.assetTags('css')}\n${res.locals.assetTags('js')}`);
    });
    app.use((_req, res) => {
      res.status(404).send('next() was called');
    });
    const page = await request(app).get('/').expect(200);
    const needed = site.current.bundles.filter((bundle) => bundle.group === 'main');
    expect(needed).toHaveLength(2);
    for (const bundle of needed) {
      const body = fs.readFileSync(path.join(site.options.outDir, bundle.file));
      const sri = `sha384-${createHash('sha384').update(body).digest('base64')}`;
      expect(bundle.url).toBe(`https://cdn.example.com/static/${bundle.file}`);
      expect(bundle.integrity).toBe(sri);
      const tag =
        bundle.kind === 'css'
          ? `<link rel="stylesheet" href="${bundle.url}" integrity="${sri}" crossorigin="anonymous">`
          : `<script src="${bundle.url}" defer integrity="${sri}" crossorigin="anonymous"></script>`;
      expect(page.text).toContain(tag);
      expect(page.headers.link).toContain(`<${bundle.url}>; rel=preload`);
      for (const url of [`/static/${bundle.file}`, `/assets/${bundle.file}`]) {
        await request(app).get(url).expect(404, 'next() was called');
        await request(app).head(url).expect(404);
      }
    }
  });
});
