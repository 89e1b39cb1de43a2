import path from 'node:path';
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

/**
 * The registry itself is wrong: unknown dep, cycle, duplicate, bad path, missing file. Files
 * that cannot be found are all named in one error, so one fix-and-restart round fixes them all.
 */
export class AssetConfigError extends AssetError {
  override name = 'AssetConfigError';
  readonly code = 'ASSET_CONFIG';
  /** The asset the problem is about, when there is one (the first, when there are several). */
  readonly asset?: string;
  /** Every asset the problem is about: several when several files are missing. */
  readonly assets: readonly string[];

  constructor(message: string, asset?: string | readonly string[]) {
    super(message);
    this.assets = Object.freeze(
      asset === undefined ? [] : typeof asset === 'string' ? [asset] : [...asset],
    );
    this.asset = this.assets[0];
  }
}

/**
 * The application uses the library in the wrong order: `app.use(assets.middleware())` mounted
 * after the routes that call `res.requireAssets`, say. Fixed in the app's code, not in assets.
 */
export class AssetSetupError extends AssetError {
  override name = 'AssetSetupError';
  readonly code: string = 'ASSET_SETUP';
}

/** A page was asked for before `assets.build()` finished: the server listened too early. */
export class AssetNotBuiltError extends AssetSetupError {
  override name = 'AssetNotBuiltError';
  override readonly code = 'ASSET_NOT_BUILT';

  constructor() {
    super(
      'The assets are not built yet: await assets.build() before app.listen(), ' +
        'so that no page is served before the build has finished',
    );
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

/** A byte count as messages and tables print it: `1,234`. */
export function bytes(count: number): string {
  return count.toLocaleString('en-US');
}

export function quote(name: string): string {
  return JSON.stringify(name);
}

/** The library's own folder (`src/` or `dist/`): its frames are not the application's. */
export const LIBRARY = path.dirname(__dirname);

/**
 * The first frame of a stack in the application: outside this library and `node_modules`, as
 * `file:line:column`. Where `defineAssets` was called, or the handler that made a mistake.
 */
export function applicationFrame(stack: string | undefined): string | undefined {
  const frames = (stack ?? '').split('\n').slice(1);
  const frame = frames.find(
    (line) =>
      !line.includes(LIBRARY) &&
      !/[/\\]node_modules[/\\]/.test(line) &&
      /\(?(\/|[A-Za-z]:\\)/.test(line),
  );
  return frame?.match(/\(?((?:\/|[A-Za-z]:\\)[^()]+:\d+:\d+)\)?\s*$/)?.[1];
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
