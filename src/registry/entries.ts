import path from 'node:path';
import { nearestNames } from './nearest';

/** One registry entry: a name under `root`, or the name with its dependencies and bundle group. */
export type AssetEntry =
  | string
  | {
      path: string;
      deps?: readonly string[];
      bundle?: string;
      /** `false`: the fonts this stylesheet's `@font-face` rules fetch are not preloaded. */
      preloadFonts?: boolean;
    };

export type Kind = 'js' | 'css';

export interface ResolvedAsset {
  readonly name: string;
  readonly kind: Kind;
  readonly deps: readonly string[];
  readonly bundle: string;
  /** Whether the fonts of its `@font-face` rules are preloaded with its bundle (`preloadFonts`). */
  readonly preloadFonts: boolean;
  /** Position in the declaration, used to break ties in dependency order. */
  readonly index: number;
}

const ENTRY_KEYS = new Set(['path', 'deps', 'bundle', 'preloadFonts']);

const KIND_OF_EXTENSION: Record<string, Kind> = { '.js': 'js', '.css': 'css', '.less': 'css' };

/** The kind of an asset by its extension, or undefined for one the library does not handle. */
export function kindOf(name: string): Kind | undefined {
  return KIND_OF_EXTENSION[path.posix.extname(name).toLowerCase()];
}

/** One entry of the `assets` option, checked, as the registry takes it. */
export function resolveEntry(entry: AssetEntry, index: number): ResolvedAsset {
  const at = (field = '') => `Option "assets[${index}]${field}"`;
  const spec = typeof entry === 'string' ? { path: entry } : entry;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TypeError(`${at()} must be a name or { path, deps, bundle }`);
  }
  for (const key of Object.keys(spec)) {
    if (!ENTRY_KEYS.has(key)) {
      throw new TypeError(
        `${at()} has an unknown key ${JSON.stringify(key)}${hint(key, ENTRY_KEYS)}`,
      );
    }
  }
  if (!isNonEmptyString(spec.path))
    throw new TypeError(`${at('.path')} must be a non-empty string`);
  const deps = spec.deps ?? [];
  if (!Array.isArray(deps) || !deps.every(isNonEmptyString)) {
    throw new TypeError(`${at('.deps')} must be a list of asset names`);
  }
  const bundle = spec.bundle ?? 'main';
  if (typeof bundle !== 'string' || !/^[A-Za-z0-9_-]+$/.test(bundle)) {
    throw new TypeError(`${at('.bundle')} must be a name of letters, digits, "_" or "-"`);
  }
  const preloadFonts = spec.preloadFonts ?? true;
  if (typeof preloadFonts !== 'boolean')
    throw new TypeError(`${at('.preloadFonts')} must be true or false`);
  return Object.freeze({
    name: spec.path,
    kind: kindOf(spec.path) ?? 'js', // checked with a named AssetConfigError by the registry
    deps: Object.freeze([...deps]),
    bundle,
    preloadFonts,
    index,
  });
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** `. Did you mean "x"?` for an unknown key near known ones, else nothing. */
export function hint(key: string, known: Iterable<string>): string {
  const nearest = nearestNames(key, known);
  return nearest.length
    ? `. Did you mean ${nearest.map((name) => JSON.stringify(name)).join(', ')}?`
    : '';
}
