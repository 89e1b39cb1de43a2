import type { Request, Response } from 'express';
import { nonceIn, placeholder } from '../page/page';
import type { PageAssets } from '../page/page';
import type { DevelopmentSide } from '../state';
import { answerVisit } from './visit';

type Callback = (error: Error | null, html?: string) => void;
type Render = (view: string, options?: object, callback?: Callback) => void;

/**
 * Gives one response its page: `res.requireAssets`, `res.locals.requireAsset` and
 * `res.locals.assetTags`, and its own `res.send` and `res.render`, which fill the tags into the
 * finished page (a layout's `<head>` is written before a child block or a partial requires its
 * assets) and add the `Link` preloads. Only this response changes: Express's shared prototype,
 * and every app that does not use the middleware, keep Express's own methods. Express then
 * labels, tags with an ETag and sends the filled page as it sends any string.
 */
export function attachPage(req: Request, res: Response, page: PageAssets): void {
  const locals = res.locals;
  locals.pageAssets = page;
  locals.requireAsset = (...names) => {
    page.require(...names);
    return '';
  };
  // The marks are the same for every page: one function serves them all.
  locals.assetTags = placeholder;
  res.requireAssets = function requireAssets(...names) {
    page.require(...names);
    // Several calls in one turn of the handler make one 103, sent before any slow work.
    if (page.sendHints) queueMicrotask(page.sendHints);
  };
  res.send = filledSend(res.send, req, page);
  res.render = filledRender(res.render as Render, req, res, page) as Response['render'];
}

/**
 * `res.send` that fills a page sent as a string and adds the `Link` preloads, and with critical
 * CSS, the headers of the visit (see {@link answerVisit}).
 */
function filledSend(send: Response['send'], req: Request, page: PageAssets): Response['send'] {
  return function sendWithAssets(this: Response, body?: unknown) {
    const { visit } = page;
    if (visit && !visit.shape) visit.shape = String(req.route?.path ?? '');
    const link = page.linkHeader();
    // An app's own Link header stays. Once the headers are out (a streamed page ended with
    // res.send()), Express's send ends the response or throws as it would without the library.
    if (link && !this.headersSent && !this.hasHeader('Link')) this.setHeader('Link', link);
    if (typeof body === 'string') {
      body = page.fill(body, nonceIn(this.locals));
      if (visit) answerVisit(req, this, page);
    }
    return send.call(this, body);
  };
}

/**
 * `res.render` whose page comes out filled: to the caller's callback, or sent with `res.send` as
 * Express's own `res.render` sends it. An engine's error about an unknown asset gets the asset's
 * facts; in development it shows the error page.
 */
function filledRender(render: Render, req: Request, res: Response, page: PageAssets): Render {
  return function renderWithAssets(view: string, options?: object, callback?: Callback) {
    if (typeof options === 'function') [options, callback] = [undefined, options as Callback];
    if (page.visit) page.visit.shape = view;
    render.call(res, view, options, (error, html) => {
      if (error) {
        error = withAssetFacts(error, page);
        if (callback) callback(error);
        else if (!errorPageOf(page, error)?.showError(error, req, res)) req.next!(error);
        return;
      }
      // Filled here, so that an app's own `res.send` gets the page as it goes out; `fill` knows
      // the page it filled last, so the library's `res.send` does not fill it twice.
      const filled = page.fill(html ?? '', nonceIn(res.locals));
      // The page depends on the visit whatever sends it (res.send, res.end): its headers now.
      if (page.visit) answerVisit(req, res, page);
      if (callback) callback(null, filled);
      else res.send(filled);
    });
  };
}

/**
 * The development error page of a page's registries that names an asset error best: the one
 * that registers the name nearest to an unknown one, else the first in development mode.
 */
export function errorPageOf(page: PageAssets, error?: unknown): DevelopmentSide | undefined {
  const suggested = (error as { suggestions?: readonly string[] } | undefined)?.suggestions?.[0];
  const sources = page.sources.filter((source) => source.development);
  const owner = suggested && sources.find((source) => source.registry.has(suggested));
  return (owner || sources[0])?.development;
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
