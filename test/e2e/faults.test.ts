import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import express from 'express';
import request from 'supertest';
import { AssetBuildError, defineAssets, type AssetOptions, type Manifest } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { SITE_ASSETS, SITE_FILES } from '../app';
import { DIST, ensureDist } from '../dist';
import { NODE_MODULES, snapshot, tempDir, writeFiles } from '../helpers';

/**
 * Faults: a build killed with SIGKILL at random points, an outDir that cannot be written (a
 * read-only folder, a file in its place, a full disk). What must hold: the build on disk is
 * always one a server can start from, the next start recovers, every failure is an
 * AssetBuildError that names outDir and the system's code, and a running server keeps serving
 * what it has in memory.
 */

const KILLS = 10;
const DELAYS = { min: 10, max: 2_000 };

type Landed = 'while compiling' | 'while writing' | 'after the manifest';

/** The SRI value of some bytes, as the manifest writes it. */
function integrity(body: Buffer): string {
  return `sha384-${createHash('sha384').update(body).digest('base64')}`;
}

/**
 * What a server starting now would load: the manifest names only whole files, every bundle's
 * bytes match its integrity, and its twins decompress to the same bytes.
 */
function expectServable(outDir: string): Manifest {
  const manifest = JSON.parse(fs.readFileSync(path.join(outDir, 'manifest.json'), 'utf8'));
  for (const file of [...manifest.files, ...manifest.previous.flat()]) {
    expect({ file, exists: fs.existsSync(path.join(outDir, file)) }).toEqual({
      file,
      exists: true,
    });
  }
  for (const bundle of manifest.bundles) {
    const body = fs.readFileSync(path.join(outDir, bundle.file));
    expect({ file: bundle.file, integrity: integrity(body) }).toEqual({
      file: bundle.file,
      integrity: bundle.integrity,
    });
    const br = fs.readFileSync(path.join(outDir, `${bundle.file}.br`));
    const gz = fs.readFileSync(path.join(outDir, `${bundle.file}.gz`));
    expect(zlib.brotliDecompressSync(br).equals(body)).toBe(true);
    expect(zlib.gunzipSync(gz).equals(body)).toBe(true);
  }
  return manifest;
}

function temporaries(outDir: string): string[] {
  return Object.keys(snapshot(outDir)).filter((file) => file.endsWith('.tmp'));
}

/** Serves the build of `assets` and checks that every bundle's bytes match its integrity. */
async function expectServed(assets: AssetRegistry): Promise<void> {
  const app = express();
  app.use(assets.middleware());
  for (const bundle of assets.current.bundles) {
    const response = await request(app)
      .get(new URL(bundle.url, 'http://localhost').pathname)
      .set('Accept-Encoding', 'identity')
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(response.status).toBe(200);
    expect(integrity(response.body as Buffer)).toBe(bundle.integrity);
  }
}

describe('a build killed with SIGKILL', () => {
  let dir: string;
  let options: AssetOptions;
  let registryModule: string;

  beforeAll(async () => {
    await ensureDist();
    // The real-libraries site: jQuery, a copy of lodash, bootstrap 3's LESS with its fonts.
    dir = tempDir('asset-faults-');
    fs.cpSync(path.join(__dirname, '..', 'fixtures', 'real-site'), path.join(dir, 'site'), {
      recursive: true,
    });
    fs.copyFileSync(
      path.join(NODE_MODULES, 'lodash', 'lodash.js'),
      path.join(dir, 'site', 'vendor.js'),
    );
    options = {
      root: [path.join(dir, 'site'), NODE_MODULES],
      outDir: path.join(dir, 'out'),
      mode: 'production',
      logger: false,
      assets: [
        'jquery/dist/jquery.js',
        'vendor.js',
        { path: 'site/app.js', deps: ['jquery/dist/jquery.js', 'vendor.js'] },
        'site/site.less',
      ],
    };
    registryModule = path.join(dir, 'registry.js');
    fs.writeFileSync(
      registryModule,
      `const { defineAssets } = require(${JSON.stringify(path.join(DIST, 'index.js'))});\n` +
        `exports.assets = defineAssets(${JSON.stringify(options)});\n`,
    );
  });

  /**
   * Runs `build()` in a new node process. With `kill`, kills it with SIGKILL after so many ms, or
   * (`writing`) as soon as it has put a new file into outDir, plus up to 30 ms.
   */
  function buildInChild(
    kill?: number | 'writing',
  ): Promise<{ code: number | null; stdout: string }> {
    const outDir = options.outDir;
    const list = () =>
      fs.existsSync(outDir) ? fs.readdirSync(outDir, { recursive: true, encoding: 'utf8' }) : [];
    const before = new Set(list());
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(registryModule)}).assets.build().then(` +
          '(build) => console.log(build.reused ? "reused" : "built"))',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, JEST_WORKER_ID: undefined } },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const timer =
      typeof kill === 'number' ? setTimeout(() => child.kill('SIGKILL'), kill) : undefined;
    const watch =
      kill === 'writing'
        ? setInterval(() => {
            if (list().some((file) => !before.has(file) && !file.startsWith('.cache'))) {
              clearInterval(watch);
              setTimeout(() => child.kill('SIGKILL'), Math.random() * 30);
            }
          }, 2)
        : undefined;
    return new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        clearInterval(watch);
        resolve({ code, stdout: stdout.trim() });
      }),
    );
  }

  const tick = (i: number) =>
    fs.appendFileSync(path.join(dir, 'site', 'site', 'app.js'), `\nwindow.tick = ${i};\n`);

  test(`${KILLS} kills at random points: the build on disk stays servable, the next start recovers`, async () => {
    const outDir = options.outDir;
    expect(await buildInChild()).toEqual({ code: 0, stdout: 'built' });
    // How long a rebuild after a one-file edit takes, so that the kills spread over all of it.
    tick(-1);
    const started = Date.now();
    expect(await buildInChild()).toEqual({ code: 0, stdout: 'built' });
    const rebuild = Date.now() - started;
    let last = expectServable(outDir);
    // Where the kills go: six spread over the rebuild's time (compiling, compressing, writing,
    // just after the end), one random one in each sixth; two in 10..2000 ms of a build that
    // also recompiles the big script (mostly in terser); two as soon as files are being written.
    const span = Math.min(DELAYS.max, rebuild * 1.2) - DELAYS.min;
    const plan: (number | 'writing' | 'big')[] = [
      0,
      1,
      2,
      'big',
      3,
      'writing',
      4,
      5,
      'big',
      'writing',
    ];
    expect(plan).toHaveLength(KILLS);
    for (const [i, step] of plan.entries()) {
      tick(i);
      if (step === 'big')
        fs.appendFileSync(path.join(dir, 'site', 'vendor.js'), `\n;window.v${i}=1;\n`);
      const delay =
        step === 'writing'
          ? step
          : Math.round(
              step === 'big'
                ? DELAYS.min + Math.random() * (DELAYS.max - DELAYS.min)
                : DELAYS.min + ((step + Math.random()) * span) / 6,
            );
      const files = new Set(Object.keys(snapshot(outDir)));
      const { code } = await buildInChild(delay);
      const now = expectServable(outDir);
      const added = Object.keys(snapshot(outDir)).filter((file) => !files.has(file));
      const landed: Landed =
        now.inputHash !== last.inputHash
          ? 'after the manifest'
          : added.some((file) => !file.startsWith('.cache'))
            ? 'while writing'
            : 'while compiling';
      // A kill after the build finished is no kill: the process exited 0 first.
      if (code === 0) expect(landed).toBe('after the manifest');
      last = now;
    }
    // The next start: builds (or reuses what the last killed process finished) and serves.
    const recovery = await buildInChild();
    expect(recovery.code).toBe(0);
    expectServable(outDir);
    const assets = defineAssets(options);
    const build = await assets.build();
    expect(build.reused).toBe(true);
    await expectServed(assets);
    // Temporary files of writes cut short are removed by a later build once they are old enough
    // that no live process can still be writing them; fresh ones are left alone.
    const left = temporaries(outDir);
    const abandoned = path.join(outDir, `main.000000000000.js.99999.abcdefabcdef.tmp`);
    const fresh = path.join(outDir, '.cache', `0123.json.99998.abcdefabcdef.tmp`);
    writeFiles(outDir, {
      [path.relative(outDir, abandoned)]: 'x',
      [path.relative(outDir, fresh)]: 'y',
    });
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const file of [...left.map((name) => path.join(outDir, name)), abandoned]) {
      fs.utimesSync(file, hourAgo, hourAgo);
    }
    tick(KILLS);
    expect(await buildInChild()).toEqual({ code: 0, stdout: 'built' });
    expect(temporaries(outDir)).toEqual([path.relative(outDir, fresh)]);
    expectServable(outDir);
  }, 90_000);
});

describe('an outDir that cannot be written', () => {
  /** The site built into `outDir`, served by an app; `edit()` changes an input. */
  async function servedSite(outDir?: string) {
    const root = tempDir();
    writeFiles(root, SITE_FILES);
    const options: AssetOptions = {
      root,
      outDir: outDir ?? path.join(root, 'out'),
      assets: SITE_ASSETS,
      mode: 'production',
      logger: false,
    };
    const assets = defineAssets(options);
    await assets.build();
    const app = express();
    app.use(assets.middleware());
    const main = assets.current.bundles.find((bundle) => bundle.id === 'main.js')!;
    const body = fs.readFileSync(path.join(options.outDir, main.file), 'utf8');
    return {
      root,
      options,
      assets,
      edit: (text: string) => fs.appendFileSync(path.join(root, 'vendor', 'lib.js'), text),
      /** The build in memory still answers with the bytes it had. */
      expectStillServing: async () => {
        const response = await request(app).get(main.url).set('Accept-Encoding', 'identity');
        expect(response.status).toBe(200);
        expect(response.text).toBe(body);
      },
    };
  }

  async function buildError(
    promise: Promise<unknown>,
  ): Promise<AssetBuildError & { cause: NodeJS.ErrnoException }> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AssetBuildError);
    return error as AssetBuildError & { cause: NodeJS.ErrnoException };
  }

  const chattr = (flag: '+i' | '-i', target: string) =>
    spawnSync('chattr', ['-R', flag, target], { encoding: 'utf8' });

  // Root ignores file modes, so a chmod'ed folder stays writable in this suite (it runs as root
  // in CI): the immutable attribute stops root too. Where chattr is missing, a file in place of
  // outDir's parent stands in.
  test('read-only (chattr +i): an AssetBuildError naming outDir and EPERM; memory keeps serving', async () => {
    const site = await servedSite();
    const { outDir } = site.options;
    const probe = chattr('+i', outDir);
    if (probe.status !== 0) {
      console.log(`chattr +i is not available here (${probe.stderr.trim()}): case skipped`);
      return;
    }
    try {
      const before = snapshot(outDir);
      // Up to date: a new server starts from the read-only build without writing.
      const reused = await defineAssets(site.options).build();
      expect(reused.reused).toBe(true);
      site.edit('window.changed = 1;\n');
      const error = await buildError(site.assets.build());
      expect(error.cause.code).toBe('EPERM');
      expect(error.message).toContain(outDir);
      expect(error.message).toContain('EPERM');
      expect(error.message).toContain('the previous build is left as it was');
      expect(error).toMatchObject({ code: 'ASSET_BUILD', asset: outDir, file: outDir });
      expect(snapshot(outDir)).toEqual(before);
      await site.expectStillServing();
    } finally {
      chattr('-i', outDir);
    }
  });

  test('a file where outDir or its parent should be: ENOTDIR', async () => {
    const root = tempDir();
    writeFiles(root, { ...SITE_FILES, 'taken.txt': 'a file', 'out.txt': 'a file' });
    for (const [outDir, code] of [
      [path.join(root, 'taken.txt', 'out'), 'ENOTDIR'],
      [path.join(root, 'out.txt'), 'ENOTDIR'],
    ]) {
      const assets = defineAssets({
        root,
        outDir,
        assets: SITE_ASSETS,
        mode: 'production',
        logger: false,
      });
      const error = await buildError(assets.build());
      expect(error.cause.code).toBe(code);
      expect(error.message).toContain(outDir);
      expect(error.message).toContain(code);
    }
    expect(fs.readFileSync(path.join(root, 'out.txt'), 'utf8')).toBe('a file');
  });

  describe('a full disk (a 256 kB tmpfs)', () => {
    const mountPoint = tempDir('asset-tmpfs-');
    const mounted =
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]).status === 0;
    afterAll(() => {
      if (mounted) spawnSync('umount', ['-l', mountPoint]);
    });

    (mounted ? test : test.skip)(
      'ENOSPC: an AssetBuildError naming outDir; the build on disk and in memory is the previous one',
      async () => {
        const outDir = path.join(mountPoint, 'out');
        const site = await servedSite(outDir);
        const good = expectServable(outDir);
        const before = snapshot(outDir);
        // 300 kB that neither minifies nor compresses well: more than the disk has left.
        site.edit(`window.noise = ${JSON.stringify(randomText(300_000))};\n`);
        const error = await buildError(site.assets.build());
        expect(error.cause.code).toBe('ENOSPC');
        expect(error.message).toContain(outDir);
        expect(error.message).toContain('ENOSPC');
        expect(temporaries(outDir)).toEqual([]);
        const after = snapshot(outDir);
        for (const [file, bytes] of Object.entries(before)) expect(after[file]).toBe(bytes);
        expect(expectServable(outDir).inputHash).toBe(good.inputHash);
        await site.expectStillServing();
        // The disk has room again (the input is back as it was): the next start reuses the build.
        fs.writeFileSync(path.join(site.root, 'vendor', 'lib.js'), SITE_FILES['vendor/lib.js']);
        expect((await defineAssets(site.options).build()).reused).toBe(true);
      },
    );
    if (!mounted) {
      test('tmpfs could not be mounted here: the full-disk case is skipped', () => {
        console.log(
          'mount -t tmpfs failed (not root, or no CAP_SYS_ADMIN): full-disk case skipped',
        );
      });
    }
  });
});

function randomText(length: number): string {
  let text = '';
  while (text.length < length) text += Math.random().toString(36).slice(2);
  return text.slice(0, length);
}
