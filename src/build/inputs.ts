import { stat as statCallback, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { compilerVersions } from '../compile/compilers';
import type { Compiled } from '../compile/types';
import { displayName, locateAll } from '../registry/loadPath';
import { sha256 } from './hash';
import type { BuildPlan } from './plan';
import { readFile, writeAtomically } from './output';

const stat = promisify(statCallback);

/**
 * What a file's `stat` said when it was hashed, and the hash: size, mtime, ctime (which no
 * `touch` can set back), inode.
 */
type Seen = [size: number, mtimeMs: number, ctimeMs: number, ino: number, hash: string];

/**
 * A file changed again within this long of an earlier change may keep its mtime (timestamps are
 * as coarse as a few milliseconds here, a second or two on some file systems): only files
 * unchanged for longer than this when hashed are known by their `stat` next time.
 */
const SETTLED_MS = 2000;

/** What the last production build recorded, by load-path name, and the load path. */
interface Kept {
  roots: readonly string[];
  known: ReadonlyMap<string, Seen>;
}

/**
 * Every file a build reads, read once and hashed once. Made by {@link SourceFiles.from} (a
 * production build), a file whose `stat` is the one it had when a build hashed it before (see
 * {@link SETTLED_MS}) is not read again for its hash: a startup checks the last build's inputs
 * (bootstrap's 71 partials, jQuery, lodash) by `stat`. Made with `new` (development, reports),
 * it only reads and hashes.
 */
export class SourceFiles {
  private readonly data = new Map<string, Promise<Buffer | undefined>>();
  private readonly hashes = new Map<string, Promise<string | undefined>>();
  private readonly sizes = new Map<string, number>();
  /** What this build saw, by load-path name, to hand to the next one. */
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly kept?: Kept) {}

  read(file: string): Promise<Buffer | undefined> {
    let data = this.data.get(file);
    if (!data) {
      data = readFile(file).then(
        (bytes) => (this.sizes.set(file, bytes.length), bytes),
        () => undefined,
      );
      this.data.set(file, data);
    }
    return data;
  }

  hash(file: string, stats?: Stats): Promise<string | undefined> {
    let hash = this.hashes.get(file);
    if (!hash) {
      hash = this.hashOf(file, stats);
      this.hashes.set(file, hash);
    }
    return hash;
  }

  /**
   * The hash of a file by its load-path name, as a manifest lists its inputs: the first root
   * that holds it, found by the `stat` its hash is then known by.
   */
  async hashNamed(name: string, roots: readonly string[]): Promise<string | undefined> {
    for (const root of roots) {
      const file = path.join(root, ...name.split('/'));
      if (this.hashes.has(file)) return this.hashes.get(file);
      // Synchronous: most names miss the first roots, and a failed async stat costs an error
      // object and a trip to the thread pool each (measured: ~10 ms of a prebuilt start).
      const stats = statSync(file, { throwIfNoEntry: false });
      if (stats) return this.hash(file, stats);
    }
    return this.hash(path.resolve(name));
  }

  /** Bytes of a file already read or hashed, 0 for one that is not. */
  size(file: string): number {
    return this.sizes.get(file) ?? 0;
  }

  private async hashOf(file: string, stats?: Stats): Promise<string | undefined> {
    const name = this.kept && displayName(file, this.kept.roots);
    // Taken before the file is read: a change after it moves the mtime past the one recorded.
    const before =
      name !== undefined ? (stats ?? (await stat(file).catch(() => undefined))) : undefined;
    const known = name !== undefined ? this.kept?.known.get(name) : undefined;
    if (before && known && sameFile(before, known)) {
      this.sizes.set(file, before.size);
      this.remember(name!, before, known[4]);
      return known[4];
    }
    const data = await this.read(file);
    if (!data) return undefined;
    const hash = sha256(data);
    if (before) this.remember(name!, before, hash);
    return hash;
  }

  private remember(name: string, stats: Stats, hash: string): void {
    const settled = Date.now() - SETTLED_MS;
    if (stats.mtimeMs < settled && stats.ctimeMs < settled) {
      this.seen.set(name, [stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino, hash]);
    }
  }

  /**
   * Loads what an earlier build recorded in `folder` (its `.cache`); nothing when there is no
   * record or it cannot be read. Files are named as on the load path `roots`.
   */
  static async from(folder: string, roots: readonly string[]): Promise<SourceFiles> {
    const text = await readFile(path.join(folder, SOURCES_RECORD), 'utf8').catch(() => undefined);
    try {
      const record = text ? (JSON.parse(text) as { version?: number; files?: unknown }) : {};
      if (record.version === 1 && record.files && typeof record.files === 'object') {
        const known = new Map(Object.entries(record.files as Record<string, Seen>));
        return new SourceFiles({ roots, known });
      }
    } catch {
      // a damaged record: every file is read and hashed, as on a first build
    }
    return new SourceFiles({ roots, known: new Map() });
  }

  /**
   * Records what this build saw in `folder`, for the next one; only when it differs from what
   * was known. Best effort: a read-only `outDir` (a deploy) just hashes again next time.
   */
  async record(folder: string): Promise<void> {
    const known = this.kept?.known;
    if (!known) return;
    const same =
      this.seen.size === known.size &&
      [...this.seen].every(([name, seen]) => known.get(name)?.join() === seen.join());
    if (same) return;
    // Named on the load path: no absolute path goes into outDir.
    const files = Object.fromEntries([...this.seen].sort(([a], [b]) => (a < b ? -1 : 1)));
    await writeAtomically(
      path.join(folder, SOURCES_RECORD),
      JSON.stringify({ version: 1, files }),
    ).catch(() => undefined);
  }
}

/** The record of the files a build hashed, in `.cache`. */
export const SOURCES_RECORD = 'inputs.json';

function sameFile(stats: Stats, [size, mtimeMs, ctimeMs, ino]: Seen): boolean {
  return (
    stats.size === size &&
    stats.mtimeMs === mtimeMs &&
    stats.ctimeMs === ctimeMs &&
    stats.ino === ino
  );
}

/**
 * An asset's source bytes, as the build, the report and the report page give them: its file and
 * the LESS partials it imports, not its `url()` files. Files must have been read or hashed
 * through `sources`.
 */
export function sourceBytes(
  file: string,
  compiled: Pick<Compiled, 'inputs' | 'copies'>,
  sources: SourceFiles,
): number {
  const referenced = new Set(compiled.copies.map((copy) => copy.from));
  const imports = compiled.inputs.filter((input) => !referenced.has(input));
  return [file, ...imports].reduce((total, input) => total + sources.size(input), 0);
}

/** What a build knows of its inputs before it decides to compile anything. */
export interface Inputs {
  /** Each asset's file, by asset name. */
  readonly files: ReadonlyMap<string, string>;
  /**
   * Hash of all that shapes the output besides the files' bytes: the registry, where each name
   * resolved, the compile settings, `publicPath` and the compiler versions.
   */
  readonly fingerprint: string;
  /** Every file the build reads, read and hashed once (known by `stat` when unchanged). */
  readonly sources: SourceFiles;
}

/** Locates every asset (all missing ones in one error), fingerprints the build, opens the files. */
export async function hashInputs(
  plan: Pick<BuildPlan, 'assets' | 'roots' | 'settings' | 'publicPath' | 'cacheFolder'>,
): Promise<Inputs> {
  const [files, sources] = await Promise.all([
    locateAll(
      plan.assets.map((asset) => asset.name),
      plan.roots,
    ),
    SourceFiles.from(plan.cacheFolder, plan.roots),
  ]);
  const fingerprint = sha256(
    JSON.stringify({
      versions: compilerVersions(),
      // What the manifest records besides the files (2: each CSS bundle's fonts): a manifest of
      // an older format is rebuilt rather than served without what requests read from it.
      manifestFormat: 2,
      settings: { ...plan.settings, roots: undefined, maxBytes: undefined },
      publicPath: plan.publicPath,
      assets: plan.assets.map((asset) => [
        asset.name,
        asset.deps,
        asset.bundle,
        displayName(files.get(asset.name)!, plan.roots),
        ...(asset.preloadFonts ? [] : ['fonts not preloaded']),
      ]),
    }),
  );
  return { files, fingerprint, sources };
}
