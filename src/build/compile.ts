import createDebug from 'debug';
import { compileAsset } from '../compile';
import type { Compiled } from '../compile/types';
import { AssetConfigError, quote } from '../registry/errors';
import type { BundleSpec } from '../registry/registry';
import { CompileCache, compileKey } from './cache';
import type { Inputs } from './inputs';
import type { Writes } from './output';
import type { BuildPlan } from './plan';

const debug = createDebug('asset-registry:build');

export interface CompiledAssets {
  /** The compiled output of every member of the bundles to make, by asset name. */
  readonly compiled: ReadonlyMap<string, Compiled>;
  /** Removes the compile cache's entries that this build did not use. */
  readonly pruneCache: () => Promise<void>;
}

/**
 * Compiles the members of the bundles to make, each through the compile cache: a member whose
 * bytes, and the bytes of every file it read, are those of a cached entry is not compiled again.
 */
export async function compileChanged(
  plan: Pick<BuildPlan, 'cacheFolder' | 'roots' | 'settings'>,
  { files, fingerprint, sources }: Inputs,
  toMake: readonly BundleSpec[],
  kept: readonly BundleSpec[],
  writes: Writes,
): Promise<CompiledAssets> {
  const cache = new CompileCache(plan.cacheFolder, plan.roots, (file) => sources.hash(file));
  const keyOf = async (name: string) =>
    compileKey(fingerprint, name, await sources.hash(files.get(name)!));
  // The cache is read side by side.
  const lookups = await Promise.all(
    toMake
      .flatMap((spec) => spec.members)
      .map(async (asset) => {
        const file = files.get(asset.name)!;
        const data = await sources.read(file);
        const key = await keyOf(asset.name);
        return { asset, file, data, key, cached: data && (await cache.get(key)) };
      }),
  );
  const compiled = new Map<string, Compiled>();
  for (const { asset, file, data, key, cached } of lookups) {
    if (!data) throw new AssetConfigError(`Asset ${quote(asset.name)} has no file`, asset.name);
    let result = cached;
    if (!result) {
      debug('compiling %s', asset.name);
      result = await compileAsset(asset, file, data, plan.settings, (other) => sources.read(other));
      // Written while the bundles are joined and compressed.
      writes.add(cache.put(key, result));
    }
    compiled.set(asset.name, result);
  }
  const keptKeys = await Promise.all(
    kept.flatMap((spec) => spec.members).map((asset) => keyOf(asset.name)),
  );
  return {
    compiled,
    pruneCache: () => cache.prune([...lookups.map((lookup) => lookup.key), ...keptKeys]),
  };
}
