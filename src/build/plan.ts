import path from 'node:path';
import type { CompileSettings } from '../compile/types';
import type { ResolvedAsset, ResolvedOptions } from '../registry/options';
import type { BundleSpec, Registry } from '../registry/registry';

/**
 * What the production build reads of the registry and its options, settled once: each step
 * takes the fields it uses (`Pick<BuildPlan, ...>`), never the whole options object.
 */
export interface BuildPlan {
  readonly outDir: string;
  /** `outDir/.cache`: the compile cache and the inputs' stat record. */
  readonly cacheFolder: string;
  readonly roots: readonly string[];
  readonly publicPath: string;
  readonly keepVersions: number;
  readonly budget: ResolvedOptions['budget'];
  readonly requirePrebuilt: boolean;
  readonly log: (line: string) => void;
  /** Every asset, in load order. */
  readonly assets: readonly ResolvedAsset[];
  readonly bundles: readonly BundleSpec[];
  /** How assets are compiled: minified, `url()`s relative to the bundle. */
  readonly settings: CompileSettings;
}

export function planOf(registry: Registry, options: ResolvedOptions): BuildPlan {
  return Object.freeze({
    outDir: options.outDir,
    cacheFolder: path.join(options.outDir, '.cache'),
    roots: options.roots,
    publicPath: options.publicPath,
    keepVersions: options.keepVersions,
    budget: options.budget,
    requirePrebuilt: options.requirePrebuilt,
    log: options.log,
    assets: registry.order,
    bundles: registry.bundles,
    settings: {
      minify: true,
      roots: options.roots,
      urlPrefix: '',
      maxBytes: options.maxSourceBytes,
    },
  });
}
