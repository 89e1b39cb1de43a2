import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import type { Manifest } from '../../src';
import type { AuditResult } from '../../src/cli/audit';
import type { SizeReport } from '../../src/cli/report';
import { CLI, cli, DIST, ensureDist, node, siteWithModule } from '../dist';
import { writeFiles } from '../helpers';
import { SITE_ASSETS } from '../site';

type Run = Awaited<ReturnType<typeof cli>>;

function manifestIn(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest;
}

beforeAll(ensureDist, 120_000);

describe('asset-registry', () => {
  test('--help prints the usage, the commands and the exit codes, and exits 0', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: asset-registry <command> <registry-module>/);
    const words = [
      'build',
      'report',
      'audit',
      'nginx',
      '--scan',
      '--out',
      '--json',
      'tsx',
      'Exit codes',
    ];
    for (const word of words) {
      expect(stdout).toContain(word);
    }
  });

  test('the file runs as a program: it starts with a shebang', () => {
    expect(
      fs.readFileSync(path.join(__dirname, '..', '..', 'dist', 'cli', 'cli.js'), 'utf8'),
    ).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  // Each case is a process: they run at once, in beforeAll, and each test reads its result.
  describe('usage errors exit 2 with a message and a pointer to --help', () => {
    const CASES: [string[], RegExp][] = [
      [[], /missing the command/],
      [['deploy', 'assets.js'], /unknown command "deploy"/],
      [['build'], /missing the registry module/],
      [['build', 'no-such-module.js'], /cannot find the registry module "no-such-module.js"/],
      [['build', 'assets.js', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['build', 'assets.js', '--json'], /--json is for report and audit/],
      [['report', 'assets.js', '--scan', 'views'], /--scan is for audit/],
      [['audit', 'assets.js'], /audit needs the folders to scan/],
      [['audit', 'assets.js', '--scan', 'no-such-folder'], /cannot scan "no-such-folder"/],
      [['audit', 'nothing.js', '--scan', 'assets.js'], /nothing\.js exports no registry/],
      [['build', 'assets.js', '--out', 'nginx'], /--out is for nginx/],
      [['nginx', 'assets.js', '--json'], /--json is for report and audit/],
    ];
    const results = new Map<string, Run>();
    beforeAll(async () => {
      const dir = siteWithModule();
      writeFiles(dir, { 'nothing.js': 'exports.answer = 42;\n' });
      await Promise.all(
        CASES.map(async ([args]) => results.set(args.join(' '), await cli(args, { cwd: dir }))),
      );
    });
    test.each(CASES)('%j', (args, message) => {
      const { code, stdout, stderr } = results.get(args.join(' '))!;
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toMatch(message);
      expect(stderr).toContain('Run "asset-registry --help"');
    });
  });

  describe('the registry module', () => {
    const EXPORTS = [
      ['as default', 'exports.default = assets;'],
      ['as "assets"', 'exports.assets = assets; exports.other = 1;'],
      ['as its only registry', 'exports.site = assets; exports.version = 2;'],
      ['as the module itself', 'module.exports = assets;'],
      ['under two names', 'exports.one = assets; exports.two = assets;'],
      [
        'with another registry',
        'exports.one = assets; exports.two = defineAssets({ ...options, root: assets.options.roots, outDir: "out2" });',
      ],
    ];
    const results = new Map<string, Run>();
    beforeAll(async () => {
      const dir = siteWithModule();
      const defining = fs
        .readFileSync(path.join(dir, 'assets.js'), 'utf8')
        .replace('exports.assets = defineAssets(', 'const assets = defineAssets(');
      // audit over an empty folder: loads the module without building anything.
      fs.mkdirSync(path.join(dir, 'empty'));
      await Promise.all(
        EXPORTS.map(async ([how, exporting], i) => {
          writeFiles(dir, { [`registry${i}.js`]: defining + exporting });
          const args = ['audit', `registry${i}.js`, '--scan', 'empty'];
          results.set(how, await cli(args, { cwd: dir }));
        }),
      );
    });
    test.each(EXPORTS.slice(0, -1))('is found when exported %s', (how) => {
      expect(results.get(how)).toMatchObject({ code: 0, stderr: '' });
    });
    test('two registries exported are ambiguous: exit 2', () => {
      expect(results.get('with another registry')).toMatchObject({ code: 2 });
      expect(results.get('with another registry')!.stderr).toContain('exports 2 registries');
    });

    describe('in TypeScript', () => {
      // Node 22.18+ and 24+ strip types, so require() loads a .ts module as it is; Node 20 cannot.
      const STRIPS_TYPES = Boolean((process.features as { typescript?: unknown }).typescript);
      const LOADER_NEEDED = 'a TypeScript module needs a loader, e.g. node --import tsx';
      const UNUSED = 'Registered but required by nothing (1):\n  site/base.less';
      const index = JSON.stringify(path.join(DIST, 'index.js'));
      const defining = (roots: string) =>
        `import { defineAssets } from ${index};\n${roots}\n` +
        "export default defineAssets({ root: roots, outDir: 'out', assets: ['site/base.less'] });\n";
      const MODULES = {
        'registry.ts': defining("const roots: string[] = ['assets', 'vendor'];"),
        'enum.ts': defining("enum Root { Assets = 'assets' }\nconst roots = [Root.Assets];"),
        'broken.ts': defining("const roots: string[] = ['assets', 'vendor';"),
      };
      const results = new Map<string, Run>();
      beforeAll(async () => {
        const dir = siteWithModule();
        fs.mkdirSync(path.join(dir, 'empty'));
        writeFiles(dir, MODULES);
        const tsx = pathToFileURL(require.resolve('tsx')).href;
        await Promise.all(
          Object.keys(MODULES).flatMap((file) => [
            cli(['audit', file, '--scan', 'empty'], { cwd: dir }).then((run) =>
              results.set(file, run),
            ),
            node(['--import', tsx, CLI, 'audit', file, '--scan', 'empty'], { cwd: dir }).then(
              (run) => results.set(`tsx ${file}`, run),
            ),
          ]),
        );
      });

      test('without a loader: loads where the runtime strips types, else exit 2 saying a loader is needed', () => {
        expect(results.get('registry.ts')).toMatchObject(
          STRIPS_TYPES
            ? { code: 0, stdout: expect.stringContaining(UNUSED), stderr: '' }
            : { code: 2, stdout: '', stderr: expect.stringContaining(LOADER_NEEDED) },
        );
      });
      test('syntax that type stripping cannot erase (an enum) is named, with file:line', () => {
        expect(results.get('enum.ts')).toMatchObject(
          STRIPS_TYPES
            ? {
                code: 1,
                stderr: expect.stringContaining(
                  'cannot load enum.ts (enum.ts:2): SyntaxError [ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX]: ' +
                    'TypeScript enum is not supported in strip-only mode; type stripping only ' +
                    'erases types: rewrite it, or use a loader: node --import tsx',
                ),
              }
            : { code: 2, stderr: expect.stringContaining(LOADER_NEEDED) },
        );
      });
      test('a syntax error is named with its code and file:line, not as a missing loader', () => {
        const { code, stderr } = results.get('broken.ts')!;
        expect({ code, stderr }).toEqual(
          STRIPS_TYPES
            ? {
                code: 1,
                stderr: expect.stringMatching(
                  /^asset-registry: cannot load broken\.ts \(broken\.ts:2\): SyntaxError \[ERR_INVALID_TYPESCRIPT_SYNTAX\]: \S/,
                ),
              }
            : { code: 2, stderr: expect.stringContaining(LOADER_NEEDED) },
        );
      });
      test('with `node --import tsx`, it loads on every runtime, enums included', () => {
        for (const file of ['registry.ts', 'enum.ts']) {
          expect(results.get(`tsx ${file}`)).toMatchObject({ code: 0, stderr: '' });
        }
        expect(results.get('tsx registry.ts')!.stdout).toContain(UNUSED);
        expect(results.get('tsx broken.ts')).toMatchObject({
          code: 1,
          stderr: expect.stringContaining('cannot load broken.ts'),
        });
      });
    });

    describe("that fails to load says why, with the error's code and file:line: exit 1", () => {
      const index = JSON.stringify(path.join(DIST, 'index.js'));
      // [what, file, its text, stderr after "asset-registry: " (<dir> is the module's folder)]
      const CASES: [string, string, string, string][] = [
        [
          'a syntax error',
          'syntax.js',
          `const { defineAssets } = require(${index});\nexports.assets = defineAssets({ root: 'assets', ;\n`,
          "cannot load syntax.js (syntax.js:2): SyntaxError: Unexpected token ';'",
        ],
        [
          'a missing require()',
          'missing.js',
          `const { defineAssets } = require(${index});\nconst paths = require('./paths');\n`,
          "cannot load missing.js (missing.js:2:15): Error [MODULE_NOT_FOUND]: Cannot find module './paths'",
        ],
        [
          'a missing import',
          'missing.mjs',
          `import { defineAssets } from ${index};\nimport paths from './paths.js';\n`,
          "cannot load missing.mjs: Error [ERR_MODULE_NOT_FOUND]: Cannot find module '<dir>/paths.js' imported from <dir>/missing.mjs",
        ],
        [
          'an exception at the top level',
          'throws.js',
          "const root = process.env.NO_SUCH_ROOT;\n\nif (!root) throw new Error('NO_SUCH_ROOT is not set');\n",
          'cannot load throws.js (throws.js:3:18): Error: NO_SUCH_ROOT is not set',
        ],
      ];
      const results = new Map<string, Run>();
      let dir: string;
      beforeAll(async () => {
        dir = fs.realpathSync(siteWithModule());
        fs.mkdirSync(path.join(dir, 'empty'));
        writeFiles(dir, Object.fromEntries(CASES.map(([, file, text]) => [file, text])));
        await Promise.all(
          CASES.map(async ([, file]) =>
            results.set(file, await cli(['audit', file, '--scan', 'empty'], { cwd: dir })),
          ),
        );
      });
      test.each(CASES)('%s', (_, file, __, message) => {
        const expected = message.replaceAll('<dir>', dir);
        expect(results.get(file)).toEqual({
          code: 1,
          stdout: '',
          stderr: `asset-registry: ${expected}\n`,
        });
      });
    });

    test('an ES module with top-level await loads through import()', async () => {
      const dir = siteWithModule();
      fs.mkdirSync(path.join(dir, 'empty'));
      writeFiles(dir, {
        'registry.mjs': [
          `import { defineAssets } from ${JSON.stringify(path.join(DIST, 'index.js'))};`,
          "const root = await Promise.resolve(['assets', 'vendor']);",
          "export const assets = defineAssets({ root, outDir: 'out', assets: ['site/base.less'] });",
        ].join('\n'),
      });
      const { code, stdout, stderr } = await cli(['audit', 'registry.mjs', '--scan', 'empty'], {
        cwd: dir,
      });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toContain('Registered but required by nothing (1):\n  site/base.less');
    });

    test('an invalid option is exit 1 with the option named, and the line that set it', async () => {
      const dir = siteWithModule({ keepVersions: 0 });
      const { code, stderr } = await cli(['build', 'assets.js'], { cwd: dir });
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /^asset-registry: cannot load assets\.js \(assets\.js:\d+:\d+\): TypeError: Option "keepVersions" must be a whole number/,
      );
    });
  });

  describe('build', () => {
    test('writes outDir and the manifest, prints the size table; a second run reuses them', async () => {
      const dir = siteWithModule();
      const first = await cli(['build', 'assets.js'], { cwd: dir });
      expect(first.code).toBe(0);
      const manifest = manifestIn(dir);
      const [header, ...rows] = first.stdout.trim().split('\n');
      expect(header.split(/\s+/)).toEqual(['bundle', 'members', 'source', 'min', 'gzip', 'brotli']);
      expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(manifest.bundles.map((b) => b.file));
      expect(first.stderr).toBe('Built: out\n');
      for (const bundle of manifest.bundles) {
        expect(fs.existsSync(path.join(dir, 'out', `${bundle.file}.br`))).toBe(true);
      }
      const second = await cli(['build', 'assets.js'], { cwd: dir });
      expect(second).toEqual({ code: 0, stdout: first.stdout, stderr: 'Up to date: out\n' });
    });

    test('builds for real when outDir is stale, even with requirePrebuilt in the module', async () => {
      const dir = siteWithModule({ requirePrebuilt: true });
      expect((await cli(['build', 'assets.js'], { cwd: dir })).code).toBe(0);
      const before = manifestIn(dir);
      fs.appendFileSync(path.join(dir, 'assets', 'admin', 'editor.js'), "tiny.mark('v2');\n");
      const { code, stderr } = await cli(['build', 'assets.js'], { cwd: dir });
      expect({ code, stderr }).toEqual({ code: 0, stderr: 'Built: out\n' });
      const after = manifestIn(dir);
      const file = (manifest: Manifest) => manifest.bundles.find((b) => b.id === 'admin.js')!.file;
      expect(file(after)).not.toBe(file(before));
      expect(after.previous[0]).toEqual(before.files);
    });

    test('a compile error is exit 1 with file, line and column', async () => {
      const dir = siteWithModule();
      writeFiles(dir, { 'assets/admin/editor.js': 'tiny.mark(;\n' });
      const { code, stdout, stderr } = await cli(['build', 'assets.js'], { cwd: dir });
      expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
      expect(stderr).toMatch(/^asset-registry: admin\/editor\.js:1:\d+: /);
    });

    test('over budget is exit 1, naming a bundle over it', async () => {
      const dir = siteWithModule({ budget: { js: 10 } });
      const { code, stderr } = await cli(['build', 'assets.js'], { cwd: dir });
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /bundle "(main|admin)\.js" is [\d,]+ B as brotli, over its budget of 10 B/,
      );
    });
  });

  // test/e2e/nginx.test.ts runs the configuration in nginx; here, the command line.
  describe('nginx', () => {
    test('prints http.conf and server.conf, each headed by where it goes; --out writes them', async () => {
      const dir = siteWithModule();
      const printed = await cli(['nginx', 'assets.js'], { cwd: dir });
      expect(printed).toMatchObject({ code: 0, stderr: '' });
      const at = printed.stdout.indexOf('# server.conf: ');
      expect(printed.stdout).toMatch(/^# http\.conf: include it in nginx's http block/);
      expect(at).toBeGreaterThan(0);
      const main = manifestIn(dir).bundles.find((bundle) => bundle.id === 'main.js')!.file;
      expect(printed.stdout).toContain(`    /assets/${main} ${main};\n`);
      expect(printed.stdout).toContain(`alias "${fs.realpathSync(dir)}/out/";`);

      const written = await cli(['nginx', 'assets.js', '--out', 'conf/nginx'], { cwd: dir });
      expect(written).toEqual({ code: 0, stdout: '', stderr: '' });
      const read = (file: string) => fs.readFileSync(path.join(dir, 'conf/nginx', file), 'utf8');
      expect(`${read('http.conf')}\n${read('server.conf')}`).toBe(printed.stdout);
    });

    test('a registry in development mode is exit 2: nginx serves production builds', async () => {
      const dir = siteWithModule({ mode: 'development' });
      const { code, stderr } = await cli(['nginx', 'assets.js'], { cwd: dir });
      expect(code).toBe(2);
      expect(stderr).toMatch(/nginx serves production builds/);
    });
  });

  describe('report', () => {
    test('sizes per bundle and per asset, each asset compressed alone', async () => {
      const dir = siteWithModule({ budget: { css: 100_000 } });
      const { code, stdout } = await cli(['report', 'assets.js', '--json'], { cwd: dir });
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as SizeReport;
      const manifest = manifestIn(dir);
      expect(report.outDir).toBe(path.join(fs.realpathSync(dir), 'out'));
      expect(report.withinBudgets).toBe(true);
      expect(report.bundles.map(({ id, file, sizes }) => ({ id, file, sizes }))).toEqual(
        manifest.bundles.map(({ id, file, sizes }) => ({ id, file, sizes })),
      );
      const css = report.bundles.find((b) => b.kind === 'css')!;
      expect({ budget: css.budget, within: css.withinBudget }).toEqual({
        budget: 100_000,
        within: true,
      });
      expect(report.bundles.find((b) => b.kind === 'js')!.budget).toBeUndefined();
      const members = report.bundles.flatMap((bundle) => bundle.members);
      expect(members.map((m) => m.asset).sort()).toEqual(
        SITE_ASSETS.map((a) => (typeof a === 'string' ? a : a.path)).sort(),
      );
      // admin.js has one member: the bundle without its map comment is that compiled code.
      const admin = manifest.bundles.find((b) => b.id === 'admin.js')!;
      const editor = members.find((m) => m.asset === 'admin/editor.js')!;
      const editorCode = fs
        .readFileSync(path.join(dir, 'out', admin.file), 'utf8')
        .replace(/\n\/\/# sourceMappingURL=.*\n$/, '');
      expect(editor.min).toBe(Buffer.byteLength(editorCode));
      expect(editor.brotli).toBe(
        zlib.brotliCompressSync(editorCode, brotliBest(editorCode)).length,
      );
      for (const member of members) {
        expect(member.compressed).toBe('alone');
        expect(member.brotli).toBeGreaterThan(0);
        expect(member.gzip).toBeGreaterThan(0);
      }
    });

    test('the table: bundles, members indented, budgets; over budget is exit 1', async () => {
      const dir = siteWithModule({ budget: { js: 10 } });
      const { code, stdout } = await cli(['report', 'assets.js'], { cwd: dir });
      expect(code).toBe(1);
      const lines = stdout.split('\n');
      expect(lines[0].split(/\s{2,}/)).toEqual([
        'bundle / asset',
        'source',
        'min',
        'gzip',
        'brotli',
        'budget (brotli)',
      ]);
      expect(stdout).toMatch(/^main\.js \(main\.[0-9a-f]{12}\.js\) .* 10 OVER by [\d,]+$/m);
      expect(stdout).toMatch(/^main\.css \(main\.[0-9a-f]{12}\.css\) .* none$/m);
      expect(stdout).toMatch(/^ {2}site\/widgets\.js +[\d,]+ +[\d,]+ +[\d,]+ +[\d,]+$/m);
      expect(stdout).not.toContain('~');
    });

    test('without the compile cache, asset gzip/brotli are estimates, and say so', async () => {
      const dir = siteWithModule();
      expect((await cli(['build', 'assets.js'], { cwd: dir })).code).toBe(0);
      fs.rmSync(path.join(dir, 'out', '.cache'), { recursive: true });
      const json = await cli(['report', 'assets.js', '--json'], { cwd: dir });
      const report = JSON.parse(json.stdout) as SizeReport;
      for (const bundle of report.bundles) {
        for (const member of bundle.members) {
          expect(member.compressed).toBe('estimate');
          const { min, brotli } = bundle.sizes;
          expect(member.brotli).toBe(Math.round((member.min * brotli) / min));
        }
      }
      const text = await cli(['report', 'assets.js'], { cwd: dir });
      expect(text.stdout).toMatch(/^ {2}site\/widgets\.js +[\d,]+ +[\d,]+ +~[\d,]+ +~[\d,]+$/m);
      expect(text.stdout).toContain("~ estimated from the bundle's ratio");
    });
  });

  describe('audit', () => {
    const VIEWS = {
      'app/routes.js': [
        "app.get('/', (req, res) => {",
        "  res.requireAssets('site/widgets.js');",
        '});',
        "app.get('/x', (req, res) => res.requireAssets(req.query.name));",
      ].join('\n'),
      'app/admin.ts': "router.get('/edit', assets.needs('site/base.less'), edit);\n",
      'views/page.njk': '<p>\n{% requireAsset "site/widgts.js" %}\n</p>\n',
      'views/angle.html': '<% requireAsset "vendor/tiny-lib.js" %>\n',
      'views/page.ejs': "<% requireAsset('site/base.less') %>\n",
      'views/page.pug': "- requireAsset('site/strict-helpers.js')\n",
      'views/notes.txt': "requireAsset('not/scanned.js')\n",
    };

    test('unknown names fail with file:line and suggestions; dynamic ones are listed', async () => {
      const dir = siteWithModule();
      writeFiles(dir, VIEWS);
      const { code, stdout } = await cli(['audit', 'assets.js', '--scan', 'app', 'views'], {
        cwd: dir,
      });
      expect(code).toBe(1);
      expect(stdout).toContain(
        'views/page.njk:2: "site/widgts.js" is not registered (did you mean "site/widgets.js"?)',
      );
      expect(stdout).toContain(
        'app/routes.js:4: not checked, the name is not a string literal: ' +
          'requireAssets(req.query.name)',
      );
      expect(stdout).toMatch(
        /^Registered but required by nothing \(1\):\n {2}admin\/editor\.js {2}size unknown \(not built\)$/m,
      );
      expect(stdout).toMatch(/^6 files, 5 requirements of 4 assets, 1 unknown, 1 not checked$/m);
    });

    test('--json, and the bytes of unused assets once built; all known is exit 0', async () => {
      const dir = siteWithModule();
      writeFiles(dir, { ...VIEWS, 'views/page.njk': '{% requireAsset "site/widgets.js" %}\n' });
      expect((await cli(['build', 'assets.js'], { cwd: dir })).code).toBe(0);
      const { code, stdout } = await cli(
        ['audit', 'assets.js', '--json', '--scan', 'app', '--scan', 'views'],
        {
          cwd: dir,
        },
      );
      expect(code).toBe(0);
      const result = JSON.parse(stdout) as AuditResult;
      expect(result.unknown).toEqual([]);
      expect(result.unchecked).toEqual([
        { file: 'app/routes.js', line: 4, source: 'requireAssets(req.query.name)' },
      ]);
      expect(result.required).toContainEqual({
        file: 'views/page.pug',
        line: 1,
        asset: 'site/strict-helpers.js',
      });
      expect(result.unused).toEqual([{ asset: 'admin/editor.js', brotli: expect.any(Number) }]);
      expect(result.unused[0].brotli).toBeGreaterThan(0);
    });
  });
});

function brotliBest(text: string): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(text),
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    },
  };
}
