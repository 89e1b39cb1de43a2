// The Express type augmentation (res.requireAssets, res.locals helpers): kept in the emitted
// index.d.ts, so it reaches every app that imports the package.
import './express/types';

export { defineAssets, AssetRegistry } from './assets';
export {
  AssetError,
  AssetMissingError,
  AssetConfigError,
  AssetBuildError,
} from './registry/errors';
export { AssetSetupError, AssetNotBuiltError } from './registry/errors';
export type { AssetOptions, AssetEntry, Mode, Kind } from './registry/options';
export type { Build, ServedFile } from './build/loaded';
export type { Manifest, ManifestBundle, Sizes } from './build/manifest';
export type { BundleSpec } from './registry/registry';
export type { PageAssets } from './page/page';
