import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AssetRegistry } from '../assets';
import type { DevelopmentPages } from '../development/pages';
import { AssetNotBuiltError, AssetSetupError } from '../registry/errors';
import { nonceIn, PageAssets, placeholder, rendering } from '../page/page';
import { createFileServer } from './serve';
import './types';

/**
 * Express gives every response a hidden class (V8 map) of its own, so a property set on a
 * response makes V8 copy that class: about 33,000 instructions, 3% of a whole page (counted with
 * `npm run bench:request -- --instructions`), and every name looked up on a response walks its
 * prototypes. The response methods therefore live on Express's response prototype, installed
 * once, and all per-response state stays in `res.locals`. Responses the middleware did not see
 * (no `PageAssets` in their locals) get Express's own methods.
 */
const installed = new WeakSet<object>();
/** The error page of a development registry, for pages it handled. */
const developmentOf = new WeakMap<PageAssets, DevelopmentPages>();

type Send = Response['send'];
type Render = (this: Response, view: string, options?: object, callback?: Callback) => void;
type Callback = (error: Error | null, html?: string) => void;

/** The page of a response's locals: read once per call (see `installed`). */
export function pageIn(locals: Record<string, unknown> | undefined): PageAssets | undefined {
  const page = locals?.pageAssets;
  return page instanceof PageAssets ? page : undefined;
}

/** What a route that ran before the middleware is told. */
const MIDDLEWARE_FIRST =
  'app.use(assets.middleware()) must come before the routes that call res.requireAssets';

/**
 * The error a route made by running before the middleware, said plainly: before any response
 * passed through the middleware, `res.requireAssets` (or a locals helper) is not there at all,
 * and calling it is a `TypeError` of the engine's. Any other error is given back as it is.
 */
export function setupErrorOf(error: unknown): unknown {
  const calledMissing = /\b(requireAssets|requireAsset|assetTags) is not a function\b/;
  if (!(error instanceof TypeError) || !calledMissing.test(error.message)) return error;
  const setup = new AssetSetupError(MIDDLEWARE_FIRST, { cause: error });
  setup.stack = `${setup.name}: ${setup.message}\n${error.stack?.split('\n').slice(1).join('\n')}`;
  return setup;
}

/** `res.requireAssets`: reads the response's own page. */
function requireAssets(this: Response, ...names: (string | readonly string[])[]): void {
  const page = pageIn(this.locals);
  if (!page) throw new AssetSetupError(MIDDLEWARE_FIRST);
  page.require(...names);
  // Several calls in one turn of the handler make one 103, sent before any slow work.
  if (page.sendHints) queueMicrotask(page.sendHints);
}

/** Adds `requireAssets` and the filling `send`/`render` to the prototype that owns `render`. */
function installOn(res: Response): void {
  let owner: object | null = Object.getPrototypeOf(res) as object | null;
  while (owner && !Object.hasOwn(owner, 'render')) owner = Object.getPrototypeOf(owner) as object;
  if (!owner)
    throw new TypeError('assets.middleware() is Express middleware: res.render is missing');
  if (installed.has(owner)) return;
  const { send, render } = owner as { send: Send; render: Render };
  const method = (value: unknown) => ({ value, writable: true, configurable: true });
  const sendWithAssets = filledSend(send, headerCallsOf(res, owner as Response));
  Object.defineProperties(owner, {
    requireAssets: method(requireAssets),
    send: method(sendWithAssets),
    render: method(filledRender(render, sendWithAssets)),
  });
  installed.add(owner);
}

/**
 * The adapter of one registry: gives each response its {@link PageAssets} (as
 * `res.requireAssets`, `res.locals.requireAsset`, `res.locals.assetTags`), fills the tags into
 * the rendered HTML, sends `Link` preload headers (and `103 Early Hints` when enabled), and
 * serves the build.
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
  let lastPrototype: object | undefined;

  return function assetRegistryMiddleware(req: Request, res: Response, next: NextFunction) {
    if (development?.report(req, res, next) || serve?.(req, res)) return;
    if (development?.failed(req, res, next)) return;
    if (!assets.built) {
      const error = new AssetNotBuiltError();
      if (!development?.showError(error, req, res)) next(error);
      return;
    }
    // A prototype read costs less than a property lookup on a response (see `installed`).
    const prototype = Object.getPrototypeOf(res) as object;
    if (prototype !== lastPrototype) {
      installOn(res);
      lastPrototype = prototype;
    }
    const page = new PageAssets(registry, currentBuild, options.publicPath);
    if (options.earlyHints) page.sendHints = hintsFor(res, page);
    const locals = res.locals;
    locals.pageAssets = page;
    locals.requireAsset = (...names) => {
      page.require(...names);
      return '';
    };
    // The marks are the same for every page: one function serves them all.
    locals.assetTags = placeholder;
    if (development) {
      developmentOf.set(page, development);
      development.record(req, res, page);
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
 * `res.send` that fills the tags into a page sent as a string and adds the `Link` preloads:
 * the tags are only known once the page is complete (a layout's `<head>` is written before a
 * child block or a partial requires its assets).
 */
function filledSend(send: Send, calls: HeaderCalls): Send {
  return function sendWithAssets(this: Response, body?: unknown) {
    const locals = this.locals;
    const page = pageIn(locals);
    if (page) {
      const link = page.linkHeader();
      // An app's own Link header stays. Headers already sent: Express's send throws then when it
      // has a body; without one (a streamed page ended with res.send()) it only ends.
      const open = body !== undefined || !calls.headersSent.call(this);
      if (link && open && !calls.hasHeader.call(this, 'Link')) {
        calls.setHeader.call(this, 'Link', link);
      }
      if (typeof body === 'string') body = filledBody(this, page, body, nonceIn(locals), calls);
    }
    return send.call(this, body);
  };
}

/**
 * A page sent as a string, filled. Express labels a page sent as a string with no type yet by
 * `res.type('html')` and makes it into UTF-8 bytes. A page with marks is made into those bytes
 * here, from its pieces (see {@link PageAssets.bytes}), and labelled with what Express's own
 * `res.type('html')` sets, without the call: its media-type lookups cost ~20,000 instructions, 2%
 * of a 5 kB page (valgrind). A page with a type the app set, or whose app has a `type`, `set` or
 * `setHeader` of its own, stays a string, filled, for Express (and those) to label as they would
 * without the library. A page that `res.render` filled for its caller's callback comes back
 * unchanged.
 */
function filledBody(
  res: Response,
  page: PageAssets,
  html: string,
  nonce: string | undefined,
  calls: HeaderCalls,
): string | Buffer {
  if (calls.hasHeader.call(res, 'Content-Type')) return page.fill(html, nonce);
  const expressOnly =
    calls.htmlType === HTML_TYPE &&
    res.type === calls.type &&
    res.set === calls.set &&
    res.setHeader === calls.setHeader;
  const bytes = expressOnly ? page.bytes(html, nonce) : undefined;
  if (!bytes) return page.fill(html, nonce);
  calls.setHeader.call(res, 'Content-Type', HTML_TYPE);
  return bytes;
}

/** What `res.type('html')` sets, and what Express's charset step leaves as it is. */
const HTML_TYPE = 'text/html; charset=utf-8';

/**
 * What Express's own `res.type('html')` sets, found once by calling it on a stand-in response that
 * records the headers set: undefined unless it set exactly a `Content-Type`. Express defines
 * `type`/`contentType` and `set`/`header` as one function each under two names: where the two
 * differ, an app replaced one, and its pages go Express's way. (The media-type table is read
 * here, on the first request: a change to it after that is not seen.)
 */
function htmlTypeOf(express: Response): string | undefined {
  if (express.type !== express.contentType || express.set !== express.header) return undefined;
  const set: unknown[][] = [];
  const standIn = { set: express.set, setHeader: (...header: unknown[]) => set.push(header) };
  try {
    express.type.call(standIn, 'html');
  } catch {
    return undefined; // an Express this library does not know: the page goes Express's way
  }
  const [name, value] = set[0] ?? [];
  const one = set.length === 1 && String(name).toLowerCase() === 'content-type';
  return one && typeof value === 'string' ? value : undefined;
}

/**
 * Node's header calls, looked up once on the first response: looking `headersSent`, `hasHeader`
 * and `setHeader` up on each response walks its five prototypes (see `installed`). Reading a
 * response's state costs too: `headersSent` and `hasHeader` checked on every page cost ~6,000
 * instructions (valgrind), so `headersSent` is read only where Express would not throw anyway.
 */
interface HeaderCalls {
  headersSent: (this: Response) => boolean;
  hasHeader: Response['hasHeader'];
  setHeader: Response['setHeader'];
  /** Express's own `res.type` and `res.set`, of the prototype the middleware extends. */
  type: Response['type'];
  set: Response['set'];
  /** What Express's `res.type('html')` sets, when it could be found. */
  htmlType?: string;
}

function headerCallsOf(res: Response, express: Response): HeaderCalls {
  let holder: object | null = res;
  while (holder && !Object.hasOwn(holder, 'headersSent')) holder = Object.getPrototypeOf(holder);
  const sent = holder && Object.getOwnPropertyDescriptor(holder, 'headersSent')?.get;
  return {
    headersSent:
      (sent as HeaderCalls['headersSent'] | undefined) ??
      function (this: Response) {
        return this.headersSent;
      },
    // From the prototype: an earlier middleware may have wrapped the first response's own.
    hasHeader: (Object.getPrototypeOf(res) as Response).hasHeader,
    setHeader: (Object.getPrototypeOf(res) as Response).setHeader,
    type: express.type,
    set: express.set,
    htmlType: htmlTypeOf(express),
  };
}

/**
 * `res.render` that fills the tags into the rendered page and makes the page the one being
 * rendered (for template code that cannot see the locals) while the engine runs.
 */
function filledRender(render: Render, sendWithAssets: Send): Render {
  return function renderWithAssets(
    this: Response,
    view: string,
    options?: object | Callback,
    callback?: Callback,
  ) {
    if (typeof options === 'function') [options, callback] = [undefined, options as Callback];
    const page = pageIn(this.locals);
    if (!page) return render.call(this, view, options, callback);
    const outer = rendering.page;
    rendering.page = page;
    try {
      // One callback: the page filled, then the caller's callback or Express's own default (send
      // the page, or pass the error on; in development an asset error shows the error page).
      // The library's own `res.send` fills the page it sends; an app's own gets it filled.
      render.call(this, view, options, (error, html) => {
        rendering.page = outer;
        if (error) error = withAssetFacts(error, page);
        else if (callback || this.send !== sendWithAssets || pageIn(this.locals) !== page) {
          html = page.fill(html ?? '', nonceIn(this.locals));
        }
        if (callback) callback(error, html);
        else if (!error) this.send(html ?? '');
        else if (!developmentOf.get(page)?.showError(error, this.req, this)) this.req.next!(error);
      });
    } finally {
      rendering.page = outer;
    }
  };
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
