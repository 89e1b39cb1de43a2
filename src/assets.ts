import type { RequestHandler } from 'express';
import type { Environment } from 'nunjucks';
import { build } from './build';
import type { Build } from './built';
import { createMiddleware, createNeeds } from './middleware';
import { addNunjucksTags } from './nunjucks';
import { PageAssets } from './page';
import { resolveOptions } from './options';
import type { AssetOptions, ResolvedOptions } from './options';
import { Registry } from './registry';

/**
 * The registry of an application: every asset, declared once, and the build made from them.
 * Made by {@link defineAssets}; the Express and Nunjucks adapters read it.
 */
export class AssetRegistry {
  /** The options, checked and frozen. */
  readonly options: ResolvedOptions;
  /** The assets, their dependencies and the bundles they form. */
  readonly registry: Registry;
  private last?: Build;
  private running?: Promise<Build>;

  constructor(options: AssetOptions) {
    this.options = resolveOptions(options);
    this.registry = new Registry(this.options.assets);
  }

  /**
   * Builds the bundles, or reuses the build in `outDir` when no input changed. Throws
   * `AssetConfigError` or `AssetBuildError`; after a failure the last good build keeps serving.
   * Calls made while a build runs share it.
   */
  build(): Promise<Build> {
    this.running ??= build(this.registry, this.options)
      .then((result) => (this.last = result))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** The last good build. Throws when `build()` has not finished yet. */
  get current(): Build {
    if (!this.last)
      throw new Error('The assets are not built yet: await assets.build() at startup');
    return this.last;
  }

  /** Whether a build has finished. */
  get built(): boolean {
    return this.last !== undefined;
  }

  /**
   * The Express middleware: `res.requireAssets()`, `res.locals.requireAsset()` and
   * `res.locals.assetTags()` for every response, tags filled in after the render, `Link`
   * preload headers, and (unless `serve: false`) the bundles served under `publicPath`.
   * @example app.use(assets.middleware());
   */
  middleware(): RequestHandler {
    return createMiddleware(this);
  }

  /**
   * A route middleware that declares needs before the handler runs (and sends `103 Early
   * Hints` at once when `earlyHints` is on). Unknown names throw here, at startup.
   * @example app.get('/editor', assets.needs('admin/editor.js'), showEditor);
   */
  needs(...names: string[]): RequestHandler {
    return createNeeds(this, names);
  }

  /**
   * Adds `{% requireAsset %}` and `{% assets %}` to a nunjucks environment; returns it.
   * @example assets.nunjucks(nunjucks.configure('views', { express: app }));
   */
  nunjucks(env: Environment): Environment {
    return addNunjucksTags(env);
  }

  /**
   * The asset state of a page rendered outside a response (an e-mail, a static page, a test):
   * pass it to templates as `pageAssets`, then `fill()` the rendered HTML.
   */
  page(): PageAssets {
    return new PageAssets(this.registry, () => this.current, this.options.publicPath);
  }
}

/**
 * Declares every asset of the application, once.
 *
 * @example
 * export const assets = defineAssets({
 *   root: ['assets', 'node_modules'],
 *   outDir: 'public/gen',
 *   assets: ['jquery/dist/jquery.js', { path: 'site/app.js', deps: ['jquery/dist/jquery.js'] }],
 * });
 * await assets.build();
 */
export function defineAssets(options: AssetOptions): AssetRegistry {
  return new AssetRegistry(options);
}
