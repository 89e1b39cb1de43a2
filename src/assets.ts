import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Environment } from 'nunjucks';
import { build } from './build/build';
import { emptyBuild } from './build/loaded';
import type { Build } from './build/loaded';
import type { DevelopmentBuilder } from './development/builder';
import type { DevelopmentPages } from './development/pages';
import type { Watcher } from './development/watch';
import type * as Middleware from './express/middleware';
import type * as Needs from './express/needs';
import type * as Nunjucks from './page/nunjucks';
import type * as Page from './page/page';
import type { PageAssets } from './page/page';
import { AssetError, applicationFrame, errorMessage } from './registry/errors';
import { resolveOptions } from './registry/options';
import type { AssetOptions, ResolvedOptions } from './registry/options';
import { Registry } from './registry/registry';
import { AssetState } from './state';

/**
 * The registry of an application: every asset, declared once, and the build made from them.
 * Made by {@link defineAssets}. A face over its {@link AssetState}, which the Express and
 * Nunjucks adapters are given.
 */
export class AssetRegistry {
  /** What the adapters read: options, assets, the last good build, the last build's error. */
  private readonly state: AssetState;
  private running?: Promise<Build>;
  private again = false;
  private developer?: DevelopmentBuilder;
  private watcher?: Watcher;
  private closed = false;

  constructor(options: AssetOptions) {
    const resolved = resolveOptions(options);
    this.state = new AssetState(
      resolved,
      new Registry(resolved.assets),
      applicationFrame(new Error().stack),
    );
    if (resolved.mode === 'development') {
      this.state.development = new (developmentModules().DevelopmentPages)(this.state);
    }
  }

  /** The options, checked and frozen. */
  get options(): ResolvedOptions {
    return this.state.options;
  }

  /** The assets, their dependencies and the bundles they form. */
  get registry(): Registry {
    return this.state.registry;
  }

  /** Where `defineAssets` was called (`file:line:column`), shown by the development error page. */
  get definedAt(): string | undefined {
    return this.state.definedAt;
  }

  /**
   * In development, the error of the last build (shown by the error page instead of the
   * pages), or undefined when it succeeded.
   */
  get failure(): AssetError | undefined {
    return this.state.failure;
  }

  /** The last good build. Throws `AssetNotBuiltError` when `build()` has not finished yet. */
  get current(): Build {
    return this.state.current;
  }

  /** Whether a build has finished. */
  get built(): boolean {
    return this.state.built;
  }

  /**
   * Builds the bundles, or reuses the build in `outDir` when no input changed. Throws
   * `AssetConfigError` or `AssetBuildError`; after a failure the last good build keeps serving.
   * Calls made while a build runs share it.
   *
   * In development it compiles one file per asset and watches them; a build error does not
   * throw but is kept in {@link failure} for the error page, until a save fixes it.
   */
  build(): Promise<Build> {
    if (this.running) {
      this.again = this.options.mode === 'development';
      return this.running;
    }
    const run =
      this.options.mode === 'development'
        ? this.buildForDevelopment()
        : build(this.registry, this.options);
    this.running = run
      .then((result) => this.state.finished(result))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          void this.build();
        }
      });
    return this.running;
  }

  /** Stops watching files (development mode), so servers and tests exit cleanly. */
  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.close();
    this.watcher = undefined;
  }

  private async buildForDevelopment(): Promise<Build> {
    const { DevelopmentBuilder, Watcher } = developmentModules();
    this.developer ??= new DevelopmentBuilder(this.registry, this.options);
    let result = this.state.built ? this.state.current : undefined;
    try {
      result = await this.developer.build();
      this.state.failure = undefined;
    } catch (error) {
      if (!(error instanceof AssetError)) throw error;
      this.state.failure = error;
      this.options.log(`asset-registry: ${error.message}`);
    }
    if (!this.closed) {
      this.watcher ??= new Watcher(() => {
        // A rebuild's asset errors land in `failure`; anything else is logged, never thrown at
        // a file watcher's event loop, so the server keeps running.
        this.build().catch((error: unknown) =>
          this.options.log(`asset-registry: ${errorMessage(error)}`),
        );
      });
      await this.watcher.watch(this.developer.watchList());
    }
    return result ?? emptyBuild();
  }

  /**
   * The Express middleware: `res.requireAssets()`, `res.locals.requireAsset()` and
   * `res.locals.assetTags()` for every response, tags filled in after the render, `Link`
   * preload headers, and (unless `serve: false`) the bundles served under `publicPath`.
   *
   * Mount it before the routes: a route that runs before it and calls `res.requireAssets` fails
   * with `AssetSetupError` (`ASSET_SETUP`). A page asked for before `build()` finished is an
   * `AssetNotBuiltError` (`ASSET_NOT_BUILT`): await the build before `app.listen()`.
   * @example
   * await assets.build();
   * app.use(assets.middleware());
   * app.get('/', home);
   * app.listen(3000);
   */
  middleware(): RequestHandler {
    return adapters().createMiddleware(this.state);
  }

  /**
   * A route middleware that declares needs before the handler runs (and sends `103 Early
   * Hints` at once when `earlyHints` is on). Takes names or lists of names, as
   * `res.requireAssets` does. Unknown names throw `AssetMissingError` here, at startup; an
   * argument that is neither a name nor a list of names throws a `TypeError` that names it.
   * @example
   * app.get('/editor', assets.needs('admin/editor.js'), showEditor);
   * app.get('/admin', assets.needs(['admin/editor.js', 'admin/editor.css']), showAdmin);
   */
  needs(...names: (string | readonly string[])[]): RequestHandler {
    return adapters().createNeeds(this.registry, names);
  }

  /**
   * An error-handling middleware for after the routes. In every mode, it makes the `TypeError`
   * of a route that ran before `app.use(assets.middleware())` (`res.requireAssets is not a
   * function`) into an `AssetSetupError` that says so. In development it shows an asset error
   * (an unknown name required by a handler, say) as the error page, with the names it may have
   * meant and where the mistake is; anything else, and everything in production, goes on to
   * the next error handler through `next(error)`.
   * @example app.use(assets.errorHandler());
   */
  errorHandler(): ErrorRequestHandler {
    return adapters().createErrorHandler(this.state);
  }

  /**
   * Adds `{% requireAsset %}` and `{% assets %}` to a nunjucks environment; returns it.
   * @example assets.nunjucks(nunjucks.configure('views', { express: app }));
   */
  nunjucks(env: Environment): Environment {
    return adapters().addNunjucksTags(env);
  }

  /**
   * The asset state of a page rendered outside a response (an e-mail, a static page, a test):
   * pass it to templates as `pageAssets`, then `fill()` the rendered HTML.
   */
  page(): PageAssets {
    return new (adapters().PageAssets)(this.state);
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

/**
 * The Express and Nunjucks adapters load when first asked for (`middleware()`, `nunjucks()`...):
 * `require` and a prebuilt `build()` stay about the registry and its files, and a process that
 * only builds (the CLI, a deploy script) never loads them.
 */
function adapters(): typeof Middleware & typeof Needs & typeof Nunjucks & typeof Page {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
  return {
    ...(require('./express/middleware') as typeof Middleware),
    ...(require('./express/needs') as typeof Needs),
    ...(require('./page/nunjucks') as typeof Nunjucks),
    ...(require('./page/page') as typeof Page),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * Development mode's modules load only in development: a production server never loads the
 * file watcher or the error and report pages' template engine.
 */
function developmentModules() {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
  return {
    DevelopmentBuilder: (
      require('./development/builder') as { DevelopmentBuilder: typeof DevelopmentBuilder }
    ).DevelopmentBuilder,
    DevelopmentPages: (
      require('./development/pages') as { DevelopmentPages: typeof DevelopmentPages }
    ).DevelopmentPages,
    Watcher: (require('./development/watch') as { Watcher: typeof Watcher }).Watcher,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}
