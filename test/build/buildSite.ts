import path from 'node:path';
import { AssetBuildError, defineAssets } from '../../src';
import type { AssetOptions, Build } from '../../src';
import { tempDir, writeFiles } from '../helpers';
import { siteOptions } from '../site';

/** The builds the build() tests make: the test site, loose files, and a build that must fail. */

/** Builds the site copy in `dir` (from `copySite()`) into `dir/out`. */
export function buildSite(dir: string, more: Partial<AssetOptions> = {}): Promise<Build> {
  return defineAssets(siteOptions(dir, more)).build();
}

/** Builds loose files: `files` under a fresh root, `assets` declared in that order. */
export async function buildFiles(
  files: Record<string, string | Buffer>,
  assets: AssetOptions['assets'],
  more: Partial<AssetOptions> = {},
): Promise<{ build: Build; outDir: string }> {
  const root = tempDir();
  writeFiles(root, files);
  const outDir = path.join(root, 'out');
  const build = await defineAssets({ root, outDir, assets, mode: 'production', ...more }).build();
  return { build, outDir };
}

/** Awaits a build that must fail, and gives its AssetBuildError. */
export async function buildError(promise: Promise<unknown>): Promise<AssetBuildError> {
  const error: unknown = await promise.catch((caught) => caught);
  expect(error).toBeInstanceOf(AssetBuildError);
  return error as AssetBuildError;
}
