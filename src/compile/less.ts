/* eslint-disable @typescript-eslint/no-require-imports -- less loads on first use, see tools.ts */
import type LessStatic from 'less';
import { vlq } from '../build/vlq';

/**
 * The less that compiles stylesheets: an instance of its own (less's `createFromEnvironment`,
 * the way less-node makes the stock one), whose source map output finds the original position
 * of each chunk by a binary search in the file's line starts.
 *
 * less's own `SourceMapOutput.add` takes the file's text up to the chunk and splits it into
 * lines, for every chunk it writes: quadratic in the file's size, about 100 ms and much garbage
 * of a 320 ms compile of bootstrap 3 (12,300 mappings over 71 files). Its map generator is
 * {@link MappingsGenerator}, not source-map 0.6's (1.2 us a mapping). The maps are the same
 * bytes (a test compares them with stock less's on bootstrap). The stock `require('less')` that
 * an application may use itself is left as it is, its functions too; a less whose internals
 * differ from the ones this was written against is used unchanged.
 */
export function ownLess(): typeof LessStatic {
  const stock = require('less') as StockLess;
  const output = stock.SourceMapOutput?.prototype as Partial<SourceMapOutput> | undefined;
  const registry = stock.functions?.functionRegistry;
  const functions = registry?._data as Record<string, unknown> | undefined;
  if (
    stock.version?.[0] !== 4 ||
    typeof stock.createFromEnvironment !== 'function' ||
    typeof output?.add !== 'function' ||
    typeof output.normalizeFilename !== 'function' ||
    typeof functions !== 'object' ||
    functions === null
  ) {
    return stock as unknown as typeof LessStatic;
  }
  // less has one registry of functions for all its instances, and createFromEnvironment adds
  // the built-in ones to it again (bound to the new instance): put back what was there, so an
  // application's own functions, or its data-uri with its file managers, stay as they were.
  const registered = { ...functions };
  const environment = stock.environment as Record<string, unknown>;
  const own = stock.createFromEnvironment(
    {
      encodeBase64: environment.encodeBase64,
      mimeLookup: environment.mimeLookup,
      charsetLookup: environment.charsetLookup,
      getSourceMapGenerator: () => MappingsGenerator,
    },
    [new stock.FileManager(), new stock.UrlFileManager()],
    stock.version.join('.'),
  );
  // What less-node adds to its instance besides createFromEnvironment's API.
  Object.assign(own, {
    createFromEnvironment: stock.createFromEnvironment,
    lesscHelper: stock.lesscHelper,
    PluginLoader: stock.PluginLoader,
    fs: stock.fs,
    FileManager: stock.FileManager,
    UrlFileManager: stock.UrlFileManager,
    options: { ...stock.options },
  });
  for (const name of Object.keys(functions)) {
    if (!Object.hasOwn(registered, name)) delete functions[name];
  }
  Object.assign(functions, registered);
  own.SourceMapOutput.prototype.add = add;
  return own;
}

interface StockLess extends Omit<typeof LessStatic, 'version' | 'options'> {
  version?: number[];
  createFromEnvironment(
    environment: unknown,
    fileManagers: unknown[],
    version: string,
  ): typeof LessStatic & { SourceMapOutput: { prototype: SourceMapOutput } };
  environment: unknown;
  functions?: { functionRegistry?: { _data?: unknown } };
  UrlFileManager: new () => unknown;
  SourceMapOutput?: { prototype: SourceMapOutput };
  lesscHelper: unknown;
  PluginLoader: unknown;
  fs: unknown;
  options: object;
}

/** The fields of less 4's `SourceMapOutput` that `add` reads and writes. */
interface SourceMapOutput {
  _css: string[];
  _contentsMap: Record<string, string | undefined>;
  _contentsIgnoredCharsMap: Record<string, number | undefined>;
  _sourceMapGenerator: {
    addMapping(mapping: {
      generated: { line: number; column: number };
      original: { line: number; column: number };
      source: string;
    }): void;
  };
  _lineNumber: number;
  _column: number;
  normalizeFilename(filename: string): string;
  add(chunk: string, fileInfo?: { filename?: string }, index?: number, mapLines?: boolean): void;
  /** Added here: the line starts of each source file, made on its first chunk. */
  _lineStarts?: Map<string, SourceLines>;
}

interface SourceLines {
  /** less's `_contentsMap` text, minus the characters it was told to ignore at the start. */
  length: number;
  ignored: number;
  /** Offsets at which a line starts: 0 and every offset after a `\n`. */
  starts: number[];
  source: string;
}

/**
 * less 4's `SourceMapOutput.prototype.add`, with the same results: the chunk goes to the CSS,
 * and when it comes from a file, a mapping from where it starts in the CSS to where it starts in
 * the file (one per line when `mapLines`).
 */
function add(
  this: SourceMapOutput,
  chunk: string,
  fileInfo?: { filename?: string },
  index?: number,
  mapLines?: boolean,
): void {
  if (!chunk) {
    return;
  }
  const filename = fileInfo?.filename;
  const file = filename ? sourceLines(this, filename) : undefined;
  if (filename && !file) {
    // less's own failsafe: a file it has no contents of gets no mapping.
    this._css.push(chunk);
    return;
  }
  let breaks = 0;
  let lastBreak = -1;
  for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) {
    breaks++;
    lastBreak = at;
  }
  if (file) {
    const { line, column } = position(file, index);
    const generator = this._sourceMapGenerator;
    for (let i = 0; i <= (mapLines ? breaks : 0); i++) {
      generator.addMapping({
        generated: { line: this._lineNumber + i + 1, column: i === 0 ? this._column : 0 },
        original: { line: line + i, column: i === 0 ? column : 0 },
        source: file.source,
      });
    }
  }
  if (breaks === 0) {
    this._column += chunk.length;
  } else {
    this._lineNumber += breaks;
    this._column = chunk.length - lastBreak - 1;
  }
  this._css.push(chunk);
}

function sourceLines(output: SourceMapOutput, filename: string): SourceLines | undefined {
  output._lineStarts ??= new Map();
  const known = output._lineStarts.get(filename);
  if (known) {
    return known;
  }
  const contents = output._contentsMap[filename];
  if (contents === undefined) {
    return undefined;
  }
  const ignored = output._contentsIgnoredCharsMap[filename] ?? 0;
  const starts = [0];
  for (let at = contents.indexOf('\n', ignored); at !== -1; at = contents.indexOf('\n', at + 1)) {
    starts.push(at + 1 - ignored);
  }
  const lines: SourceLines = {
    length: Math.max(0, contents.length - ignored),
    ignored,
    starts,
    source: output.normalizeFilename(filename),
  };
  output._lineStarts.set(filename, lines);
  return lines;
}

/**
 * Line (1-based) and column of `index` in the file, as less finds them: the number of lines and
 * the length of the last one in `text.substring(0, index)` (so an index past the end is the end,
 * a missing one the whole text, and one before the ignored start is the start).
 */
function position(file: SourceLines, index: number | undefined): { line: number; column: number } {
  let end: number;
  if (index === undefined) {
    // less subtracts the ignored count from `undefined` (NaN: the start) or takes it whole.
    end = file.ignored ? 0 : file.length;
  } else {
    end = Math.trunc(index - file.ignored);
  }
  if (!(end > 0)) {
    end = 0;
  } else if (end > file.length) {
    end = file.length;
  }
  const { starts } = file;
  let low = 0;
  let high = starts.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (starts[middle] <= end) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return { line: low, column: end - starts[low - 1] };
}

/** A mapping as source-map 0.6 keeps it (`originalLine` false when there is no original). */
interface Mapping {
  generatedLine: number;
  generatedColumn: number;
  originalLine: number | false;
  originalColumn: number | false;
  source: string | null;
  name: string | null;
}

/**
 * What less asks of source-map 0.6's `SourceMapGenerator` (`addMapping`, `setSourceContent`,
 * `toJSON`), giving the same JSON: sources and names in the order mappings first name them,
 * mappings sorted by generated position (already so when added in order, as less does) with
 * exact repeats on a line left out, the contents of the sources mapped.
 */
export class MappingsGenerator {
  private readonly file: unknown;
  private readonly mappings: Mapping[] = [];
  private sorted = true;
  private readonly sources = new Map<string, number>();
  private readonly names = new Map<string, number>();
  private readonly contents = new Map<string, string>();

  /** less 4 always passes `sourceRoot: null` (SourceMapOutput.toCSS). */
  constructor(options: { file?: unknown }) {
    this.file = options.file;
  }

  addMapping(mapping: {
    generated: { line: number; column: number };
    original?: { line: number; column: number } | null;
    source?: string | null;
    name?: string | null;
  }): void {
    const { generated, original } = mapping;
    const source = mapping.source == null ? null : String(mapping.source);
    const name = mapping.name == null ? null : String(mapping.name);
    if (source !== null && !this.sources.has(source)) this.sources.set(source, this.sources.size);
    if (name !== null && !this.names.has(name)) this.names.set(name, this.names.size);
    const added: Mapping = {
      generatedLine: generated.line,
      generatedColumn: generated.column,
      originalLine: original != null && original.line,
      originalColumn: original != null && original.column,
      source,
      name,
    };
    const last = this.mappings.at(-1);
    if (
      last &&
      (last.generatedLine > added.generatedLine ||
        (last.generatedLine === added.generatedLine &&
          last.generatedColumn > added.generatedColumn)) &&
      compareMappings(last, added) > 0
    ) {
      this.sorted = false;
    }
    this.mappings.push(added);
  }

  setSourceContent(source: string, content: string | null | undefined): void {
    if (content != null) this.contents.set(source, content);
    else this.contents.delete(source);
  }

  toJSON(): object {
    const sources = [...this.sources.keys()];
    return {
      version: 3,
      sources,
      names: [...this.names.keys()],
      mappings: this.serialize(),
      ...(this.file != null ? { file: this.file } : {}),
      ...(this.contents.size
        ? { sourcesContent: sources.map((source) => this.contents.get(source) ?? null) }
        : {}),
    };
  }

  private serialize(): string {
    if (!this.sorted) this.mappings.sort(compareMappings);
    this.sorted = true;
    const mappings = this.mappings;
    // Appended to one string (V8 makes it a rope): collecting the pieces and joining them took
    // ten times as long.
    let text = '';
    let line = 1;
    let column = 0;
    let sourceIndex = 0;
    let originalLine = 0;
    let originalColumn = 0;
    let nameIndex = 0;
    for (let i = 0; i < mappings.length; i++) {
      const mapping = mappings[i];
      if (mapping.generatedLine !== line) {
        column = 0;
        text += ';'.repeat(mapping.generatedLine - line);
        line = mapping.generatedLine;
      } else if (i > 0) {
        if (compareMappings(mapping, mappings[i - 1]) === 0) continue;
        text += ',';
      }
      text += vlq(mapping.generatedColumn - column);
      column = mapping.generatedColumn;
      if (mapping.source !== null) {
        const source = this.sources.get(mapping.source)!;
        const line0 = (mapping.originalLine as number) - 1;
        text += vlq(source - sourceIndex);
        text += vlq(line0 - originalLine);
        text += vlq((mapping.originalColumn as number) - originalColumn);
        sourceIndex = source;
        originalLine = line0;
        originalColumn = mapping.originalColumn as number;
        if (mapping.name !== null) {
          const name = this.names.get(mapping.name)!;
          text += vlq(name - nameIndex);
          nameIndex = name;
        }
      }
    }
    return text;
  }
}

/** source-map 0.6's `compareByGeneratedPositionsInflated`. */
function compareMappings(a: Mapping, b: Mapping): number {
  return (
    a.generatedLine - b.generatedLine ||
    a.generatedColumn - b.generatedColumn ||
    compareStrings(a.source, b.source) ||
    (a.originalLine as number) - (b.originalLine as number) ||
    (a.originalColumn as number) - (b.originalColumn as number) ||
    compareStrings(a.name, b.name)
  );
}

function compareStrings(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a > b ? 1 : -1;
}
