import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import fc from 'fast-check';
import {
  AssetBuildError,
  AssetConfigError,
  AssetMissingError,
  defineAssets,
  type AssetEntry,
  type Build,
} from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { builtSite, SITE_ASSETS, SITE_FILES } from '../app';
import { snapshot, tempDir, writeFiles } from '../helpers';
import { decodedBody, listenRaw, type RawResponse, type RawServer } from '../raw';

/**
 * Properties over random input, with fast-check: asset names through the page API and through
 * defineAssets() and build(), URL paths and header values through a real server. Each run count
 * below is quoted in SECURITY.md.
 */

const RUNS = { pageNames: 500, registryNames: 300, devNames: 200, paths: 500, headers: 500 };
const CANARY = `CANARY-${process.pid}-property`;

/** Bits of paths that mean something to some file system, URL parser or server. */
const PATH_TOKENS = [
  '..',
  '.',
  '',
  '...',
  '%2e',
  '%2e%2e',
  '%2E%2e',
  '%252e%252e',
  '%2f',
  '%2F',
  '%5c',
  '\\',
  '%00',
  '%c0%ae',
  '%c0%af',
  '%ef%bc%8e',
  '~',
  ';',
  '?',
  '#',
  '//',
  ' ',
  'é',
  'vendor',
  'site',
  'lib.js',
  'widgets.js',
  'base.less',
  'canary.js',
  'canary.txt',
  'manifest.json',
  '.cache',
  'out',
  'dev',
  '__proto__',
  'constructor',
];

const loneSurrogate = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((unit) => String.fromCharCode(unit));

/** A string from path-like tokens and any code points (lone surrogates too), "/" or "\" joined. */
const pathLike = (tokens: string[]) =>
  fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...tokens) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
        { weight: 1, arbitrary: loneSurrogate },
      ),
      { maxLength: 8 },
    )
    .chain((parts) => fc.constantFrom('/', '\\', '').map((separator) => parts.join(separator)));

let site: AssetRegistry;

beforeAll(async () => {
  site = await builtSite({ logger: false });
});

describe('names', () => {
  const registered = SITE_ASSETS.map((entry) => (typeof entry === 'string' ? entry : entry.path));
  const names = fc.oneof(
    fc.constantFrom(...registered, '__proto__', 'constructor', 'hasOwnProperty', ''),
    pathLike([...PATH_TOKENS, ...registered]),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 2_000, maxLength: 20_000 }),
  );

  test('page.require() (res.requireAssets, requireAsset): a name is needed or AssetMissingError', () => {
    fc.assert(
      fc.property(fc.array(names, { maxLength: 5 }), (list) => {
        const page = site.page();
        try {
          page.require(...list);
        } catch (error) {
          expect(error).toBeInstanceOf(AssetMissingError);
          expect(list).toContain((error as AssetMissingError).asset);
          expect(registered).not.toContain((error as AssetMissingError).asset);
          return;
        }
        for (const name of list) expect(registered).toContain(name);
        for (const name of list) expect(page.needs.has(name)).toBe(true);
      }),
      { numRuns: RUNS.pageNames },
    );
  });

  test('page.require() with any values: a TypeError for what is not a string, nothing else', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(names, fc.anything()), { maxLength: 4 }), (list) => {
        try {
          site.page().require(...list);
        } catch (error) {
          const flat: unknown[] = list.flat();
          if (error instanceof TypeError) {
            expect(flat.some((name) => typeof name !== 'string')).toBe(true);
          } else {
            expect(error).toBeInstanceOf(AssetMissingError);
            expect(flat).toContain((error as AssetMissingError).asset);
          }
        }
      }),
      { numRuns: RUNS.pageNames },
    );
  });

  test('defineAssets() and build(): only documented errors, and never a file outside the load path or outDir', async () => {
    // base/root holds the assets, with a symlink out to base/outside; base/out is outDir.
    const base = tempDir('asset-property-');
    const root = path.join(base, 'root');
    const outDir = path.join(base, 'out');
    writeFiles(root, {
      ...SITE_FILES,
      'dev/a.js': 'window.a = 1;\n',
      'é/b.css': '.b { color: red; }\n',
      'site/c.less': '@import "../site/base.less";\n.c { color: @color; }\n',
    });
    writeFiles(base, {
      'outside/secret.js': `window.secret = "${CANARY}";\n`,
      'outside/secret.css': `.secret { content: "${CANARY}"; }\n`,
      'canary.js': `window.canary = "${CANARY}";\n`,
    });
    fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'linked'));
    fs.symlinkSync(path.join(base, 'outside', 'secret.js'), path.join(root, 'secret.js'));
    const files = [...Object.keys(SITE_FILES), 'dev/a.js', 'é/b.css', 'site/c.less'];
    const tokens = [
      ...PATH_TOKENS,
      ...files,
      'linked',
      'secret.js',
      'secret.css',
      'outside',
      'root',
      '../outside/secret.js',
      '../canary.js',
    ];
    const file = fc.constantFrom(...files);
    const name = fc.oneof(
      { weight: 8, arbitrary: file },
      { weight: 1, arbitrary: fc.constantFrom('linked/secret.js', 'secret.js') },
      { weight: 4, arbitrary: pathLike(tokens) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    );
    const entry: fc.Arbitrary<AssetEntry> = fc.oneof(
      { weight: 3, arbitrary: name },
      {
        weight: 1,
        arbitrary: fc.record(
          {
            path: name,
            deps: fc.array(fc.oneof({ weight: 4, arbitrary: file }, name), { maxLength: 2 }),
            bundle: fc.constantFrom('main', 'main', 'other', '../x', ''),
          },
          { requiredKeys: ['path'] },
        ),
      },
    );
    const outsideBefore = snapshot(base);
    const read = (build: Build) =>
      build.bundles.map((bundle) => fs.readFileSync(path.join(outDir, bundle.file), 'utf8'));
    let built = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 2 }), async (assets) => {
        let registry;
        try {
          registry = defineAssets({ root, outDir, assets, mode: 'production', logger: false });
        } catch (error) {
          expect(error instanceof TypeError || error instanceof AssetConfigError).toBe(true);
          return;
        }
        let build: Build;
        try {
          build = await registry.build();
        } catch (error) {
          expect(error instanceof AssetConfigError || error instanceof AssetBuildError).toBe(true);
          return;
        }
        built++;
        for (const text of read(build)) expect(text).not.toContain(CANARY);
      }),
      { numRuns: RUNS.registryNames },
    );
    // Some runs built for real: the property is not only about refusals.
    expect(built).toBeGreaterThan(RUNS.registryNames / 10);
    const outsideAfter = snapshot(base);
    const notOut = (files: Record<string, string>) =>
      Object.fromEntries(Object.entries(files).filter(([file]) => !file.startsWith('out/')));
    expect(notOut(outsideAfter)).toEqual(notOut(outsideBefore));
    for (const file of Object.keys(snapshot(outDir))) {
      expect(path.resolve(outDir, file).startsWith(`${outDir}${path.sep}`)).toBe(true);
    }
  });
});

describe('file names in development URLs', () => {
  test('a tag leads a browser to its file, whatever the file is called', async () => {
    const root = tempDir('asset-dev-names-');
    const stem = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 12 })
      .filter((text) => !/[/\\\0]/.test(text) && text !== '.' && text !== '..');
    const stems = [...new Set(fc.sample(stem, RUNS.devNames))];
    const names = stems.map((text, i) => `n${i}/${text}.js`);
    writeFiles(
      root,
      Object.fromEntries(
        names.map((name, i) => [name, `window.n${i} = ${JSON.stringify(name)};\n`]),
      ),
    );
    const assets = defineAssets({
      root,
      outDir: path.join(root, 'out'),
      assets: names,
      mode: 'development',
      logger: false,
    });
    try {
      await assets.build();
      expect(assets.failure).toBeUndefined();
      const app = express();
      app.use(assets.middleware());
      const server = await listenRaw(app);
      try {
        const page = assets.page();
        page.require(names);
        const hrefs = [...page.tags('js').matchAll(/src="([^"]*)"/g)].map((match) =>
          unescapeHtml(match[1]),
        );
        expect(hrefs).toHaveLength(names.length);
        for (const [i, href] of hrefs.entries()) {
          const url = new URL(href, 'http://localhost/');
          const response = await server.request(`${url.pathname}${url.search}`);
          expect({ name: names[i], status: response.status }).toEqual({
            name: names[i],
            status: 200,
          });
          expect(response.body.toString()).toBe(`window.n${i} = ${JSON.stringify(names[i])};\n`);
        }
      } finally {
        await server.close();
      }
    } finally {
      await assets.close();
    }
  });
});

function unescapeHtml(text: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => entities[entity]);
}

describe('requests', () => {
  let server: RawServer;
  let served: Buffer[];
  let bundlePath: string;

  beforeAll(async () => {
    const outDir = site.options.outDir;
    // Canaries next to outDir, in it (unlisted), and in the load path.
    writeFiles(path.dirname(outDir), { 'canary.js': CANARY, 'canary.txt': CANARY });
    writeFiles(outDir, { 'canary.txt': CANARY, 'canary.js': CANARY });
    writeFiles(site.options.roots[0], { 'site/canary.js': CANARY });
    served = [...site.current.files.values()].map((file) => file.body);
    bundlePath = new URL(site.current.bundles[0].url, 'http://localhost').pathname;
    const app = express();
    app.use(site.middleware());
    app.get('/page', (_req, res) => {
      res.requireAssets('site/widgets.js');
      res.send(res.locals.assetTags('js'));
    });
    server = await listenRaw(app);
  });

  afterAll(() => server.close());

  /** Never a 5xx, never a canary; a 200 but the page is one of the build's files, byte for byte. */
  function check(response: RawResponse): void {
    expect(response.status).toBeLessThan(500);
    expect(response.bytes.toString('latin1')).not.toContain(CANARY);
    if (response.status === 200 && !response.headers['content-type']?.startsWith('text/html')) {
      const body = decodedBody(response);
      expect(served.some((file) => file.equals(body))).toBe(true);
    }
  }

  const prefixes = [
    '/assets/',
    '/assets',
    '/',
    '//',
    '/assets/dev/',
    '/other/',
    '',
    'http://x/assets/',
  ];
  const target = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...prefixes), pathLike(PATH_TOKENS)) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(...prefixes),
        fc.string({ unit: 'binary-ascii', maxLength: 60 }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(...prefixes),
        fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      ),
    },
  );

  test('URL paths under and outside the prefix', async () => {
    const file = path.posix.basename(bundlePath);
    await fc.assert(
      fc.asyncProperty(target, fc.boolean(), async ([prefix, rest], withFile) => {
        const text = withFile ? `${prefix}${rest}${file}` : `${prefix}${rest}`;
        check(await server.request(Buffer.from(text, 'latin1')));
      }),
      { numRuns: RUNS.paths },
    );
  });

  test('Accept-Encoding, If-None-Match and Range values of any bytes', async () => {
    const etag = site.current.files.get(path.posix.basename(bundlePath))!.etag;
    const value = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes)),
      fc
        .array(
          fc.constantFrom(
            'br',
            'gzip',
            'identity',
            '*',
            'dcz',
            ';q=',
            '0',
            '1',
            '.5',
            ',',
            ' ',
            etag,
            'W/',
            '"',
          ),
          { maxLength: 12 },
        )
        .map((parts) => Buffer.from(parts.join(''))),
    );
    const header = fc.constantFrom(
      'Accept-Encoding',
      'If-None-Match',
      'Range',
      'Available-Dictionary',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(header, value), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(bundlePath, '/assets/nothing.js', '/page'),
        async (headers, url) => check(await server.request(url, Object.fromEntries(headers))),
      ),
      { numRuns: RUNS.headers },
    );
  });
});
