import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { PageAssets, pageIn } from '../page/page';
import { AssetNotBuiltError, AssetSetupError } from '../registry/errors';
import type { AssetState } from '../state';
import { attachPage, errorPageOf } from './response';
import { createFileServer } from './serve';
import { visitOf } from './visit';

/** What a route that ran before the middleware is told. */
const MIDDLEWARE_FIRST =
  'app.use(assets.middleware()) must come before the routes that call res.requireAssets';

/**
 * The adapter of one registry: serves its build under `publicPath` (unless `serve: false`) and
 * gives each page the registry's assets (see {@link attachPage}). A second registry's middleware
 * on the same response adds its assets to the page the first made: a name goes to the first
 * registry mounted that registers it, and the tags are each registry's, in mount order.
 */
export function createMiddleware(state: AssetState): RequestHandler {
  const { options } = state;
  const serve = options.serve
    ? createFileServer(
        () => (state.built ? state.current : undefined),
        options.publicUrl,
        options.mode === 'production',
      )
    : undefined;

  return function assetRegistryMiddleware(req: Request, res: Response, next: NextFunction) {
    const development = state.development;
    if (development?.report(req, res, next) || serve?.(req, res)) return;
    if (development?.failed(req, res, next)) return;
    if (!state.built) {
      const error = new AssetNotBuiltError();
      if (!development?.showError(error, req, res)) next(error);
      return;
    }
    let page = pageIn(res.locals);
    if (page) page.addSource(state);
    else attachPage(req, res, (page = new PageAssets(state)));
    if (options.earlyHints) page.sendHints ??= hintsFor(res, page);
    if (options.criticalCss && !development) page.visit ??= visitOf(req);
    if (development) {
      const made = page;
      development.record(req, res, () => made.needsOf(state));
    }
    next();
  };
}

/** Sends a `103 Early Hints` for the needs not hinted yet, while the headers are not sent. */
function hintsFor(res: Response, page: PageAssets): () => void {
  let hinted = 0;
  return () => {
    if (res.headersSent) return;
    const links = page.preloadLinks();
    if (links.length > hinted) res.writeEarlyHints({ link: links.slice(hinted) });
    hinted = links.length;
  };
}

/**
 * `assets.errorHandler()`: a route that ran before the middleware is told so; in development an
 * asset error is shown as the error page of the registry it is about.
 */
export function createErrorHandler(state: AssetState): ErrorRequestHandler {
  return function assetErrorPage(error: unknown, req: Request, res: Response, next: NextFunction) {
    const clear = setupErrorOf(error);
    const page = pageIn(res.locals);
    const development = page ? errorPageOf(page, clear) : state.development;
    if (!development?.showError(clear, req, res)) next(clear);
  };
}

/**
 * The error a route made by running before the middleware, said plainly: `res.requireAssets`
 * (or a locals helper) is not there on a response no middleware handled, and calling it is a
 * `TypeError` of the engine's. Any other error is given back as it is.
 */
function setupErrorOf(error: unknown): unknown {
  const calledMissing = /\b(requireAssets|requireAsset|assetTags) is not a function\b/;
  if (!(error instanceof TypeError) || !calledMissing.test(error.message)) return error;
  const setup = new AssetSetupError(MIDDLEWARE_FIRST, { cause: error });
  setup.stack = `${setup.name}: ${setup.message}\n${error.stack?.split('\n').slice(1).join('\n')}`;
  return setup;
}
