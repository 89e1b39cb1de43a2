export { defineAssets, AssetRegistry } from './assets';
export { AssetError, AssetMissingError, AssetConfigError, AssetBuildError } from './errors';
export type { AssetOptions, AssetEntry, Mode, Kind } from './options';
export type { Build, ServedFile } from './built';
export type { Manifest, ManifestBundle, Sizes } from './manifest';
export type { BundleSpec } from './registry';
export type { PageAssets } from './page';
