import type { Kind } from '../options';

/** A source map as JSON (version 3), with file names relative to the load path. */
export interface SourceMap {
  version: number;
  file?: string;
  sources: string[];
  sourcesContent?: (string | null)[];
  names: string[];
  mappings: string;
  sourceRoot?: string;
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
