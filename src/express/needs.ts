import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AssetSetupError } from '../registry/errors';
import { pageIn } from '../page/page';
import type { Registry } from '../registry/registry';

/**
 * A route middleware that declares needs before the handler runs and, with `earlyHints`, sends
 * the `103 Early Hints` at once, before the handler's slow work (database, API calls) starts.
 */
export function createNeeds(registry: Registry, args: readonly unknown[]): RequestHandler {
  const names = namesOf(args);
  for (const name of names) registry.closure(name); // unknown names fail at startup
  return function requireAssetsMiddleware(req: Request, res: Response, next: NextFunction) {
    const page = pageIn(res.locals);
    if (!page) {
      next(
        new AssetSetupError(
          'app.use(assets.middleware()) must come before the routes that use assets.needs()',
        ),
      );
      return;
    }
    page.require(...names);
    page.sendHints?.();
    next();
  };
}

/** `needs()`'s arguments as names: strings, or lists of them. Throws a `TypeError` naming one. */
function namesOf(args: readonly unknown[]): string[] {
  return args.flatMap((arg, i) => {
    const list = Array.isArray(arg) ? (arg as unknown[]) : [arg];
    if (!list.every((name) => typeof name === 'string')) {
      throw new TypeError(
        `assets.needs() takes asset names or lists of them; argument ${i + 1} is ${describe(arg)}`,
      );
    }
    return list as string[];
  });
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list holding something other than names';
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? 'an object' : `the ${typeof value} ${String(value)}`;
}
