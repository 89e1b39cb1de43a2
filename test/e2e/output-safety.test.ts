import path from 'node:path';
import express from 'express';
import type { ErrorRequestHandler } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { defineAssets } from '../../src';
import type { AssetOptions, Build, ManifestBundle } from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { preloadLinks, tagsFor } from '../../src/page/tags';
import { builtSite, SITE_ASSETS, SITE_FILES } from '../app';
import { tempDir, writeFiles } from '../helpers';
import { listenRaw } from '../raw';

/**
 * What the library prints into pages and answers by itself: tags whose attributes hold exactly
 * the URL and nonce they were given, whatever those hold; library pages that escape everything
 * they show; and in production, no stack trace or path of the server in any answer.
 */

const RUNS = { tags: 1_000 };
const NASTY = `"'<>&\`=/ \t\n\u2028<script>alert(1)</script><img src=x onerror=alert(1)>&amp;&#34;`;

const opened: AssetRegistry[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((assets) => assets.close()));
});

function unescapeHtml(text: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => entities[entity]);
}

/**
 * Parses the library's tags strictly: each one a `<script ...></script>` or `<link ...>` whose
 * attributes are all `name` or `name="value"` with no raw `"`, `<` or `>` in a value. Anything
 * that broke out of an attribute fails here.
 */
function parseTags(html: string): { tag: string; attributes: Record<string, string> }[] {
  const tags = [];
  const pattern = /\n?<(script|link)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)>(?:<\/script>)?/y;
  let parsed = '';
  for (let match = pattern.exec(html); match; match = pattern.exec(html)) {
    parsed += match[0];
    const attributes: Record<string, string> = {};
    for (const [, name, value] of match[2].matchAll(/\s+([a-z-]+)(?:="([^"]*)")?/g)) {
      expect(attributes).not.toHaveProperty(name);
      attributes[name] = value === undefined ? '' : unescapeHtml(value);
    }
    tags.push({ tag: match[1], attributes });
  }
  // Every character belongs to a tag: nothing broke out of one.
  expect(parsed).toBe(html);
  return tags;
}

/** A `Link` header's values, each one URL in <> and its parameters, nothing else. */
function expectSafeLinks(header: string): void {
  for (const value of header.split(/, (?=<)/)) {
    expect(value).toMatch(
      /^<[^<>\s"\\]+>; rel=preload; as=(style|script)(; crossorigin=anonymous)?; integrity="sha384-[A-Za-z0-9+/=]+"$/,
    );
  }
}

/** A build in memory with one JS and one CSS bundle at these URLs: what tags are made from. */
function buildWith(urls: { js: string; css: string }): Build {
  const bundle = (kind: 'js' | 'css', asset: string): ManifestBundle => ({
    id: `main.${kind}`,
    group: 'main',
    kind,
    file: `main.0123456789ab.${kind}`,
    url: urls[kind],
    map: '',
    integrity: 'sha384-AbC+/=',
    sizes: { source: 0, min: 0, gzip: 0, brotli: 0 },
    members: [{ asset, source: 0, min: 0 }],
  });
  const bundles = [bundle('css', 'a.css'), bundle('js', 'a.js')];
  return {
    manifest: {
      version: 1,
      fingerprint: '',
      inputHash: '',
      bundles,
      copies: {},
      inputs: {},
      files: [],
      previous: [],
    },
    bundles,
    files: new Map(),
    reused: false,
  };
}

describe('tags', () => {
  test('a URL and a nonce of any text stay inside their attributes', () => {
    const text = fc.string({
      unit: fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 1 })),
      maxLength: 30,
    });
    fc.assert(
      fc.property(
        fc.constantFrom('/', 'https://cdn.example.com/'),
        text,
        text,
        fc.option(text),
        (base, js, css, nonce) => {
          const urls = { js: `${base}${js}`, css: `${base}${css}` };
          const build = buildWith(urls);
          const needs = new Set(['a.js', 'a.css']);
          const crossOrigin = base.startsWith('https:');
          for (const kind of ['css', 'js'] as const) {
            const [tag] = parseTags(
              tagsFor(
                build,
                { publicUrl: { crossOrigin }, preloadFonts: true },
                needs,
                kind,
                nonce ?? undefined,
              ),
            );
            expect(tag.tag).toBe(kind === 'js' ? 'script' : 'link');
            expect(tag.attributes[kind === 'js' ? 'src' : 'href']).toBe(urls[kind]);
            expect(tag.attributes.integrity).toBe('sha384-AbC+/=');
            if (nonce) expect(tag.attributes.nonce).toBe(nonce);
            else expect(tag.attributes).not.toHaveProperty('nonce');
            expect('crossorigin' in tag.attributes).toBe(crossOrigin);
          }
        },
      ),
      { numRuns: RUNS.tags },
    );
  });

  test('Link header values: one URL in <>, nothing that ends the header or the value', () => {
    // URLs as the library makes them: a publicPath (defineAssets checks its escapes are whole)
    // and a file name, or a development file (escaped by name).
    const decodable = (value: string) => {
      try {
        return decodeURI(value) !== undefined;
      } catch {
        return false;
      }
    };
    const any = fc.string({ unit: 'binary', maxLength: 1 });
    const urlish = fc.constantFrom(...'"\'<>&;,#?', '%20', '%23', 'é', 'a', '/', '.');
    const text = (unit: fc.Arbitrary<string>) =>
      fc.string({ unit, maxLength: 30 }).filter(decodable);
    fc.assert(
      fc.property(text(fc.oneof(urlish, any)), text(urlish), (anything, plain) => {
        const build = buildWith({ js: `/p${anything}`, css: `/p${plain}` });
        const links = preloadLinks(
          build,
          { publicUrl: { crossOrigin: false }, preloadFonts: true },
          new Set(['a.js', 'a.css']),
        );
        expect(links).toHaveLength(2);
        expectSafeLinks(links.join(', '));
        // For URL-like text, the same URL as the tag's once a browser has escaped the tag's: a
        // preload that the tag reuses.
        const css = links[0].slice(1, links[0].indexOf('>'));
        expect(new URL(css, 'http://x').href).toBe(new URL(`/p${plain}`, 'http://x').href);
      }),
      { numRuns: RUNS.tags },
    );
  });

  test('through the middleware: a publicPath with quotes, <, > and &, and a hostile nonce', async () => {
    const publicPath = `/a"b'c<d>e&f/`;
    const nonce = `"><script>alert(1)</script>`;
    const assets = await builtSite({ publicPath, logger: false });
    const app = express();
    app.use(assets.middleware());
    app.get('/', (_req, res) => {
      res.locals.cspNonce = nonce;
      res.requireAssets('site/widgets.js', 'admin/editor.js');
      res.send(`${res.locals.assetTags('css')}\n${res.locals.assetTags('js')}`);
    });
    const response = await request(app).get('/').expect(200);
    const tags = parseTags(response.text);
    expect(tags).toHaveLength(4);
    for (const { attributes } of tags) {
      const url = attributes.src ?? attributes.href;
      expect(url.startsWith(publicPath)).toBe(true);
      expect(attributes.nonce).toBe(nonce);
      // A browser escapes the URL's quotes and brackets; the server answers that path.
      const served = await request(app).get(new URL(url, 'http://localhost').pathname);
      expect(served.status).toBe(200);
    }
    expectSafeLinks(String(response.headers.link));
  });

  test('development: names with quotes, <, > and & in their tags, and each tag fetches its file', async () => {
    const root = tempDir();
    const names = [
      `odd/a"b.js`,
      `odd/<img src=x onerror=alert(1)>.js`,
      `odd/&amp;'.css`,
      'odd/ #?%.js',
    ];
    writeFiles(
      root,
      Object.fromEntries(
        names.map((name, i) => [name, name.endsWith('.css') ? '.x {}\n' : `window.x${i} = 1;\n`]),
      ),
    );
    const assets = defineAssets({
      root,
      outDir: path.join(root, 'out'),
      assets: names,
      mode: 'development',
      logger: false,
    });
    opened.push(assets);
    await assets.build();
    const app = express();
    app.use(assets.middleware());
    app.get('/', (_req, res) => {
      res.requireAssets(names);
      res.send(`${res.locals.assetTags('css')}\n${res.locals.assetTags('js')}`);
    });
    const response = await request(app).get('/').expect(200);
    expect(response.text).not.toContain('<img');
    const tags = parseTags(response.text);
    expect(tags).toHaveLength(names.length);
    for (const { attributes } of tags) {
      const url = new URL(attributes.src ?? attributes.href, 'http://localhost');
      expect((await request(app).get(`${url.pathname}${url.search}`)).status).toBe(200);
    }
  });
});

describe('library pages escape what they show', () => {
  const HOSTILE = '<img src=x onerror=alert(1)>';

  async function developmentApp(files: Record<string, string>, assets: AssetOptions['assets']) {
    const root = tempDir();
    writeFiles(root, { ...SITE_FILES, ...files });
    const registry = defineAssets({
      root,
      outDir: path.join(root, 'out'),
      assets,
      mode: 'development',
      logger: false,
    });
    opened.push(registry);
    await registry.build();
    const app = express();
    app.use(registry.middleware());
    app.use((req, res) => {
      res.requireAssets(req.path === '/missing' ? `site/${HOSTILE}x.js` : 'site/widgets.js');
      res.send('page');
    });
    app.use(registry.errorHandler());
    return { app, registry };
  }

  function expectEscaped(html: string): void {
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toContain('onerror=alert(1)>');
  }

  test('the report page: asset names, dependency edges and routes', async () => {
    const hostileName = `site/${HOSTILE}.js`;
    const { app } = await developmentApp({ [hostileName]: 'window.h = 1;\n' }, [
      ...SITE_ASSETS,
      { path: hostileName, deps: ['site/widgets.js'] },
    ]);
    // A request path is recorded as the route of a page that needed assets.
    const server = await listenRaw(app);
    try {
      expect(
        (await server.request(`/${HOSTILE.replace(/ /g, '%20')}<script>alert(1)</script>`)).status,
      ).toBe(200);
    } finally {
      await server.close();
    }
    const report = await request(app).get('/assets/_report').expect(200);
    expectEscaped(report.text);
    expect(report.text).toContain('site/&lt;img src=x onerror=alert(1)&gt;.js');
    expect(report.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  test('the error page: the compiler message, the source lines, the asset and its suggestions', async () => {
    const broken = `site/${HOSTILE}x.js`;
    const { app, registry } = await developmentApp(
      { [broken]: `var ok = 1;\nvar s = "</script><script>alert(1)</script>" +;\n` },
      [...SITE_ASSETS, broken],
    );
    expect(registry.failure).toBeDefined();
    const page = await request(app).get('/').set('Accept', 'text/html').expect(500);
    expectEscaped(page.text);
    expect(page.text).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).toContain('site/&lt;img src=x onerror=alert(1)&gt;x.js');
  });

  test('the error page of an unknown name: the name and the suggestions', async () => {
    const near = `site/${HOSTILE}.js`;
    const { app } = await developmentApp({ [near]: '1;\n' }, [...SITE_ASSETS, near]);
    const page = await request(app).get('/missing').set('Accept', 'text/html').expect(500);
    expectEscaped(page.text);
    expect(page.text).toContain('AssetMissingError');
    expect(page.text).toContain('site/&lt;img src=x onerror=alert(1)&gt;.js');
  });
});

describe('production: no stack trace and no server path in any answer', () => {
  let assets: AssetRegistry;
  beforeAll(async () => {
    assets = await builtSite({ logger: false });
  });

  /** Whatever in an answer would tell a visitor about the server's files or code. */
  function expectNothingLeaked(text: string): void {
    expect(text).not.toMatch(/\bat .+:\d+:\d+/); // a stack frame
    expect(text).not.toContain(assets.options.outDir);
    expect(text).not.toContain(assets.options.roots[0]);
    expect(text).not.toContain(path.resolve(__dirname, '..', '..'));
    expect(text).not.toContain('node_modules');
  }

  test('what the library answers itself: 404, 405, 304, HEAD', async () => {
    const app = express();
    app.use(assets.middleware());
    const bundle = assets.current.bundles[0];
    const answers = [
      await request(app).get('/assets/nothing.js'),
      await request(app).get('/assets/../package.json'),
      await request(app).post(bundle.url),
      await request(app).delete('/assets/nothing.js'),
      await request(app).get(bundle.url).set('If-None-Match', '*'),
      await request(app).head(bundle.url),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 405, 404, 304, 200]);
    for (const answer of answers) {
      expectNothingLeaked(`${JSON.stringify(answer.headers)}\n${answer.text ?? ''}`);
    }
  });

  const failingRoutes = (app: express.Express) => {
    app.get('/missing', (_req, res) => {
      res.requireAssets('site/nope.js');
      res.send('never');
    });
    app.get('/type', (_req, res) => {
      res.requireAssets(42 as never);
      res.send('never');
    });
  };

  /** Express's own error handler logs each error it handles: these tests expect them. */
  const expressLogs = () => jest.spyOn(console, 'error').mockImplementation(() => undefined);
  afterEach(() => jest.restoreAllMocks());

  test("Express's own error handler in production (NODE_ENV=production) shows no stack", async () => {
    const logged = expressLogs();
    const app = express();
    app.set('env', 'production');
    app.use(assets.middleware());
    failingRoutes(app);
    for (const url of ['/missing', '/type']) {
      const response = await request(app).get(url).expect(500);
      expectNothingLeaked(response.text);
      expect(response.text).toContain('Internal Server Error');
      expect(response.text).not.toContain('nope.js');
    }
    // Before build() finished, a page is an error too, and says no more.
    const early = defineAssets({
      root: assets.options.roots[0],
      outDir: assets.options.outDir,
      assets: SITE_ASSETS,
      mode: 'production',
    });
    const notBuilt = express();
    notBuilt.set('env', 'production');
    notBuilt.use(early.middleware());
    notBuilt.get('/', (_req, res) => res.send('page'));
    const response = await request(notBuilt).get('/').expect(500);
    expectNothingLeaked(response.text);
    expect(logged).toHaveBeenCalledTimes(3);
  });

  test("...while in development it shows the stack: the app's error handler is the app's choice", async () => {
    const logged = expressLogs();
    const app = express();
    app.set('env', 'development');
    app.use(assets.middleware());
    failingRoutes(app);
    const response = await request(app).get('/missing').expect(500);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(response.text).toContain('AssetMissingError');
    expect(response.text).toMatch(/at .+:\d+:\d+/);
  });

  test('an app error handler that shows error.message shows the asset name, never a path', async () => {
    // The messages a request can cause: AssetMissingError and TypeError. Build errors, which
    // name files, happen at startup, not in a request.
    const showMessage: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).send(error.message);
    };
    const app = express();
    app.use(assets.middleware());
    failingRoutes(app);
    app.use(showMessage);
    for (const url of ['/missing', '/type']) {
      expectNothingLeaked((await request(app).get(url).expect(500)).text);
    }
  });
});
