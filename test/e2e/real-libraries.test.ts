import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { defineAssets } from '../../src';
import type { Build } from '../../src';
import { NODE_MODULES, snapshot, tempDir } from '../helpers';
import { bundleOf, readOut } from '../site';

/** test/fixtures/real-site: a site script using $ and _, and a site stylesheet over bootstrap 3. */
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'real-site');

const ASSETS = [
  'jquery/dist/jquery.js',
  'lodash/lodash.js',
  { path: 'site/app.js', deps: ['jquery/dist/jquery.js', 'lodash/lodash.js'] },
  'site/site.less',
];

/**
 * Just enough of a browser for jQuery 3's factory and its support tests to run: elements that
 * hold children, a document that can make more, event listeners that record themselves. It does
 * no layout, parsing or selector matching; the test uses jQuery's plain-JS API and `ready`.
 */
function fakeBrowser() {
  type Node = Record<string, unknown> & { childNodes: unknown[] };
  const element = (name: string): Node => {
    const node: Node = {
      nodeType: name === '#document' ? 9 : 1,
      nodeName: name.toUpperCase(),
      style: {},
      childNodes: [],
      attributes: [],
      innerHTML: '',
      textContent: '',
      get firstChild() {
        return this.childNodes[0] ?? null;
      },
      get lastChild() {
        return this.childNodes[this.childNodes.length - 1] ?? null;
      },
      appendChild(child: unknown) {
        this.childNodes.push(child);
        return child;
      },
      removeChild: (child: unknown) => child,
      cloneNode(deep: boolean) {
        const copy = element(name);
        if (deep) for (const child of this.childNodes) copy.childNodes.push(child);
        return copy;
      },
      setAttribute() {},
      getAttribute: () => null,
      removeAttribute() {},
      getElementsByTagName: () => [],
      getElementsByClassName: () => [],
      querySelectorAll: () => [],
      querySelector: () => null,
      contains: () => false,
      compareDocumentPosition: () => 0,
      addEventListener(type: string, listener: () => void) {
        listeners.push({ type, listener });
      },
      removeEventListener() {},
    };
    return node;
  };
  const listeners: { type: string; listener: () => void }[] = [];
  const timers: (() => void)[] = [];
  const makeDocument = (): Node => {
    const document = element('#document');
    Object.assign(document, {
      documentElement: element('html'),
      body: element('body'),
      readyState: 'loading',
      createElement: element,
      createDocumentFragment: () => element('#document-fragment'),
      createTextNode: (data: string) => ({ nodeType: 3, data }),
      createComment: (data: string) => ({ nodeType: 8, data }),
      implementation: { createHTMLDocument: makeDocument },
    });
    return document;
  };
  const window = vm.createContext({
    document: makeDocument(),
    location: { href: 'http://localhost/' },
    addEventListener(type: string, listener: () => void) {
      listeners.push({ type, listener });
    },
    removeEventListener() {},
    // Timers queue up and run when the test fires an event, in order, with no real waiting.
    setTimeout(callback: () => void) {
      timers.push(callback);
      return timers.length;
    },
    clearTimeout() {},
  });
  vm.runInContext('var window = this;', window);
  const fire = (type: string) => {
    for (const entry of listeners.filter((candidate) => candidate.type === type)) {
      entry.listener();
    }
    while (timers.length) timers.shift()!();
  };
  return { window, fire };
}

describe('real libraries: jquery 3, lodash 4 and bootstrap 3 from node_modules', () => {
  let outDir: string;
  let build: Build;

  beforeAll(async () => {
    outDir = path.join(tempDir(), 'out');
    build = await defineAssets({
      root: [FIXTURE, NODE_MODULES],
      outDir,
      assets: ASSETS,
      mode: 'production',
    }).build();
  }, 60_000);

  describe('the JS bundle', () => {
    let code: string;
    beforeAll(() => (code = readOut(outDir, bundleOf(build, 'main.js').file)));

    test('holds the three files in dependency order, minified', () => {
      const main = bundleOf(build, 'main.js');
      expect(main.members.map((member) => member.asset)).toEqual([
        'jquery/dist/jquery.js',
        'lodash/lodash.js',
        'site/app.js',
      ]);
      for (const member of main.members) expect(member.min).toBeLessThan(member.source);
      expect(() => new vm.Script(code, { filename: main.file })).not.toThrow();
    });

    test('runs: lodash and the app', () => {
      const { window } = fakeBrowser();
      vm.runInContext(code, window);
      expect(typeof window._).toBe('function');
      expect((window._ as { VERSION: string }).VERSION).toMatch(/^4\./);
      // The result crosses the context boundary: compare as JSON, not by prototype.
      expect(JSON.stringify(window.appChunks)).toBe('[["a","b"],["c","d"]]');
    });

    test('runs: jQuery installs itself on window, and $(fn) runs once the DOM is ready', () => {
      const { window, fire } = fakeBrowser();
      vm.runInContext(code, window);
      expect(typeof window.jQuery).toBe('function');
      expect(window.$).toBe(window.jQuery);
      expect(window.appVersion).toBe(
        JSON.parse(fs.readFileSync(path.join(NODE_MODULES, 'jquery/package.json'), 'utf8')).version,
      );
      expect(window.appReady).toBeUndefined();
      fire('DOMContentLoaded');
      expect(JSON.stringify(window.appReady)).toBe('[2,4,6]');
    });

    test('its map leads back into the library files', () => {
      const map = new TraceMap(JSON.parse(readOut(outDir, bundleOf(build, 'main.js').map)));
      const at = (text: string) => {
        const offset = code.indexOf(text);
        const before = code.slice(0, offset);
        const line = before.split('\n').length;
        return originalPositionFor(map, { line, column: offset - before.lastIndexOf('\n') - 1 });
      };
      expect(at('"jQuery requires a window with a document"')).toMatchObject({
        source: 'jquery/dist/jquery.js',
      });
      expect(at('"Expected a function"')).toMatchObject({ source: 'lodash/lodash.js' });
      expect(at('"DOMContentLoaded"').source).toBe('jquery/dist/jquery.js');
    });
  });

  describe('the CSS bundle', () => {
    let css: string;
    beforeAll(() => (css = readOut(outDir, bundleOf(build, 'main.css').file)));

    test('holds bootstrap, compiled from its LESS sources, and the site rules', () => {
      expect(css).toMatch(/\.btn-primary\{/);
      expect(css).toMatch(/\.site-header\{color:#[0-9a-f]{3,6}\}/);
      expect(css).toMatch(/\.site-header \.glyphicon\{margin-right:12px\}/);
      expect(Object.keys(build.manifest.inputs)).toEqual(
        expect.arrayContaining([
          'site/site.less',
          'bootstrap/less/bootstrap.less',
          'bootstrap/less/variables.less',
          'bootstrap/less/glyphicons.less',
        ]),
      );
    });

    test("a member's source bytes count the LESS partials it imports, not its fonts", () => {
      const bundle = bundleOf(build, 'main.css');
      const partials = fs
        .readdirSync(path.join(NODE_MODULES, 'bootstrap', 'less'), { recursive: true })
        .filter((name) => String(name).endsWith('.less'))
        .map(
          (name) => fs.statSync(path.join(NODE_MODULES, 'bootstrap', 'less', String(name))).size,
        );
      const bootstrapLess = partials.reduce((total, size) => total + size, 0);
      // bootstrap.less imports all but a theme file or two: most of its folder's bytes.
      expect(bundle.sizes.source).toBeGreaterThan(bootstrapLess * 0.8);
      expect(bundle.sizes.source).toBeLessThan(bootstrapLess * 1.5);
    });

    test('the glyphicon fonts are copied, and the url()s point at the copies', () => {
      const fonts = path.join(NODE_MODULES, 'bootstrap', 'fonts');
      const copies = Object.entries(build.manifest.copies);
      expect(copies.map(([, from]) => from).sort()).toEqual(
        ['eot', 'svg', 'ttf', 'woff', 'woff2'].map(
          (ext) => `bootstrap/fonts/glyphicons-halflings-regular.${ext}`,
        ),
      );
      for (const [name, from] of copies) {
        const original = fs.readFileSync(path.join(fonts, path.basename(from)));
        expect(fs.readFileSync(path.join(outDir, name)).equals(original)).toBe(true);
        expect(css).toContain(`url("${name}`);
      }
      const eot = copies.find(([name]) => name.endsWith('.eot'))![0];
      const svg = copies.find(([name]) => name.endsWith('.svg'))![0];
      expect(css).toContain(`url("${eot}?#iefix")`);
      expect(css).toContain(`url("${svg}#glyphicons_halflingsregular")`);
      expect(css).not.toContain('../fonts/');
    });
  });

  test('no absolute path reaches any output file', () => {
    for (const [file, base64] of Object.entries(snapshot(outDir))) {
      const text = Buffer.from(base64, 'base64').toString('latin1');
      for (const folder of [NODE_MODULES, FIXTURE, outDir]) {
        expect({ file, absolute: text.includes(folder) }).toEqual({ file, absolute: false });
      }
    }
  });
});
