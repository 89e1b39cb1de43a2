import path from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { AssetBuildError } from '../registry/errors';
import { displayName } from '../registry/loadPath';
import { CleanCSS, less } from './compilers';
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
  // Without the flag, less ends the CSS with a sourceMappingURL to a map it never writes.
  const sourceMap: Less.SourceMapOption & { disableSourcemapAnnotation: boolean } = {
    outputSourceFiles: true,
    disableSourcemapAnnotation: true,
  };
  const output = await less()
    .render(source, {
      filename: file,
      paths: [...roots],
      rewriteUrls: 'all',
      javascriptEnabled: false,
      sourceMap,
      plugins: [importCycleGuard()],
    })
    .catch((error: Less.RenderError & { filename?: string }) => {
      const where = error.filename ? path.resolve(error.filename) : file;
      const line = error.line ?? undefined;
      // less says -1 for "no column" (an internal error such as an unclosed `@media {`).
      const column =
        line !== undefined && typeof error.column === 'number' && error.column >= 0
          ? error.column + 1
          : undefined;
      throw new AssetBuildError(error.message, name, displayName(where, roots), line, column);
    });
  // less names sources relative to the entry file's folder, or absolute: make them all absolute.
  const lessMap = (
    output.map ? JSON.parse(output.map) : { version: 3, sources: [], names: [], mappings: '' }
  ) as SourceMap;
  lessMap.sources = lessMap.sources.map((source) => path.resolve(path.dirname(file), source));
  const trace = new TraceMap(lessMap as ConstructorParameters<typeof TraceMap>[0]);
  const origin = (offset: number) => {
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
  };
  checkImports(name, output.css, origin);
  const rewritten = await rewriteUrls(output.css, {
    asset: name,
    baseDir: path.dirname(file),
    roots,
    urlPrefix: settings.urlPrefix,
    read,
    origin,
  });
  // less reads imports side by side: sorted, the same inputs make the same cache entry.
  const inputs = [
    ...output.imports.map((imported) => path.resolve(imported)).sort(),
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
    // clean-css takes the map as an object too: no second JSON round trip of every source.
  }).minify({ [file]: { styles: rewritten.css, sourceMap: lessMap as unknown as string } });
  if (minified.errors.length) {
    throw new AssetBuildError(minified.errors.join('; '), name, name);
  }
  // The map as an object (no JSON round trip of every source it holds).
  const generator = minified.sourceMap as unknown as { toJSON(): SourceMap } | undefined;
  const map = generator?.toJSON();
  return {
    code: minified.styles,
    map: map && relativeMap(map, roots),
    inputs,
    copies: rewritten.copies,
  };
}

/** Imports of one file into one stylesheet past which an `@import (multiple)` cycle is assumed. */
const MOST_IMPORTS_OF_A_FILE = 100;

/**
 * less imports each file once, so a cycle of plain `@import`s ends; a cycle of
 * `@import (multiple)` recurses for ever, ever slower. This file manager (less's own, counting)
 * stops a file imported more often than any real stylesheet does, naming the import.
 */
function importCycleGuard(): Less.Plugin {
  const counts = new Map<string, number>();
  class CountingFileManager extends less().FileManager {
    override supports(): boolean {
      return true;
    }
    override loadFile(...args: Parameters<Less.FileManager['loadFile']>) {
      const [filename, folder] = args;
      const key = path.resolve(folder, filename);
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      if (count > MOST_IMPORTS_OF_A_FILE) {
        return Promise.reject({
          message: `${filename} is imported over ${MOST_IMPORTS_OF_A_FILE} times: an @import (multiple) cycle?`,
        });
      }
      return super.loadFile(...args);
    }
  }
  return {
    install(_less, pluginManager) {
      pluginManager.addFileManager(new CountingFileManager());
    },
  };
}

/** An `@import` that less left in the CSS (at a line start, as less writes it), of a relative URL. */
const LOCAL_IMPORT = /^@import\s+(?:url\(\s*["']?|["'])(?![a-z][a-z0-9+.-]*:|\/)([^"')\s;]+)/gim;

/**
 * less inlines LESS imports but leaves `@import "reset.css"` to the browser, which would fetch
 * it relative to the bundle's URL (where it is not) and, past the bundle's first rule, ignore
 * it: one file per page means the CSS must be inlined or registered.
 */
function checkImports(
  name: string,
  css: string,
  origin: (offset: number) => { file: string; line?: number; column?: number },
): void {
  for (const match of css.matchAll(LOCAL_IMPORT)) {
    const where = origin(match.index);
    throw new AssetBuildError(
      `@import of the CSS file ${JSON.stringify(match[1])} would be left to the browser: ` +
        `write @import (less) ${JSON.stringify(match[1])} to inline it, or register it as an asset`,
      name,
      where.file,
      where.line,
      where.column,
    );
  }
}

/** Source names relative to the load path: no absolute path may reach the output. */
function relativeMap(map: SourceMap, roots: readonly string[]): SourceMap {
  return {
    ...map,
    file: undefined,
    sources: map.sources.map((source) => displayName(path.resolve(source), roots)),
  };
}
