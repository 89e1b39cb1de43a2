import type { Build } from '../build/loaded';
import type { ManifestBundle } from '../build/manifest';
import type { AssetState } from '../state';
import { processHtml } from './beasties';
import { bundlesFor } from './tags';

/** How many differing renders of a page shape its critical CSS covers: the union of their rules. */
const SAMPLES = 3;
/** How many renders of a shape are looked at for those: a shape that never differs stops there. */
const RENDERS = 20;
/** How many page shapes' critical CSS a registry holds; the least recently used goes first. */
const SHAPES = 500;
/** Marks the stylesheet in the document given to beasties, to find it in what comes back. */
const MARK = 'data-asset-registry-critical';
const MARKED = new RegExp(`<style ${MARK}[^>]*>([\\s\\S]*?)</style>`);

/** One page shape: its critical CSS once made, and the renders it is made from. */
interface Shape {
  css?: string;
  /** Its renders until the last computation has read them; then none, to free the memory. */
  samples: string[];
  /** How many renders it was given. */
  renders: number;
  /** It takes no more renders: it has {@link SAMPLES} or {@link RENDERS}, or it failed. */
  full: boolean;
  /** A computation runs; `again` when a new sample came meanwhile. */
  running: boolean;
  again: boolean;
}

/**
 * The critical CSS of one registry's pages, by page shape (the view, the needs and the CSS
 * bundles that hold them): made once per shape by beasties, off the request's path, from the
 * shape's first renders, and held in memory for at most {@link SHAPES} shapes.
 */
export class CriticalCss {
  private readonly shapes = new Map<string, Shape>();

  constructor(private readonly failed: (error: Error, shape: string) => void) {}

  /** The shape's critical CSS, or undefined while it is not made yet. */
  css(key: string): string | undefined {
    const shape = this.shapes.get(key);
    if (shape?.css === undefined) return undefined;
    this.shapes.delete(key); // most recently used last
    this.shapes.set(key, shape);
    return shape.css;
  }

  /** Whether renders of the shape are still wanted. */
  learning(key: string): boolean {
    return !this.shapes.get(key)?.full;
  }

  /**
   * Adds a render of the shape to what its critical CSS covers, until it has {@link SAMPLES}
   * different ones (of its first {@link RENDERS}), and (re)computes it. `stylesheet` is read
   * only when a computation starts. Only one computation per shape runs at a time.
   */
  learn(key: string, html: string, stylesheet: () => string): void {
    let shape = this.shapes.get(key);
    if (!shape) {
      shape = { samples: [], renders: 0, full: false, running: false, again: false };
      this.shapes.set(key, shape);
      if (this.shapes.size > SHAPES) this.shapes.delete(this.shapes.keys().next().value!);
    }
    if (shape.full) return;
    shape.full = ++shape.renders >= RENDERS;
    if (!shape.samples.includes(html)) {
      shape.samples.push(html);
      shape.full ||= shape.samples.length >= SAMPLES;
      if (shape.running) shape.again = true;
      else void this.compute(key, shape, stylesheet);
    } else if (shape.full && !shape.running) shape.samples = [];
  }

  private async compute(key: string, shape: Shape, stylesheet: () => string): Promise<void> {
    shape.running = true;
    try {
      do {
        shape.again = false;
        const output = await processHtml(documentFor(shape.samples, stylesheet()));
        shape.css = inlineSafe(MARKED.exec(output)?.[1] ?? '');
      } while (shape.again);
    } catch (error) {
      shape.full = true; // no more tries for this shape: it keeps the plain tags
      this.failed(error as Error, key.split('\n')[0]);
    } finally {
      shape.running = false;
      if (shape.full) shape.samples = [];
    }
  }
}

/** What the middleware knows of the visit a page answers. */
export interface Visit {
  /** The CSS bundles the visitor's browser holds, by {@link tokenOf}: read from a cookie. */
  readonly held: ReadonlySet<string>;
  /** The page's shape: its view, or the route of a page sent as a string. */
  shape: string;
  /** Whether the response has its headers for the visit (`Vary`, the cookie). */
  answered?: boolean;
}

/** One registry's CSS bundles of a page, as the visitor's browser holds them. */
export interface CssVisit {
  readonly store: CriticalCss;
  readonly build: Build;
  readonly bundles: readonly ManifestBundle[];
  readonly tokens: readonly string[];
  /** Whether the browser holds every one of them: then the page gets the plain tags. */
  readonly held: boolean;
  /** The page shape: view, needs and bundles. */
  readonly key: string;
}

/** A CSS bundle's name in the cookie: 12 characters of its SHA-384 (72 bits), URL-safe. */
export function tokenOf(bundle: ManifestBundle): string {
  return bundle.integrity.slice(7, 19).replace(/\+/g, '-').replace(/\//g, '_');
}

/** A registry's CSS bundles of a page on this visit; undefined without critical CSS or CSS. */
export function cssVisitOf(
  source: AssetState,
  needs: ReadonlySet<string>,
  visit: Visit,
): CssVisit | undefined {
  const store = criticalOf(source);
  const build = store && source.current;
  const css = build && cssOf(build, source, needs);
  if (!css) return undefined;
  const held = css.tokens.every((token) => visit.held.has(token));
  const { bundles, tokens } = css;
  // Read when used: the shape (the view) may be known only after the Link header was made.
  return {
    store,
    build,
    bundles,
    tokens,
    held,
    get key() {
      return `${visit.shape}\n${css.key}`;
    },
  };
}

/** A page's CSS bundles, their tokens and its needs' part of the key: the same per needs. */
interface PageCss {
  readonly bundles: readonly ManifestBundle[];
  readonly tokens: readonly string[];
  readonly key: string;
}

const pageCss = new WeakMap<Build, WeakMap<ReadonlySet<string>, PageCss | null>>();

/** The {@link PageCss} of `needs` in `build`, made once (the registry gives one set per needs). */
function cssOf(build: Build, source: AssetState, needs: ReadonlySet<string>): PageCss | null {
  let ofBuild = pageCss.get(build);
  if (!ofBuild) pageCss.set(build, (ofBuild = new WeakMap()));
  let css = ofBuild.get(needs);
  if (css === undefined) {
    const bundles = bundlesFor(build, source.options, needs, 'css').map((i) => build.bundles[i]);
    const tokens = bundles.map(tokenOf);
    css = bundles.length ? { bundles, tokens, key: `${[...needs]}\n${tokens.join('.')}` } : null;
    ofBuild.set(needs, css);
  }
  return css;
}

const stores = new WeakMap<AssetState, CriticalCss>();

/** The critical CSS of a registry that inlines it (`criticalCss`, in production), else none. */
export function criticalOf(source: AssetState): CriticalCss | undefined {
  const { options } = source;
  if (!options.criticalCss || options.mode !== 'production') return undefined;
  let store = stores.get(source);
  if (!store) {
    store = new CriticalCss((error, shape) =>
      options.log(
        `asset-registry: no critical CSS for the page "${shape}" (its pages keep the plain tags): ${error.message}`,
      ),
    );
    stores.set(source, store);
  }
  return store;
}

/**
 * The text of CSS bundles, one after the other, for a `<style>` in a page: `url()`s made
 * absolute, as the build writes them relative to the bundle (`url("font.1a2b3c4d5e6f.woff2")`).
 */
export function stylesheetOf(build: Build, bundles: readonly ManifestBundle[]): string {
  return bundles
    .map((bundle) => {
      const base = bundle.url.slice(0, bundle.url.lastIndexOf('/') + 1).replace(/["\\]/g, '\\$&');
      const css = build.files.get(bundle.file)?.body.toString('utf8') ?? '';
      return css.replace(/url\("(?![a-z][a-z0-9+.-]*:|[/#])/gi, `url("${base}`);
    })
    .join('\n');
}

/**
 * What beasties reads: the stylesheet, marked, and the bodies of the samples one after the
 * other, under the first sample's `<html>` and `<body>` attributes (selectors may name them).
 */
function documentFor(samples: readonly string[], stylesheet: string): string {
  const [first] = samples;
  const htmlAttributes = /<html\b([^>]*)>/i.exec(first)?.[1] ?? '';
  const bodyAttributes = /<body\b([^>]*)>/i.exec(first)?.[1] ?? '';
  const bodies = samples.map((html) => /<body\b[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html);
  const style = `<style ${MARK}>${inlineSafe(stylesheet)}</style>`;
  return `<!DOCTYPE html><html${htmlAttributes}><head>${style}</head><body${bodyAttributes}>${bodies.join('')}</body></html>`;
}

/** CSS that can stand in a `<style>`: a `</style` in a string or comment would end it. */
function inlineSafe(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1');
}
