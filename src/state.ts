import type { NextFunction, Request, Response } from 'express';
import type { Build } from './build/loaded';
import { AssetNotBuiltError } from './registry/errors';
import type { AssetError } from './registry/errors';
import type { ResolvedOptions } from './registry/options';
import type { Registry } from './registry/registry';

/**
 * What development mode adds to a registry's middleware (`development/pages.ts`). Declared here
 * so that this module, which every adapter reads, does not load development mode.
 */
export interface DevelopmentSide {
  /** Answers the report page. Returns whether it did. */
  report(req: Request, res: Response, next: NextFunction): boolean;
  /** Answers with the error page while the last build failed. Returns whether it did. */
  failed(req: Request, res: Response, next: NextFunction): boolean;
  /** Shows the error page for an asset error to a browser. Returns whether it did. */
  showError(error: unknown, req: Request, res: Response): boolean;
  /** Records, once the response is done, which of this registry's assets the route needed. */
  record(req: Request, res: Response, needs: () => ReadonlySet<string>): void;
}

/**
 * One registry's state, as the adapters read it: the checked options, the assets, the last good
 * build and, in development, the error of the last build. `defineAssets`'s object updates it;
 * the middleware, the pages and the development pages are given it.
 */
export class AssetState {
  /**
   * In development, the error of the last build (shown by the error page instead of the
   * pages), or undefined when it succeeded.
   */
  failure?: AssetError;
  /** Development mode's report and error pages; undefined in production. */
  development?: DevelopmentSide;
  private last?: Build;

  constructor(
    /** The options, checked and frozen. */
    readonly options: ResolvedOptions,
    /** The assets, their dependencies and the bundles they form. */
    readonly registry: Registry,
    /** Where `defineAssets` was called (`file:line:column`), shown by the error page. */
    readonly definedAt?: string,
  ) {}

  /** The last good build. Throws `AssetNotBuiltError` when none has finished yet. */
  get current(): Build {
    if (!this.last) throw new AssetNotBuiltError();
    return this.last;
  }

  /** Whether a build has finished. */
  get built(): boolean {
    return this.last !== undefined;
  }

  /** Makes `build` the one pages and the file server read. */
  finished(build: Build): Build {
    this.last = build;
    return build;
  }
}
