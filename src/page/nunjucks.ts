import type { Environment } from 'nunjucks';
import type { PageAssets } from './page';

/** The parts of nunjucks's parser API an extension uses (nunjucks ships no types for them). */
interface Parser {
  nextToken(): { value: string; lineno: number; colno: number };
  parseSignature(throwErrors: null, noParens: true): NodeList;
  advanceAfterBlockEnd(name: string): void;
}
interface NodeList {
  children: unknown[];
}
interface Nodes {
  CallExtension: new (extension: object, method: string, args: NodeList) => object;
  Literal: new (lineno: number, colno: number, value: unknown) => object;
}
interface Context {
  lookup(name: string): unknown;
}

/**
 * Adds `{% requireAsset "a.js", "b.less" %}` and `{% assets "css" %}` to a nunjucks
 * environment, with whatever block delimiters it is configured with. The tags find the page's
 * state in the template variable `pageAssets`: Express's `res.render` passes `res.locals`, where
 * the middleware put it; pass `assets.page()` yourself to `env.render`. A macro imported from
 * another template sees it when imported `with context`.
 */
export function addNunjucksTags(env: Environment): Environment {
  if (!env || typeof env.addExtension !== 'function') {
    throw new TypeError('assets.nunjucks() takes a nunjucks.Environment');
  }
  if (env.hasExtension(EXTENSION)) return env;
  const extension = {
    tags: ['requireAsset', 'assets'],
    parse(parser: Parser, nodes: Nodes) {
      const token = parser.nextToken();
      const args = parser.parseSignature(null, true);
      parser.advanceAfterBlockEnd(token.value);
      // nunjucks tracks positions only for function calls: pass the tag's as hidden arguments.
      const { lineno, colno } = token;
      args.children.unshift(
        new nodes.Literal(lineno, colno, lineno + 1),
        new nodes.Literal(lineno, colno, colno + 1),
      );
      const method = token.value === 'requireAsset' ? 'requireAsset' : 'assetTags';
      return new nodes.CallExtension(extension, method, args);
    },
    requireAsset(context: Context, line: number, column: number, ...names: unknown[]): string {
      return located(line, column, () => {
        pageOf(context).require(...names);
        return '';
      });
    },
    assetTags(context: Context, line: number, column: number, kind: unknown): string {
      return located(line, column, () => pageOf(context).placeholder(kind));
    },
  };
  env.addExtension(EXTENSION, extension);
  return env;
}

const EXTENSION = 'AssetRegistry';

/** Runs a tag; an error gets the tag's line and column, which nunjucks adds to its message. */
function located(line: number, column: number, run: () => string): string {
  try {
    return run();
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- nunjucks is the caller
    const { lib } = require('nunjucks') as { lib: { TemplateError: TemplateErrorConstructor } };
    throw Object.assign(new lib.TemplateError(error as Error, line, column), pick(error));
  }
}

type TemplateErrorConstructor = new (cause: Error, lineno: number, colno: number) => Error;

function pick(error: unknown): object {
  const { code, asset, suggestions } = error as Record<string, unknown>;
  return code === undefined ? {} : { code, asset, suggestions };
}

function pageOf(context: Context): PageAssets {
  const page = context.lookup('pageAssets');
  if (!page || typeof (page as PageAssets).require !== 'function') {
    throw new Error(
      'No page asset state: render through res.render with app.use(assets.middleware()), ' +
        'or pass { pageAssets: assets.page() } to env.render; a macro that requires assets ' +
        'is imported "with context"',
    );
  }
  return page as PageAssets;
}
