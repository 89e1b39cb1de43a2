/**
 * The critical CSS store: beasties in its worker thread, real bootstrap 3 glyphicons.
 */
import { readdirSync } from 'node:fs';
import { defineAssets } from '../../src';
import { CriticalCss, stylesheetOf } from '../../src/page/critical';
import { NODE_MODULES, tempDir, writeFiles } from '../helpers';

const CSS = '.used { color: red; } .unused { color: blue; }';
const page = (n: number) => `<html><body><p class="used">${n}</p></body></html>`;

/** Waits until `check` returns something defined, for at most 20 s. */
async function until<T>(check: () => T | undefined): Promise<T> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('not in 20 s');
}

describe('CriticalCss', () => {
  test('holds at most 500 page shapes: the least recently used goes', async () => {
    const store = new CriticalCss(() => {});
    store.learn('first', page(0), () => CSS);
    expect(await until(() => store.css('first'))).toBe('.used{color:red}');
    store.learn('second', page(0), () => CSS);
    await until(() => store.css('second'));
    store.css('first'); // used: now the most recent
    for (let i = 0; i < 499; i++) store.learn(`shape ${i}`, page(i), () => CSS);
    expect(store.css('second')).toBeUndefined();
    expect(store.css('first')).toBe('.used{color:red}');
  }, 30_000);

  test('a shape looks at its first 20 renders: one that never differs stops being learnt', async () => {
    const store = new CriticalCss(() => {});
    for (let i = 0; i < 19; i++) store.learn('same', page(0), () => CSS);
    expect(store.learning('same')).toBe(true);
    store.learn('same', page(0), () => CSS);
    expect(store.learning('same')).toBe(false);
    expect(await until(() => store.css('same'))).toBe('.used{color:red}');
    store.learn('differs', page(1), () => CSS);
    store.learn('differs', page(2), () => CSS);
    store.learn('differs', page(3), () => CSS);
    expect(store.learning('differs')).toBe(false); // 3 different renders
  });

  test('the worker ends after 5 s without a page, and the next page starts another', async () => {
    const threads = () => readdirSync('/proc/self/task').length;
    const store = new CriticalCss(() => {});
    store.learn('before', page(0), () => CSS);
    await until(() => store.css('before'));
    const working = threads();
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    expect(threads()).toBeLessThan(working); // its thread has ended
    store.learn('after', page(0), () => CSS);
    expect(await until(() => store.css('after'))).toBe('.used{color:red}');
  }, 30_000);

  test('a computation that fails is reported once, and the shape keeps the plain tags', async () => {
    const failures: string[] = [];
    const store = new CriticalCss((error, shape) => failures.push(`${shape}: ${error.message}`));
    const stylesheet = () => {
      throw new Error('the bundle is gone');
    };
    store.learn('home\nsite/a.css\ntoken', page(1), stylesheet);
    store.learn('home\nsite/a.css\ntoken', page(2), stylesheet);
    await until(() => failures[0]);
    expect(failures).toEqual(['home: the bundle is gone']);
    expect(store.css('home\nsite/a.css\ntoken')).toBeUndefined();
  });
});

describe('stylesheetOf', () => {
  test("url()s point where the bundle's do, from any page: publicPath on a CDN", async () => {
    const root = tempDir();
    writeFiles(root, {
      'icons.less':
        '@import "bootstrap/less/variables.less";\n@import "bootstrap/less/glyphicons.less";\n',
    });
    const assets = defineAssets({
      root: [root, NODE_MODULES],
      outDir: `${root}/out`,
      assets: ['icons.less'],
      mode: 'production',
      publicPath: 'https://cdn.example/static/',
    });
    const build = await assets.build();
    const css = stylesheetOf(build, build.bundles);
    const urls = [...css.matchAll(/url\("([^"]+)"\)/g)].map((match) => match[1]);
    expect(urls.length).toBeGreaterThanOrEqual(5);
    for (const url of urls) expect(url).toMatch(/^https:\/\/cdn\.example\/static\/glyphicons-/);
    const woff2 = build.bundles[0].fonts![0].url;
    expect(urls).toContain(woff2);
  }, 60_000);
});
