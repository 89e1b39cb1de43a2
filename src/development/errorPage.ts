import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { AssetState } from '../state';
import { AssetBuildError, applicationFrame } from '../registry/errors';
import type { AssetError } from '../registry/errors';
import { resolveDisplayName } from '../registry/loadPath';

/** The library's own templates and styles, next to `src/` and `dist/`. */
export const VIEWS = path.join(__dirname, '..', '..', 'views');
const STYLES = path.join(__dirname, '..', '..', 'public', 'asset-registry.css');

let views: nunjucks.Environment | undefined;

/** Renders one of the library's own pages, with autoescape on: everything shown is escaped. */
export function renderView(name: string, context: Record<string, unknown>): string {
  views ??= new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS), { autoescape: true });
  return views.render(name, { ...context, css: fs.readFileSync(STYLES, 'utf8') });
}

/** Where a template engine said an error happened. */
export interface TemplatePosition {
  file: string;
  line: number;
  column: number;
}

/** What the error page says besides the error itself. */
export interface ErrorContext {
  /** The template position of an error raised while rendering, when the error has none. */
  template?: TemplatePosition;
  /**
   * Whether the error is the watched build's, which a saved fix clears without a restart. Any
   * other (a handler's or a template's typo) is fixed in code that only a restart reloads.
   */
  rebuilds: boolean;
  /** Whether the error is the one thrown, not one a template engine wrapped. */
  thrown: boolean;
}

/**
 * The development error page: the file, line and column, the compiler's message, the source
 * lines around the error, and for an unknown asset the names it may have meant. A build error
 * points at the asset's file; a template's unknown name at the template; a handler's mistake at
 * its line. Only a build error says that saving a fix is enough.
 */
export function renderErrorPage(
  error: AssetError,
  assets: AssetState,
  nonce: string | undefined,
  context: ErrorContext,
): string {
  const facts = error as AssetError & {
    file?: string;
    line?: number;
    column?: number;
    reason?: string;
    asset?: string;
    suggestions?: readonly string[];
  };
  // Where to point: the file the error names, else the template that raised it, else the line
  // of the application's code that made the mistake.
  const { template } = context;
  const frame = context.thrown ? applicationFrame(error.stack) : undefined;
  const where = facts.file
    ? {
        shown: facts.file,
        file: resolveDisplayName(facts.file, assets.options.roots),
        line: facts.line,
        column: facts.column,
      }
    : (template ?? (frame ? positionOf(frame) : undefined));
  const shown = where && ('shown' in where ? where.shown : relativeName(where.file));
  const position = where?.line ? `:${where.line}${where.column ? `:${where.column}` : ''}` : '';
  return renderView('error.njk', {
    error,
    title: facts.reason ?? error.message,
    location: where && `${shown}${position}`,
    origin: facts.file ? 'build' : template ? 'template' : 'code',
    building: error instanceof AssetBuildError && facts.asset !== facts.file ? facts.asset : '',
    rebuilds: context.rebuilds,
    excerpt: where?.line ? excerptOf(where.file, where.line) : undefined,
    column: where?.column,
    caret: ' '.repeat(Math.max(0, (where?.column ?? 1) - 1)),
    suggestions: facts.suggestions ?? [],
    definedAt: assets.definedAt,
    nonce,
  });
}

/** `file:line:column` as its parts. */
function positionOf(frame: string): TemplatePosition | undefined {
  const match = /^(.*):(\d+):(\d+)$/.exec(frame);
  return match ? { file: match[1], line: Number(match[2]), column: Number(match[3]) } : undefined;
}

/** A file as the page shows it: relative to the working folder, with "/". */
function relativeName(file: string): string {
  return path.relative(process.cwd(), file).split(path.sep).join('/');
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
