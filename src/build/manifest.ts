import path from 'node:path';
import type { DictionaryEntry } from './dictionaries';
import type { Kind } from '../registry/options';
import { readFile, writeAtomically } from './output';

export interface Sizes {
  /** Bytes of the source files. */
  source: number;
  /** Bytes of the output (minified in production). */
  min: number;
  gzip: number;
  brotli: number;
}

export interface ManifestBundle {
  /** `<group>.<kind>`, e.g. `main.js`. */
  id: string;
  group: string;
  kind: Kind;
  /** File name in `outDir`, e.g. `main.3f9a1c2b7d4e.js`. */
  file: string;
  /** Where browsers fetch it: `publicPath` + `file`. */
  url: string;
  /** Its source map's file name in `outDir`. */
  map: string;
  /** Subresource Integrity value, `sha384-...`. */
  integrity: string;
  sizes: Sizes;
  /** Members in load order, with their source and output bytes. */
  members: { asset: string; source: number; min: number }[];
  /** This bundle compressed against each older version still kept (`dcz` and `dcb`, RFC 9842). */
  dictionaries?: DictionaryEntry[];
  /**
   * Every file its members read (their files, LESS imports, `url()` files): when none of them
   * changed, the next build keeps this bundle as it is. (Missing in manifests of 0.1.)
   */
  inputs?: string[];
  /** Its files in `outDir` (itself, twins, map, `url()` copies and theirs), without dcz/dcb files. */
  files?: string[];
  /** For CSS: the font each `@font-face` makes browsers fetch, by URL, to preload with it. */
  fonts?: { url: string; type: string }[];
}

/** `outDir/manifest.json`: what the last build made and from what. */
export interface Manifest {
  version: 1;
  /** Hash of the options, the registry and the compiler versions. */
  fingerprint: string;
  /** Hash of the fingerprint and the contents of every input file. */
  inputHash: string;
  /** Bundles in load order. */
  bundles: ManifestBundle[];
  /** Files that stylesheets reference, by their content-hashed name, with the file they copy. */
  copies: Record<string, string>;
  /** Every file the build read (assets, LESS imports, `url()` files) with its SHA-256. */
  inputs: Record<string, string>;
  /** Every file of this build in `outDir`. */
  files: string[];
  /** Files of the older builds still kept (`keepVersions`), newest first. */
  previous: string[][];
}

export const MANIFEST = 'manifest.json';

/**
 * The manifest in `outDir`, in this version's shape, or undefined when there is none. A manifest
 * written by another version of the library is migrated, never dropped: its file lists are what
 * keeps an older release's files on disk (`keepVersions`) while it still serves pages, so
 * upgrading the library is a rolling deploy like any other.
 */
export async function readManifest(outDir: string): Promise<Manifest | undefined> {
  const text = await readFile(path.join(outDir, MANIFEST), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    return migrateManifest(JSON.parse(text));
  } catch {
    return undefined; // a manifest we cannot read is a manifest we rebuild
  }
}

/**
 * A parsed manifest in this version's shape. Version 1 as 0.1.0 wrote it lacks the bundles'
 * `inputs`, `files`, `dictionaries` (and their `dcb`): all optional, read as absent. A manifest of
 * any other version keeps only its file lists: its fingerprint is cleared so that it is never
 * taken for an up-to-date build, and its bundles are not read, as their shape is unknown.
 */
export function migrateManifest(parsed: unknown): Manifest | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const old = parsed as Partial<Record<keyof Manifest, unknown>>;
  const files = namesIn(old.files);
  if (!files) return undefined;
  const current = old.version === 1 && Array.isArray(old.bundles);
  return {
    ...(current && (parsed as Manifest)),
    version: 1,
    fingerprint: current && typeof old.fingerprint === 'string' ? old.fingerprint : '',
    inputHash: current && typeof old.inputHash === 'string' ? old.inputHash : '',
    bundles: current ? (old.bundles as ManifestBundle[]) : [],
    copies: current && isRecord(old.copies) ? (old.copies as Record<string, string>) : {},
    inputs: current && isRecord(old.inputs) ? (old.inputs as Record<string, string>) : {},
    files,
    previous: Array.isArray(old.previous)
      ? old.previous.map(namesIn).filter((names): names is string[] => names !== undefined)
      : [],
  };
}

function namesIn(value: unknown): string[] | undefined {
  return Array.isArray(value)
    ? value.filter((name): name is string => typeof name === 'string')
    : undefined;
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function writeManifest(outDir: string, manifest: Manifest): Promise<void> {
  await writeAtomically(path.join(outDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * The older builds to keep next to a new one, and the files of builds that fall out of the
 * window: only files an earlier manifest lists are ever removed.
 */
export function rotate(
  old: Manifest | undefined,
  files: readonly string[],
  keepVersions: number,
): { previous: string[][]; remove: string[] } {
  if (!old) return { previous: [], remove: [] };
  // The same bundles as the last build: a rebuild of it, not a new version. (Its dcz and dcb
  // files, made after this, depend on the history and are left out of the comparison.)
  const plain = old.files.filter((file) => !/\.dc[zb]$/.test(file));
  const same = plain.length === files.length && plain.every((file, i) => file === files[i]);
  const history = same ? old.previous : [old.files, ...old.previous];
  const previous = history.slice(0, keepVersions - 1);
  const kept = new Set([...files, ...previous.flat()]);
  const remove = [...new Set(history.slice(keepVersions - 1).flat())].filter(
    (file) => !kept.has(file),
  );
  return { previous, remove };
}
