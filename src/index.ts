import type { Kind } from './registry/options';
import type { PageAssets } from './page/page';

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

/*
 * The methods and locals `assets.middleware()` gives every response, added to Express's own
 * types. Declared here, in the emitted index.d.ts, so an app that imports the package sees them
 * under strict `tsc` too (a global augmentation reaches a compiler only through a file it loads).
 */
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's types are augmented here
  namespace Express {
    interface Response {
      /**
       * Declares that this page needs the given assets (and their dependencies).
       * Throws `AssetMissingError` for a name that is not registered, and `AssetSetupError`
       * when the route runs before `app.use(assets.middleware())`.
       * @example res.requireAssets('site/widgets.js', 'site/widgets.less');
       */
      requireAssets(...names: (string | readonly string[])[]): void;
    }
    interface Locals {
      /** The page's asset needs; see {@link PageAssets}. Set by `assets.middleware()`. */
      pageAssets: PageAssets;
      /** Declares needs from any view engine; returns `''` so it prints nothing. */
      requireAsset(...names: (string | readonly string[])[]): string;
      /** The tags of the bundles the page needs, filled in once the whole page is rendered. */
      assetTags(kind: Kind): string;
    }
  }
}
