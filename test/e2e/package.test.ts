/**
 * The package as installed: one `npm pack`, its tarball installed (without install scripts) into
 * a CommonJS app, an ESM app and a TypeScript app that holds README's complete example.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Manifest } from '../../src';
import {
  command,
  exampleFiles,
  exampleSetup,
  filesUnder,
  freePort,
  installApp,
  packRepository,
  relativeLinks,
  REPO,
  succeed,
  typeScriptLoader,
} from '../packed';

const EXAMPLE = 'A complete example';

let work: string;
let packed: { tarball: string; files: string[] };
const apps = { cjs: '', esm: '', ts: '' };
let server: ChildProcess | undefined;

/** A file of the package as the apps installed it. */
const installed = (file: string) =>
  fs.readFileSync(path.join(apps.cjs, 'node_modules', 'express-asset-registry', file), 'utf8');

describe('the package as installed from its tarball', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-registry-package-'));
    packed = await packRepository(work);
    apps.cjs = path.join(work, 'cjs-app');
    apps.esm = path.join(work, 'esm-app');
    apps.ts = path.join(work, 'ts-app');
    writeModuleApp(apps.cjs, 'index.cjs', CJS_APP);
    writeModuleApp(apps.esm, 'index.mjs', ESM_APP);
    const packages = writeTypeScriptApp(apps.ts);
    // The largest install first fills npm's cache; the other two then install from it.
    await installApp(apps.ts, packed.tarball, packages);
    await Promise.all([
      installApp(apps.cjs, packed.tarball, []),
      installApp(apps.esm, packed.tarball, []),
    ]);
  }, 600_000);

  afterAll(() => {
    server?.kill();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  describe('the tarball', () => {
    const isShipped = (file: string) =>
      ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(file) ||
      /^dist\/.+\.(d\.ts|js)$/.test(file) ||
      /^(views|public|docs)\//.test(file);

    it('holds dist/ (JS and .d.ts), views/, public/, docs/, README, LICENSE, CHANGELOG and nothing else', () => {
      expect(packed.files.filter((file) => !isShipped(file))).toEqual([]);
      expect(packed.files.filter((file) => file.endsWith('.map'))).toEqual([]);
      for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
        expect(packed.files).toContain(file);
      }
      for (const file of ['index.js', 'index.d.ts', 'cli/cli.js']) {
        expect(packed.files).toContain(`dist/${file}`);
      }
      for (const folder of ['views', 'public', 'docs']) {
        const inRepository = filesUnder(path.join(work, 'source', folder)).map(
          (file) => `${folder}/${file}`,
        );
        expect(packed.files.filter((file) => file.startsWith(`${folder}/`))).toEqual(
          inRepository.sort(),
        );
      }
    });

    it('has no install script', () => {
      const { scripts = {} } = JSON.parse(installed('package.json')) as {
        scripts?: Record<string, string>;
      };
      expect(
        Object.keys(scripts).filter((name) => /^(pre|post)?(install|prepare)$/.test(name)),
      ).toEqual([]);
    });

    it('has no relative link in a shipped .md file to a file it does not hold', () => {
      const shipped = new Set(packed.files);
      const folders = new Set(
        packed.files.flatMap((file) =>
          file
            .split('/')
            .slice(0, -1)
            .map((_, at, parts) => parts.slice(0, at + 1).join('/')),
        ),
      );
      const broken = packed.files
        .filter((file) => file.endsWith('.md'))
        .flatMap((file) => {
          return relativeLinks(installed(file))
            .map((target) => ({
              target,
              resolved: path.posix
                .normalize(path.posix.join(path.posix.dirname(file), target))
                .replace(/\/$/, ''),
            }))
            .filter(({ resolved }) => !shipped.has(resolved) && !folders.has(resolved))
            .map(({ target }) => `${file} -> ${target}`);
        });
      expect([...new Set(broken)]).toEqual([]);
    });
  });

  describe('a CommonJS app', () => {
    it('requires the package and builds', async () => {
      const { stdout } = await succeed(process.execPath, ['index.cjs'], apps.cjs);
      expect(JSON.parse(stdout)).toEqual(MODULE_APP_OUTPUT);
    }, 60_000);
  });

  describe('an ESM app', () => {
    it('imports the named exports and builds', async () => {
      const { stdout } = await succeed(process.execPath, ['index.mjs'], apps.esm);
      expect(JSON.parse(stdout)).toEqual(MODULE_APP_OUTPUT);
    }, 60_000);
  });

  describe('a TypeScript app', () => {
    it("compiles under strict tsc against the package's .d.ts: README's example and a handler", async () => {
      expect(
        fs.realpathSync(path.join(apps.ts, 'node_modules', 'express-asset-registry')),
      ).not.toContain(REPO);
      await succeed(process.execPath, [tsc(), '-p', 'tsconfig.check.json'], apps.ts);
    }, 120_000);

    it('fails to compile a misspelt response method', async () => {
      const result = await command(process.execPath, [tsc(), '-p', 'tsconfig.typo.json'], apps.ts);
      expect(result.code).not.toBe(0);
      const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
      expect(errors).toEqual([
        expect.stringMatching(
          /typo\.ts\(\d+,\d+\): error TS(2339|2551): Property 'requireAsset' does not exist/,
        ),
      ]);
    }, 120_000);
  });

  describe("README's complete example, from the installed package", () => {
    const cliEnvironment = () => ({ NODE_OPTIONS: typeScriptLoader().join(' ') });
    const manifest = () => JSON.parse(fs.readFileSync(manifestFile(), 'utf8')) as Manifest;
    const manifestFile = () => {
      const found = filesUnder(apps.ts).filter(
        (file) => file.endsWith('/manifest.json') && !file.startsWith('node_modules/'),
      );
      expect(found).toHaveLength(1);
      return path.join(apps.ts, found[0]);
    };

    it('builds with npx asset-registry build', async () => {
      const result = await command(
        'npx',
        ['--no-install', 'asset-registry', 'build', 'app/assets.ts'],
        apps.ts,
        cliEnvironment(),
      );
      expect(result).toMatchObject({ code: 0, stderr: expect.stringMatching(/Built/) });
      const kinds = manifest().bundles.map(({ group, kind }) => `${group}.${kind}`);
      expect(kinds).toEqual(expect.arrayContaining(['main.css', 'main.js']));
    }, 120_000);

    it('serves its pages with the tags of their bundles, and the bundles', async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      server = spawn(process.execPath, [...typeScriptLoader(), 'app/server.ts'], {
        cwd: apps.ts,
        env: {
          ...process.env,
          PORT: String(port),
          NODE_ENV: 'production',
          JEST_WORKER_ID: undefined,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      server.stderr?.on('data', (chunk) => (stderr += chunk));
      await waitForServer(base, server, () => stderr);

      const { bundles } = manifest();
      const routes = [...exampleSource('app/server.ts').matchAll(/\.get\(\s*'([^':*]+)'/g)].map(
        (match) => match[1],
      );
      expect(routes.length).toBeGreaterThan(1);
      const tagged = new Set<string>();
      for (const route of routes) {
        const response = await fetch(base + route);
        expect({ route, status: response.status }).toEqual({ route, status: 200 });
        const html = await response.text();
        const tag = ({ kind, url }: { kind: string; url: string }) =>
          kind === 'css' ? `<link rel="stylesheet" href="${url}"` : `<script src="${url}"`;
        const urls = bundles.filter((bundle) => html.includes(tag(bundle))).map(({ url }) => url);
        expect({ route, urls: urls.length > 0 }).toEqual({ route, urls: true });
        urls.forEach((url) => tagged.add(url));
      }
      expect([...tagged].sort()).toEqual(bundles.map(({ url }) => url).sort());
      for (const bundle of bundles) {
        const response = await fetch(new URL(bundle.url, base));
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-control')).toMatch(/immutable/);
        const outDir = path.dirname(manifestFile());
        expect(Buffer.from(await response.arrayBuffer())).toEqual(
          fs.readFileSync(path.join(outDir, bundle.file)),
        );
      }
    }, 120_000);

    it('rebuilds after a source file changes: new hashes, and dcz against the older version where zstd is built in', async () => {
      const before = manifest();
      const script = [...exampleFiles(readme(), EXAMPLE).keys()].find((file) =>
        file.endsWith('.js'),
      );
      expect(script).toBeDefined();
      fs.appendFileSync(
        path.join(apps.ts, script!),
        `\nwindow.assetRegistryEdit = ${Date.now()};\n`,
      );
      const result = await command(
        'npx',
        ['--no-install', 'asset-registry', 'build', 'app/assets.ts'],
        apps.ts,
        cliEnvironment(),
      );
      expect(result).toMatchObject({ code: 0, stderr: expect.stringMatching(/Built/) });

      const after = manifest();
      const outDir = path.dirname(manifestFile());
      const changed = after.bundles.filter(
        (bundle) => !before.bundles.some(({ file }) => file === bundle.file),
      );
      expect(changed.map(({ kind }) => kind)).toContain('js');
      expect(after.bundles.filter(({ kind }) => kind === 'css')).toEqual(
        before.bundles.filter(({ kind }) => kind === 'css'),
      );
      const dcz = fs.readdirSync(outDir).filter((file) => file.endsWith('.dcz'));
      if (zstdTakesDictionaries()) {
        const expected = changed.map((bundle) => {
          const older = before.bundles.find(({ id }) => id === bundle.id)!;
          return `${bundle.file}.${older.file.split('.').at(-2)}.dcz`;
        });
        expect(dcz).toEqual(expect.arrayContaining(expected));
      } else {
        expect(dcz).toEqual([]);
      }
    }, 120_000);

    it('reports with npx asset-registry report', async () => {
      const result = await command(
        'npx',
        ['--no-install', 'asset-registry', 'report', 'app/assets.ts'],
        apps.ts,
        cliEnvironment(),
      );
      expect(result).toMatchObject({ code: 0 });
      expect(result.stdout).toMatch(/main\.[0-9a-f]{12}\.js/);
    }, 120_000);

    it('audits with npx asset-registry audit', async () => {
      const result = await command(
        'npx',
        ['--no-install', 'asset-registry', 'audit', 'app/assets.ts', '--scan', 'app'],
        apps.ts,
        cliEnvironment(),
      );
      expect(result).toMatchObject({ code: 0 });
    }, 120_000);
  });
});

/**
 * Whether this runtime's node:zlib compresses with a dictionary (Node.js 22.19+, 24.6+; earlier
 * zstd ignores it): random bytes shrink only against themselves.
 */
function zstdTakesDictionaries(): boolean {
  const { zstdCompressSync } = zlib as {
    zstdCompressSync?: (data: Buffer, options: { dictionary: Buffer }) => Buffer;
  };
  const sample = crypto.randomBytes(4096);
  return (
    !!zstdCompressSync &&
    zstdCompressSync(sample, { dictionary: sample }).length < sample.length / 2
  );
}

/** The TypeScript compiler README's example installs (`npx tsc`), else the repository's. */
function tsc(): string {
  const installed = path.join(apps.ts, 'node_modules', 'typescript', 'bin', 'tsc');
  return fs.existsSync(installed)
    ? installed
    : path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
}

function readme(): string {
  return fs.readFileSync(path.join(work, 'source', 'README.md'), 'utf8');
}

function exampleSource(file: string): string {
  const source = exampleFiles(readme(), EXAMPLE).get(file);
  if (source === undefined) throw new Error(`README's "${EXAMPLE}" shows no ${file}`);
  return source;
}

async function waitForServer(
  base: string,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 200) {
    if (child.exitCode !== null)
      throw new Error(`app/server.ts exited with ${child.exitCode}:\n${stderr()}`);
    const up = await fetch(base).then(
      () => true,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`app/server.ts did not listen on PORT (${base}) within a minute:\n${stderr()}`);
}

/**
 * README's example as its reader makes it (its package.json fields, its files), and the handler
 * type checks. Resolves with the packages its `npm install` lines add besides this one.
 */
function writeTypeScriptApp(dir: string): string[] {
  const files = exampleFiles(readme(), EXAMPLE);
  const { packages, fields } = exampleSetup(readme(), EXAMPLE);
  for (const required of ['app/assets.ts', 'app/server.ts']) {
    if (!files.has(required)) throw new Error(`README's "${EXAMPLE}" shows no ${required}`);
  }
  if (!packages.includes('express-asset-registry')) {
    throw new Error(`README's "${EXAMPLE}" does not npm install express-asset-registry`);
  }
  write(dir, 'package.json', JSON.stringify({ name: 'ts-app', private: true, ...fields }, null, 2));
  for (const [file, source] of files) write(dir, file, source);
  if (!files.has('tsconfig.json')) {
    write(dir, 'tsconfig.json', JSON.stringify({ compilerOptions: { types: ['node'] } }));
  }
  // The example's own settings, made strict, over its files and the handler. The first check
  // reads every declaration file, the package's included, as such an app does; the second
  // only needs the typo's error, and skips them (a fifth of the time).
  const strict = { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true };
  const check = (include: string[], skipLibCheck: boolean) =>
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { ...strict, skipLibCheck },
      include,
    });
  write(dir, 'tsconfig.check.json', check(['app', 'check/handler.ts'], false));
  write(dir, 'tsconfig.typo.json', check(['check/typo.ts'], true));
  write(dir, 'check/handler.ts', HANDLER);
  write(dir, 'check/typo.ts', HANDLER.replace('res.requireAssets(', 'res.requireAsset('));
  return packages.filter((name) => name !== 'express-asset-registry');
}

function writeModuleApp(dir: string, file: string, source: string): void {
  write(dir, file, source);
  write(dir, 'src/site.js', "document.documentElement.className = 'js';\n");
  write(dir, 'src/site.css', 'body { margin: 0 }\n');
}

function write(dir: string, file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
}

/** A handler that uses every augmented member; `typo.ts` is this with one letter dropped. */
const HANDLER = `import express from 'express';
import { defineAssets } from 'express-asset-registry';

const assets = defineAssets({ root: 'assets', outDir: 'gen', assets: ['x.js'] });
const app = express();
app.use(assets.middleware());
app.get('/', (req, res) => {
  res.requireAssets('x.js');
  const tags: string = res.locals.assetTags('css') + res.locals.requireAsset('x.js');
  const needs = res.locals.pageAssets;
  res.send(tags + String(needs));
});
`;

/** What the CommonJS and the ESM app print: their bundles' files and a configuration error. */
const MODULE_APP_OUTPUT = {
  bundles: ['main.<hash>.css', 'main.<hash>.js'],
  error: { configError: true, code: 'ASSET_CONFIG' },
};

const MODULE_APP_BODY = `
const options = { root: path.join(dir, 'src'), outDir: path.join(dir, 'out'), mode: 'production' };
const assets = defineAssets({ ...options, assets: ['site.js', 'site.css'] });
const build = await assets.build();
let error;
try {
  defineAssets({ ...options, assets: [{ path: 'site.js', deps: ['missing.js'] }] });
} catch (thrown) {
  error = { configError: thrown instanceof AssetConfigError, code: thrown.code };
}
const bundles = build.bundles.map((bundle) => bundle.file.replace(/\\.[0-9a-f]{12}\\./, '.<hash>.'));
console.log(JSON.stringify({ bundles: bundles.sort(), error }));
`;

const CJS_APP = `const path = require('node:path');
const { defineAssets, AssetConfigError } = require('express-asset-registry');

const dir = __dirname;
(async () => {${MODULE_APP_BODY}})();
`;

const ESM_APP = `import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineAssets, AssetConfigError } from 'express-asset-registry';

const dir = path.dirname(fileURLToPath(import.meta.url));
${MODULE_APP_BODY}`;
