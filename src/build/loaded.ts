import path from 'node:path';
import { sha256 } from './hash';
import type { DictionaryEntry } from './dictionaries';
import type { Manifest, ManifestBundle } from './manifest';
import { contentTypeOf, readFile } from './output';
import type { OutputReader } from './output';

/** One file as the middleware serves it: every encoding ready in memory. */
export interface ServedFile {
  readonly body: Buffer;
  readonly br?: Buffer;
  readonly gzip?: Buffer;
  readonly type: string;
  /** Strong ETag of `body`; the encodings add a suffix, as each is a different representation. */
  readonly etag: string;
  /**
   * For a bundle: its body compressed against each older version still kept (`dcz`, and `dcb`
   * where the build made it), by the older version's SHA-256 in base64, as a request's
   * `Available-Dictionary` names it.
   */
  readonly dictionaries?: ReadonlyMap<string, DictionaryBodies>;
}

/** A bundle's bodies against one older version, by content coding (RFC 9842). */
export interface DictionaryBodies {
  readonly dcz?: Buffer;
  readonly dcb?: Buffer;
}

export type DictionaryCoding = keyof DictionaryBodies;

/**
 * The codings of `bodies`, smallest body first (dcz on a tie): of those a request accepts, it
 * gets the first. The middleware and the nginx configuration both choose by this.
 */
export function smallestFirst(bodies: DictionaryBodies): DictionaryCoding[] {
  return (['dcz', 'dcb'] as const)
    .filter((coding) => bodies[coding])
    .sort((a, b) => bodies[a]!.length - bodies[b]!.length);
}

/** A finished build, frozen: all that a request reads. */
export interface Build {
  readonly manifest: Manifest;
  /** Bundles in load order. */
  readonly bundles: readonly ManifestBundle[];
  /**
   * Files in memory, by name in `outDir`: for a build loaded from `outDir`, its bundles (every
   * page needs them); the rest of what it serves comes from {@link fileOnRequest}.
   */
  readonly files: ReadonlyMap<string, ServedFile>;
  /** Whether this build came from disk without compiling. */
  readonly reused: boolean;
  /**
   * A file of this build or a kept one that is not in {@link files}, read on its first request
   * (undefined when the manifests do not list it). A start reads only what every page needs:
   * source maps are for developer tools, a `url()` copy is fetched once per browser, and a kept
   * build's files only by pages an older release rendered.
   */
  readonly fileOnRequest?: (name: string) => Promise<ServedFile | undefined>;
  /** {@link fileOnRequest} for source maps only. */
  readonly sourceMap?: (name: string) => Promise<ServedFile | undefined>;
  /** The folder it was read from; undefined for a build that lives in memory only. */
  readonly outDir?: string;
}

/** Other encodings of a file, stored next to it and served as that file. */
const TWINS = ['.br', '.gz', '.dcz', '.dcb'];

/**
 * Reads the files a manifest lists, each once and side by side, starting at once: a build
 * starts reading the last build's files while it compiles, and hands over the files it wrote.
 */
export class OutputFiles {
  private readonly reads = new Map<string, Promise<Buffer | undefined>>();

  constructor(private readonly outDir: string) {}

  /** Starts reading the files a start of `manifest`'s build reads: see {@link startFiles}. */
  prefetch(manifest: Manifest): void {
    for (const file of startFiles(manifest)) void this.read(file);
  }

  /** What the build just wrote: read from memory. */
  wrote(file: string, data: Buffer): void {
    this.reads.set(file, Promise.resolve(data));
  }

  read: OutputReader = (file) => {
    let data = this.reads.get(file);
    if (!data) {
      data = readFile(path.join(this.outDir, file)).catch(() => undefined);
      this.reads.set(file, data);
    }
    return data;
  };
}

/** A file as served. Its ETag (the SHA-256 of its bytes) is made on its first request. */
export function servedFile(
  name: string,
  body: Buffer,
  encodings: Pick<ServedFile, 'br' | 'gzip' | 'dictionaries'> = {},
): ServedFile {
  let etag: string | undefined;
  return Object.freeze({
    body,
    ...encodings,
    type: contentTypeOf(name),
    get etag() {
      return (etag ??= `"${sha256(body).slice(0, 32)}"`);
    },
  });
}

/**
 * The files of a manifest that a start reads: each bundle with its `.br` and `.gz` twins and its
 * bodies against older versions. The rest is read on its first request.
 */
export function startFiles(manifest: Manifest): string[] {
  const listed = new Set(manifest.files);
  return manifest.bundles
    .flatMap(({ file, dictionaries = [] }) => [
      file,
      `${file}.br`,
      `${file}.gz`,
      ...dictionaries.flatMap((entry) => (entry.dcb ? [entry.file, entry.dcb.file] : [entry.file])),
    ])
    .filter((file) => listed.has(file));
}

/**
 * Loads a manifest's build: its bundles into memory now (a missing one fails the start), every
 * other file it or a kept build lists on its first request.
 */
export async function loadBuild(
  outDir: string,
  manifest: Manifest,
  reused: boolean,
  readOutput: OutputReader = new OutputFiles(outDir).read,
): Promise<Build> {
  const { servable, load } = fileLoader(manifest, readOutput);
  const bundles = await Promise.all(manifest.bundles.map((bundle) => load(bundle.file)));
  const files = new Map<string, ServedFile>();
  manifest.bundles.forEach(({ file }, i) => {
    if (!bundles[i]) throw new Error(`Bundle file ${file} is missing from ${outDir}`);
    files.set(file, bundles[i]);
  });
  const later = new Map<string, Promise<ServedFile | undefined>>();
  const fileOnRequest = (name: string) => {
    if (!servable.has(name) || files.has(name)) return Promise.resolve(undefined);
    let file = later.get(name);
    if (!file) later.set(name, (file = load(name)));
    return file;
  };
  return Object.freeze({
    manifest,
    bundles: Object.freeze(manifest.bundles),
    files,
    reused,
    fileOnRequest,
    sourceMap: (name: string) =>
      isSourceMap(name) ? fileOnRequest(name) : Promise.resolve(undefined),
    outDir,
  });
}

/**
 * The names a manifest lets a server answer (its files and its kept builds', twins aside: they
 * are served as the file they encode), and how to read one of them with its twins and its
 * dcz/dcb bodies. `load` resolves undefined for a file that is gone from disk.
 */
export function fileLoader(
  manifest: Manifest,
  readOutput: OutputReader,
): {
  servable: ReadonlySet<string>;
  load: (name: string) => Promise<ServedFile | undefined>;
} {
  const listed = new Set([...manifest.files, ...manifest.previous.flat()]);
  const servable = new Set([...listed].filter((name) => !TWINS.includes(path.extname(name))));
  const dczOf = new Map(manifest.bundles.map((bundle) => [bundle.file, bundle.dictionaries ?? []]));
  const load = async (name: string) => {
    const read = (file: string) => (listed.has(file) ? readOutput(file) : undefined);
    const [body, br, gzip] = await Promise.all([
      read(name),
      read(`${name}.br`),
      read(`${name}.gz`),
    ]);
    if (!body) return undefined; // an older build's file removed by hand: not servable, not fatal
    const dictionaries = await readDictionaries(readOutput, dczOf.get(name));
    return servedFile(name, body, { br, gzip, dictionaries });
  };
  return { servable, load };
}

/**
 * Every file a build serves, those read on request included (read now), by name: for a tool that
 * lists them all (the nginx configuration), not for a server's start.
 */
export async function withSourceMaps(build: Build): Promise<Build> {
  const files = new Map(build.files);
  for (const name of [...build.manifest.files, ...build.manifest.previous.flat()]) {
    const file = await build.fileOnRequest?.(name);
    if (file) files.set(name, file);
  }
  return Object.freeze({ ...build, files });
}

/** A source map (or its twin): read when asked for, never at a start. */
export function isSourceMap(file: string): boolean {
  return /\.map(\.(br|gz))?$/.test(file);
}

async function readDictionaries(
  read: OutputReader,
  entries: readonly DictionaryEntry[] | undefined,
): Promise<ReadonlyMap<string, DictionaryBodies> | undefined> {
  if (!entries?.length) return undefined;
  const pairs = await Promise.all(
    entries.map(async (entry) => {
      const [dcz, dcb] = await Promise.all([read(entry.file), entry.dcb && read(entry.dcb.file)]);
      return [entry.hash, { ...(dcz && { dcz }), ...(dcb && { dcb }) }] as const;
    }),
  );
  return new Map(pairs.filter(([, bodies]) => bodies.dcz || bodies.dcb));
}

/** A build with no bundles: what development serves until its first build succeeds. */
export function emptyBuild(): Build {
  return Object.freeze<Build>({
    manifest: {
      version: 1 as const,
      fingerprint: '',
      inputHash: '',
      bundles: [],
      copies: {},
      inputs: {},
      files: [],
      previous: [],
    },
    bundles: [],
    files: new Map(),
    reused: false,
  });
}
