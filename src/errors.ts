/**
 * Every error the library throws on purpose has a stable `code`, so an app's error handler can
 * branch on it without parsing messages.
 */
export abstract class AssetError extends Error {
  abstract readonly code: string;
}

/** A page asked for an asset that the registry does not declare. */
export class AssetMissingError extends AssetError {
  override name = 'AssetMissingError';
  readonly code = 'ASSET_MISSING';
  /** Registered names closest to the one asked for, best first. */
  readonly suggestions: readonly string[];

  constructor(
    readonly asset: string,
    suggestions: readonly string[] = [],
  ) {
    const hint = suggestions.length ? ` Did you mean ${suggestions.map(quote).join(', ')}?` : '';
    super(`Asset ${quote(asset)} is not registered.${hint}`);
    this.suggestions = Object.freeze([...suggestions]);
  }
}

/** The registry itself is wrong: unknown dep, cycle, duplicate, bad path, missing file. */
export class AssetConfigError extends AssetError {
  override name = 'AssetConfigError';
  readonly code = 'ASSET_CONFIG';

  constructor(
    message: string,
    /** The asset the problem is about, when there is one. */
    readonly asset?: string,
  ) {
    super(message);
  }
}

/** A compiler (terser, less, clean-css) or a stylesheet's `url()` failed on a file. */
export class AssetBuildError extends AssetError {
  override name = 'AssetBuildError';
  readonly code = 'ASSET_BUILD';

  constructor(
    /** The compiler's own message, without the location. */
    readonly reason: string,
    /** The registered asset whose build failed. */
    readonly asset: string,
    /** The file the error is in (an asset, an imported partial), relative to the load path. */
    readonly file: string,
    /** 1-based line, when the compiler says. */
    readonly line?: number,
    /** 1-based column, when the compiler says. */
    readonly column?: number,
  ) {
    const where = line === undefined ? file : `${file}:${line}:${column ?? 1}`;
    const via = file === asset ? '' : ` (building ${quote(asset)})`;
    super(`${where}: ${reason}${via}`);
  }
}

export function quote(name: string): string {
  return JSON.stringify(name);
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
