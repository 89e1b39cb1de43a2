/**
 * The methods and locals `assets.middleware()` gives every response, added to Express's own
 * types. `index.ts` imports this module, so an app that imports the package sees them under
 * strict `tsc` too (a global augmentation reaches a compiler only through a file it loads).
 */
import type { Kind } from '../registry/options';
import type { PageAssets } from '../page/page';

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
