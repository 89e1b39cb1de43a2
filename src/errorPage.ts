import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { AssetRegistry } from './assets';
import type { AssetError } from './errors';
import { resolveDisplayName } from './loadPath';

/** The library's own templates and styles, next to `src/` and `dist/`. */
export const VIEWS = path.join(__dirname, '..', 'views');
const STYLES = path.join(__dirname, '..', 'public', 'asset-registry.css');

let views: nunjucks.Environment | undefined;

/** Renders one of the library's own pages, with autoescape on: everything shown is escaped. */
export function renderView(name: string, context: Record<string, unknown>): string {
  views ??= new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS), { autoescape: true });
  return views.render(name, { ...context, css: fs.readFileSync(STYLES, 'utf8') });
}

/**
 * The development error page: the file, line and column, the compiler's message, the source
 * lines around the error, and for an unknown asset the names it may have meant.
 */
export function renderErrorPage(
  error: AssetError,
  assets: AssetRegistry,
  nonce?: string,
  /** The template position of an error raised while rendering, when the error has none. */
  template?: { file: string; line: number; column: number },
): string {
  const facts = error as AssetError & {
    file?: string;
    line?: number;
    column?: number;
    reason?: string;
    asset?: string;
    suggestions?: readonly string[];
  };
  // Where to point: the file the error names, else the template that raised it.
  const where = facts.file
    ? {
        shown: facts.file,
        file: resolveDisplayName(facts.file, assets.options.roots),
        line: facts.line,
        column: facts.column,
      }
    : template && {
        shown: path.relative(process.cwd(), template.file).split(path.sep).join('/'),
        ...template,
      };
  const position = where?.line ? `:${where.line}${where.column ? `:${where.column}` : ''}` : '';
  return renderView('error.njk', {
    error,
    title: facts.reason ?? error.message,
    location: where && `${where.shown}${position}`,
    excerpt: where?.line ? excerptOf(where.file, where.line) : undefined,
    column: where?.column,
    caret: ' '.repeat(Math.max(0, (where?.column ?? 1) - 1)),
    suggestions: facts.suggestions ?? [],
    definedAt: assets.definedAt,
    nonce,
  });
}

/** Up to three lines either side of `line` (1-based), numbered. */
function excerptOf(
  file: string,
  line: number,
): { number: number; text: string; current: boolean }[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split(/\r?\n/);
  const first = Math.max(1, line - 3);
  const last = Math.min(lines.length, line + 3);
  const excerpt = [];
  for (let number = first; number <= last; number++) {
    excerpt.push({ number, text: lines[number - 1], current: number === line });
  }
  return excerpt;
}
