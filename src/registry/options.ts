import path from 'node:path';

import { hint, isNonEmptyString, resolveEntry } from './entries';
import { checkPublicPath, resolvePublicUrl } from './publicUrl';
import type { PublicUrl } from './publicUrl';
import type { AssetEntry, Kind, ResolvedAsset } from './entries';

export type { AssetEntry, Kind, ResolvedAsset } from './entries';
export { kindOf } from './entries';
export type { PublicUrl } from './publicUrl';

export type Mode = 'production' | 'development';

/** Options of {@link defineAssets}. Relative folders are resolved against `process.cwd()`. */
export interface AssetOptions {
  /**
   * Where asset names are looked up: one folder, or a load path searched in order (the first
   * folder holding the name wins), e.g. `['assets', 'node_modules']`.
   */
  root: string | readonly string[];
  /** Where the build writes bundles, their `.br`/`.gz` twins, source maps and `manifest.json`. */
  outDir: string;
  /** Every asset, declared once. */
  assets: readonly AssetEntry[];
  /**
   * URL prefix of the bundles: a path (`/assets/`) or an absolute CDN URL.
   * @default '/assets/'
   */
  publicPath?: string;
  /**
   * `production` bundles and minifies; `development` serves one unminified file per asset.
   * @default 'production' when NODE_ENV is 'production', else 'development' (as Express does)
   */
  mode?: Mode;
  /**
   * How many builds keep their files in `outDir` (the current one included), so that pages
   * rendered by a server still on an older release keep working.
   * @default 3
   */
  keepVersions?: number;
  /** Largest allowed brotli size in bytes of any one bundle, per kind. Over it, the build fails. */
  budget?: { js?: number; css?: number };
  /**
   * Largest source file, in bytes, that the build compiles, per kind of asset: a bigger one fails
   * at once, before minutes of compiling (terser takes about 5 s per MB; less's source maps grow
   * quadratically with one stylesheet's size: 1 MB of CSS takes over a minute).
   * @default { js: 10_000_000, css: 1_000_000 }
   */
  maxSourceBytes?: { js?: number; css?: number };
  /**
   * Where the size table, build notes and development build errors go: a function taking one
   * line, or `false`.
   * @default stderr when it is a TTY; when it is not (`npm run dev | tee log`, a process
   * manager), development mode's build errors still go there, one line each. Silent under test.
   */
  logger?: ((line: string) => void) | false;
  /**
   * Whether the middleware serves `outDir` under `publicPath`. Turn off when nginx or a CDN
   * serves the files.
   * @default true
   */
  serve?: boolean;
  /**
   * Send `103 Early Hints` when a handler required assets before rendering. Browsers act on
   * them only over HTTP/2 and HTTP/3, and some HTTP/1.1 clients mishandle 1xx responses.
   * @default false
   */
  earlyHints?: boolean;
  /**
   * Preload, with each CSS bundle a page needs, the fonts its `@font-face` rules fetch (the
   * woff2, else the woff or ttf), in the `Link` header and the css tags, so they do not wait for
   * the stylesheet to arrive. Production only: development mode preloads no fonts.
   * @default true
   */
  preloadFonts?: boolean;
  /**
   * On a first visit (the browser does not hold the page's CSS bundles yet, by the `asset_css`
   * cookie the middleware sets), inline the rules the page uses in a `<style>` and load the
   * bundles at the end of the body, so the page paints before they arrive. Computed by
   * beasties in a worker thread from each page shape's first renders; until then the page gets
   * the plain tags. Production only. See docs/critical-css.md.
   * @default false
   */
  criticalCss?: boolean;
  /**
   * Mount the development report page at `<publicPath>_report`.
   * @default true (development mode only)
   */
  report?: boolean;
  /**
   * In production, fail `build()` instead of compiling when `outDir` holds no manifest built
   * from exactly these inputs (`asset-registry build` is expected to have run at deploy).
   * @default false
   */
  requirePrebuilt?: boolean;
}

export interface ResolvedOptions {
  readonly roots: readonly string[];
  readonly outDir: string;
  /** The URL prefix of the bundles, ending in "/". */
  readonly publicPath: string;
  /** The same, resolved into its parts. */
  readonly publicUrl: PublicUrl;
  readonly mode: Mode;
  readonly keepVersions: number;
  readonly budget: Readonly<Partial<Record<Kind, number>>>;
  readonly maxSourceBytes: Readonly<Record<Kind, number>>;
  readonly log: (line: string) => void;
  readonly serve: boolean;
  readonly earlyHints: boolean;
  readonly preloadFonts: boolean;
  readonly criticalCss: boolean;
  readonly report: boolean;
  readonly requirePrebuilt: boolean;
  readonly assets: readonly ResolvedAsset[];
}

const KNOWN = new Set([
  'root',
  'outDir',
  'assets',
  'publicPath',
  'mode',
  'keepVersions',
  'budget',
  'maxSourceBytes',
  'logger',
  'serve',
  'earlyHints',
  'preloadFonts',
  'criticalCss',
  'report',
  'requirePrebuilt',
]);

/**
 * Checks the options once and returns them resolved and frozen. Throws `TypeError` naming the
 * option; an unknown one with the known names nearest to it (`Unknown option "roots". Did you
 * mean "root"?`).
 */
export function resolveOptions(options: AssetOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('defineAssets() takes an options object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new TypeError(`Unknown option ${JSON.stringify(key)}${hint(key, KNOWN)}`);
  }
  const roots = typeof options.root === 'string' ? [options.root] : options.root;
  if (!Array.isArray(roots) || roots.length === 0 || !roots.every(isNonEmptyString)) {
    throw new TypeError('Option "root" must be a folder or a non-empty list of folders');
  }
  if (!isNonEmptyString(options.outDir)) {
    throw new TypeError('Option "outDir" must be a folder name');
  }
  const publicPath = checkPublicPath(options.publicPath ?? '/assets/');
  const mode =
    options.mode ?? (process.env.NODE_ENV === 'production' ? 'production' : 'development');
  if (mode !== 'production' && mode !== 'development') {
    throw new TypeError('Option "mode" must be "production" or "development"');
  }
  const keepVersions = options.keepVersions ?? 3;
  if (!Number.isInteger(keepVersions) || keepVersions < 1) {
    throw new TypeError('Option "keepVersions" must be a whole number of at least 1');
  }
  const budget = bytesPerKind(options, 'budget', '{ js: 120000, css: 40000 }');
  const maxSourceBytes = bytesPerKind(options, 'maxSourceBytes', '{ js: 20000000 }');
  const logger = options.logger ?? defaultLogger(mode);
  if (logger !== false && typeof logger !== 'function') {
    throw new TypeError('Option "logger" must be a function or false');
  }
  if (!Array.isArray(options.assets)) {
    throw new TypeError('Option "assets" must be a list of asset names or { path, deps, bundle }');
  }
  const prefix = publicPath.endsWith('/') ? publicPath : `${publicPath}/`;
  return Object.freeze({
    roots: Object.freeze(roots.map((root) => path.resolve(root))),
    outDir: path.resolve(options.outDir),
    publicPath: prefix,
    publicUrl: resolvePublicUrl(prefix),
    mode,
    keepVersions,
    budget: Object.freeze(budget),
    maxSourceBytes: Object.freeze({ js: 10_000_000, css: 1_000_000, ...maxSourceBytes }),
    log: logger === false ? () => {} : logger,
    serve: booleanOption(options, 'serve', true),
    earlyHints: booleanOption(options, 'earlyHints', false),
    preloadFonts: booleanOption(options, 'preloadFonts', true),
    criticalCss: booleanOption(options, 'criticalCss', false),
    report: booleanOption(options, 'report', true),
    requirePrebuilt: booleanOption(options, 'requirePrebuilt', false),
    assets: Object.freeze(options.assets.map(resolveEntry)),
  });
}

/** `{ js?, css? }` of positive byte counts; `{ js: undefined }` is what the type allows for "none". */
function bytesPerKind(
  options: AssetOptions,
  key: 'budget' | 'maxSourceBytes',
  example: string,
): Partial<Record<Kind, number>> {
  const value: unknown = options[key] ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Option "${key}" must be an object like ${example}`);
  }
  const result: Partial<Record<Kind, number>> = {};
  for (const [kind, bytes] of Object.entries(value)) {
    if (bytes === undefined) continue;
    if ((kind !== 'js' && kind !== 'css') || !(Number.isFinite(bytes) && bytes > 0)) {
      throw new TypeError(`Option "${key}.${kind}" must be a positive number of bytes (js, css)`);
    }
    result[kind] = bytes;
  }
  return result;
}

function booleanOption(options: AssetOptions, key: keyof AssetOptions, fallback: boolean) {
  const value = options[key] ?? fallback;
  if (typeof value !== 'boolean') throw new TypeError(`Option "${key}" must be true or false`);
  return value;
}

/**
 * A terminal gets every line as it is. Elsewhere (a pipe, a log file, a process manager) the
 * size table would be noise, but a development build error is what the developer looks for, so
 * in development each line goes out as one line: one error per line, whole for `grep`.
 */
function defaultLogger(mode: Mode): ((line: string) => void) | false {
  const underTest = process.env.JEST_WORKER_ID !== undefined || process.env.NODE_ENV === 'test';
  if (underTest) return false;
  if (process.stderr.isTTY) return (line) => process.stderr.write(`${line}\n`);
  if (mode !== 'development') return false;
  return (line) => process.stderr.write(`${line.replace(/\s*\r?\n\s*/g, ' ').trim()}\n`);
}
