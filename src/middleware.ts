import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AssetRegistry } from './assets';
import type { Kind } from './options';
import type { DevelopmentPages } from './development';
import { nonceOf, PageAssets, rendering } from './page';
import { createFileServer } from './serve';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's types are augmented here
  namespace Express {
    interface Response {
      /**
       * Declares that this page needs the given assets (and their dependencies).
       * Throws `AssetMissingError` for a name that is not registered.
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

/** `res.requireAssets`: one function for every response, reading the response's own state. */
function requireAssets(this: Response, ...names: (string | readonly string[])[]): void {
  const page = this.locals.pageAssets;
  page.require(...names);
  // Several calls in one turn of the handler make one 103, sent before any slow work.
  if (page.sendHints) queueMicrotask(page.sendHints);
}

/**
 * The Express adapter: gives each response its {@link PageAssets} (as `res.requireAssets`,
 * `res.locals.requireAsset`, `res.locals.assetTags`), fills the tags into the rendered HTML,
 * sends `Link` preload headers (and `103 Early Hints` when enabled), and serves the build.
 */
export function createMiddleware(assets: AssetRegistry): RequestHandler {
  const { options, registry } = assets;
  const serve = options.serve
    ? createFileServer(
        () => (assets.built ? assets.current : undefined),
        options.publicPath,
        options.mode === 'production',
      )
    : undefined;
  const currentBuild = () => assets.current;
  const development = assets.development;

  return function assetRegistryMiddleware(req: Request, res: Response, next: NextFunction) {
    if (development?.report(req, res, next) || serve?.(req, res)) return;
    if (development?.failed(req, res, next)) return;
    if (!assets.built) {
      next(new Error('The assets are not built yet: await assets.build() before serving pages'));
      return;
    }
    const page = new PageAssets(registry, currentBuild, options.publicPath);
    if (options.earlyHints) {
      let hinted = 0;
      page.sendHints = () => {
        if (res.headersSent) return;
        const links = page.preloadLinks();
        if (links.length > hinted) res.writeEarlyHints({ link: links.slice(hinted) });
        hinted = links.length;
      };
    }
    res.requireAssets = requireAssets;
    res.locals.pageAssets = page;
    res.locals.requireAsset = (...names) => {
      page.require(...names);
      return '';
    };
    res.locals.assetTags = (kind) => page.placeholder(kind);
    fillOnSend(res, page, development);
    development?.record(req, res, page);
    next();
  };
}

/**
 * Fills the tags in after the page is complete: a layout's `<head>` is written before a child
 * block or a partial requires its assets, so the tags are only known at the end of the render.
 */
function fillOnSend(res: Response, page: PageAssets, development?: DevelopmentPages): void {
  const send = res.send;
  const render = res.render;
  let filled: string | undefined; // the page res.render filled: sending it needs no second pass
  res.send = function sendWithAssets(this: Response, body?: unknown) {
    if (typeof body === 'string' && body !== filled) body = page.fill(body, nonceOf(res));
    // Node's own header calls: Express's res.get/res.append add work on every page.
    if (!res.headersSent && page.needs.size && !res.hasHeader('Link')) {
      res.setHeader('Link', page.preloadLinks());
    }
    return send.call(this, body);
  };
  type Callback = (error: Error | null, html?: string) => void;
  const renderAny = render as (this: Response, ...args: unknown[]) => void;
  res.render = function renderWithAssets(this: Response, view: string, ...rest: unknown[]) {
    const given = rest.findLast((arg): arg is Callback => typeof arg === 'function');
    const locals = rest[0] === given ? {} : rest[0];
    // Express's own default: send the page, or pass the error on (in development, an asset
    // error shows the error page).
    const callback: Callback =
      given ??
      ((error, html) => {
        if (!error) res.send(html);
        else if (!development?.showError(error, res.req, res)) res.req.next!(error);
      });
    const outer = rendering.page;
    rendering.page = page;
    try {
      renderAny.call(this, view, locals, (error: Error | null, html?: string) => {
        rendering.page = outer;
        if (error) callback(withAssetFacts(error, page));
        else callback(null, (filled = page.fill(html ?? '', nonceOf(res))));
      });
    } finally {
      rendering.page = outer;
    }
  } as Response['render'];
}

/** Gives a template engine's error about an unknown asset the facts of the original. */
function withAssetFacts(error: Error, page: PageAssets): Error {
  const missing = page.missing;
  if (!missing || error === missing || !error.message.includes(missing.asset)) return error;
  return Object.assign(error, {
    code: missing.code,
    asset: missing.asset,
    suggestions: missing.suggestions,
    cause: missing,
  });
}

/**
 * A route middleware that declares needs before the handler runs and, with `earlyHints`, sends
 * the `103 Early Hints` at once, before the handler's slow work (database, API calls) starts.
 */
export function createNeeds(assets: AssetRegistry, names: readonly string[]): RequestHandler {
  for (const name of names) assets.registry.closure(name); // unknown names fail at startup
  return function requireAssetsMiddleware(req: Request, res: Response, next: NextFunction) {
    if (typeof res.requireAssets !== 'function') {
      next(new Error('assets.needs() needs app.use(assets.middleware()) before it'));
      return;
    }
    res.requireAssets(...names);
    res.locals.pageAssets.sendHints?.();
    next();
  };
}
