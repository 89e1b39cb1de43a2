import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { AssetEntry, AssetOptions, Build, ManifestBundle } from '../src';
import { tempDir } from './helpers';

/**
 * test/fixtures/site: a small site with two roots (`assets`, then `vendor`), a sloppy library
 * without a final semicolon, a strict file, a file starting with "(", LESS partials and the
 * load path, and url()s to fonts and images in every spelling.
 */
export const SITE_FIXTURE = path.join(__dirname, 'fixtures', 'site');

export const SITE_ASSETS: AssetEntry[] = [
  'vendor/tiny-lib.js',
  'site/strict-helpers.js',
  { path: 'site/widgets.js', deps: ['vendor/tiny-lib.js', 'site/strict-helpers.js'] },
  'site/base.less',
  { path: 'admin/editor.js', deps: ['site/widgets.js'], bundle: 'admin' },
];

/** A copy of the site fixture in a fresh temp folder, free to edit and build. */
export function copySite(): string {
  const dir = tempDir('asset-site-');
  fs.cpSync(SITE_FIXTURE, dir, { recursive: true });
  return dir;
}

/** Options that build the site copy in `dir` into `dir/out`, in production mode. */
export function siteOptions(dir: string, more: Partial<AssetOptions> = {}): AssetOptions {
  return {
    root: [path.join(dir, 'assets'), path.join(dir, 'vendor')],
    outDir: path.join(dir, 'out'),
    assets: SITE_ASSETS,
    mode: 'production',
    ...more,
  };
}

export function bundleOf(build: Build, id: string): ManifestBundle {
  const bundle = build.bundles.find((candidate) => candidate.id === id);
  if (!bundle) throw new Error(`no bundle ${id}`);
  return bundle;
}

/** The bytes of a bundle (or any file) as written in `outDir`. */
export function readOut(outDir: string, file: string): string {
  return fs.readFileSync(path.join(outDir, file), 'utf8');
}

/**
 * Runs scripts in order in one fresh context whose global object is also `window`, as
 * <script> tags in a page would; returns the global object.
 */
export function runInPage(...scripts: string[]): Record<string, unknown> {
  const context = vm.createContext({});
  vm.runInContext('var window = this;', context);
  for (const script of scripts) vm.runInContext(script, context);
  return context;
}
