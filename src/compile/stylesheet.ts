import path from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { AssetBuildError } from '../errors';
import { displayName } from '../loadPath';
import { CleanCSS, less } from './tools';
import type { Compiled, CompileSettings, SourceMap } from './types';
import { rewriteUrls } from './urls';

/**
 * Compiles one stylesheet: LESS (plain CSS is valid LESS, so both get the same parser and the
 * same errors), `@import` resolved from the importing file and then the load path, `url()`s
 * rewritten to hashed copies, and, when minifying, clean-css.
 */
export async function compileStylesheet(
  name: string,
  file: string,
  source: string,
  settings: CompileSettings,
  read: (file: string) => Promise<Buffer | undefined>,
): Promise<Compiled> {
  const { roots } = settings;
  const output = await less()
    .render(source, {
      filename: file,
      paths: [...roots],
      rewriteUrls: 'all',
      javascriptEnabled: false,
      sourceMap: { outputSourceFiles: true },
    })
    .catch((error: Less.RenderError & { filename?: string }) => {
      const where = error.filename ? path.resolve(error.filename) : file;
      const line = error.line ?? undefined;
      const column = typeof error.column === 'number' ? error.column + 1 : undefined;
      throw new AssetBuildError(error.message, name, displayName(where, roots), line, column);
    });
  // less names sources relative to the entry file's folder, or absolute: make them all absolute.
  const lessMap = JSON.parse(output.map) as SourceMap;
  lessMap.sources = lessMap.sources.map((source) => path.resolve(path.dirname(file), source));
  const trace = new TraceMap(lessMap as ConstructorParameters<typeof TraceMap>[0]);
  const rewritten = await rewriteUrls(output.css, {
    asset: name,
    baseDir: path.dirname(file),
    roots,
    urlPrefix: settings.urlPrefix,
    read,
    origin(offset) {
      const before = output.css.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n') - 1;
      const original = originalPositionFor(trace, { line, column });
      return original.source
        ? {
            file: displayName(original.source, roots),
            line: original.line,
            column: original.column + 1,
          }
        : { file: name };
    },
  });
  const inputs = [
    ...output.imports.map((imported) => path.resolve(imported)),
    ...rewritten.copies.map((copy) => copy.from),
  ];
  if (!settings.minify) {
    return {
      code: rewritten.css,
      map: relativeMap(lessMap, roots),
      inputs,
      copies: rewritten.copies,
    };
  }
  const minified = new (CleanCSS())({
    level: 2,
    inline: false,
    rebase: false,
    sourceMap: true,
    sourceMapInlineSources: true,
  }).minify({ [file]: { styles: rewritten.css, sourceMap: JSON.stringify(lessMap) } });
  if (minified.errors.length) {
    throw new AssetBuildError(minified.errors.join('; '), name, name);
  }
  const map = minified.sourceMap && (JSON.parse(minified.sourceMap.toString()) as SourceMap);
  return {
    code: minified.styles,
    map: map && relativeMap(map, roots),
    inputs,
    copies: rewritten.copies,
  };
}

/** Source names relative to the load path: no absolute path may reach the output. */
function relativeMap(map: SourceMap, roots: readonly string[]): SourceMap {
  return {
    ...map,
    file: undefined,
    sources: map.sources.map((source) => displayName(path.resolve(source), roots)),
  };
}
