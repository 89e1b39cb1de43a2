// The Express type augmentation (res.requireAssets, res.locals helpers): kept in the emitted
// index.d.ts, so it reaches every app that imports the package.
import './express-types';

export { defineAssets, AssetRegistry } from './assets';
export { AssetError, AssetMissingError, AssetConfigError, AssetBuildError } from './errors';
export { AssetSetupError, AssetNotBuiltError } from './errors';
export type { AssetOptions, AssetEntry, Mode, Kind } from './options';
export type { Build, ServedFile } from './built';
export type { Manifest, ManifestBundle, Sizes } from './manifest';
export type { BundleSpec } from './registry';
export type { PageAssets } from './page';
