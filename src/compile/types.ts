import type { Kind } from '../registry/options';

/** A source map as JSON (version 3), with file names relative to the load path. */
export interface SourceMap {
  version: number;
  file?: string;
  sources: string[];
  /** One per source; as JSON bytes when read back from the compile cache. */
  sourcesContent?: (string | null)[] | JsonBytes;
  names: string[];
  mappings: string;
  sourceRoot?: string;
  /** Sources a debugger steps over (indexes into `sources`). */
  ignoreList?: number[];
}

/** What compiling one asset gives: code ready to be a bundle member, and what it was made from. */
export interface Compiled {
  code: string;
  map?: SourceMap;
  /** Files besides the asset itself whose contents went into `code` (LESS imports, `url()` files). */
  inputs: string[];
  /** Files that stylesheets reference, to be copied to `outDir` under `name`. */
  copies: { from: string; name: string }[];
}

/** How an asset is compiled: part of every cache key (but the load path and the size limit). */
export interface CompileSettings {
  readonly minify: boolean;
  readonly roots: readonly string[];
  /** Put before the hashed name of a referenced file in a rewritten `url()`. */
  readonly urlPrefix: string;
  /** Largest asset file compiled, per kind (option `maxSourceBytes`); no limit when absent. */
  readonly maxBytes?: Readonly<Record<Kind, number>>;
}

/**
 * A value's JSON text, kept as bytes. The sources that a map read from the compile cache holds
 * (jQuery's and lodash's: 1.3 MB of JSON) go into the bundle's map as they are: decoding them
 * and encoding them again cost a rebuild about 25 ms.
 */
export class JsonBytes {
  constructor(readonly bytes: Buffer) {}

  toJSON(): unknown {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}
