import type { NextFunction, Request, Response } from 'express';
import { nonceIn } from '../page/page';
import { AssetError } from '../registry/errors';
import type { AssetState, DevelopmentSide } from '../state';
import { renderErrorPage } from './errorPage';
import type { TemplatePosition } from './errorPage';
import { renderReportPage } from './reportPage';

const MOST_ROUTES = 500;

/**
 * What development mode adds to the middleware: the report page, the error page in place of
 * pages while a build error lasts, and the record of which routes required which assets.
 */
export class DevelopmentPages implements DevelopmentSide {
  /** Route (Express's route path, else the URL path) to the assets its pages needed. */
  readonly usage = new Map<string, Set<string>>();
  private readonly reportPath?: string;

  constructor(private readonly assets: AssetState) {
    const { options } = assets;
    if (options.report) this.reportPath = `${options.publicUrl.path}_report`;
  }

  /** Answers the report page. Returns whether it did. */
  report(req: Request, res: Response, next: NextFunction): boolean {
    if (!this.reportPath || req.path !== this.reportPath) return false;
    renderReportPage(this.assets, this.usage, nonceIn(res.locals)).then(
      (html) => res.type('html').set('Cache-Control', 'no-store').send(html),
      next,
    );
    return true;
  }

  /** Answers pages with the error page while the last build failed. Returns whether it did. */
  failed(req: Request, res: Response, next: NextFunction): boolean {
    const failure = this.assets.failure;
    if (!failure) return false;
    if (!this.showError(failure, req, res)) next(failure);
    return true;
  }

  /**
   * Shows the error page for an asset error to a browser. Returns whether it did. Only the
   * watched build's error says that a saved fix is enough: a handler's or a template's needs
   * a restart.
   */
  showError(error: unknown, req: Request, res: Response): boolean {
    const assetError = assetErrorOf(error);
    if (!assetError || res.headersSent || !req.accepts('html')) return false;
    res.status(500).type('html').set('Cache-Control', 'no-store');
    res.end(
      renderErrorPage(assetError, this.assets, nonceIn(res.locals), {
        template: templateLocation(error),
        rebuilds: assetError === this.assets.failure,
        thrown: assetError === error,
      }),
    );
    return true;
  }

  /** Records, when the response is done, which assets the route's page needed. */
  record(req: Request, res: Response, needsOf: () => ReadonlySet<string>): void {
    res.once('finish', () => {
      const needs = needsOf();
      if (!needs.size) return;
      const route: unknown = req.route?.path;
      const key = typeof route === 'string' ? route : req.path;
      let used = this.usage.get(key);
      if (!used) {
        if (this.usage.size >= MOST_ROUTES) return;
        used = new Set();
        this.usage.set(key, used);
      }
      for (const name of needs) used.add(name);
    });
  }
}

/** Where a template engine said its error happened: nunjucks writes `(file) [Line 5, Column 6]`. */
function templateLocation(error: unknown): TemplatePosition | undefined {
  const message = error instanceof Error ? error.message : '';
  const match = /\(([^()\n]+)\)\s*\[Line (\d+), Column (\d+)\]/.exec(message);
  return match ? { file: match[1], line: Number(match[2]), column: Number(match[3]) } : undefined;
}

/** The asset error behind an error, also when a template engine wrapped it. */
function assetErrorOf(error: unknown): AssetError | undefined {
  if (error instanceof AssetError) return error;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof AssetError) return cause;
  return undefined;
}
