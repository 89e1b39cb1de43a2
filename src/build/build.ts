import fs from 'node:fs/promises';
import path from 'node:path';
import createDebug from 'debug';
import { concatenate, mapBytes } from './bundle';
import { loadBuild, OutputFiles } from './loaded';
import type { Build } from './loaded';
import { CompileCache, compileKey } from './cache';
import { compileAsset } from '../compile';
import { compilerVersions } from '../compile/compilers';
import type { Compiled, CompileSettings } from '../compile/types';
import {
  AssetBuildError,
  AssetConfigError,
  AssetError,
  errorMessage,
  quote,
} from '../registry/errors';
import { contentHash, integrity, sha256 } from './hash';
import { displayName, isInside, locateAll, resolveDisplayName } from '../registry/loadPath';
import { readManifest, rotate, writeManifest } from './manifest';
import type { Manifest, ManifestBundle } from './manifest';
import type { ResolvedAsset, ResolvedOptions } from '../registry/options';
import { makeDictionaryBodies, olderVersions } from './dictionaries';
import type { DictionaryBody, DictionaryEntry } from './dictionaries';
import { compress, removeAbandonedTemporaries, writeOnce } from './output';
import type { BundleSpec, Registry } from '../registry/registry';
import { madeBefore, reusableBundles, writeWithTwins } from './freshness';
import { sourceBytes, SourceFiles, SOURCES_RECORD } from './inputs';
import { bytes, sizeTable } from './sizeTable';

const debug = createDebug('asset-registry:build');

/**
 * Builds the registry into `outDir`, or reuses the build already there when no input changed:
 * one minified, content-hashed bundle per group and kind, its `.br` and `.gz` twins, its source
 * map, the hashed copies of `url()` files, and `manifest.json`, written last. A failure leaves
 * the previous build untouched; one to write `outDir` (a full disk, a read-only folder) is an
 * `AssetBuildError` that names `outDir` and the system's error code.
 */
export async function build(registry: Registry, options: ResolvedOptions): Promise<Build> {
  const writes = new Writes();
  try {
    return await buildOrReuse(registry, options, writes);
  } catch (error) {
    // A failed build returns only once nothing it started is still writing.
    await writes.settled();
    throw outputError(error, options.outDir) ?? error;
  }
}

/**
 * The writes a build starts: it waits for them before it returns, and, when one fails, for the
 * others too, so that a failed build leaves nothing writing into `outDir` behind it.
 */
class Writes {
  private readonly started: Promise<unknown>[] = [];

  add(write: Promise<unknown>): void {
    write.catch(() => undefined); // seen by `done` or `settled`, not an unhandled rejection
    this.started.push(write);
  }

  /** Tracks writes started together and waits for them; rejects with the first that failed. */
  all(writes: Promise<unknown>[]): Promise<unknown[]> {
    for (const write of writes) this.add(write);
    return Promise.all(writes);
  }

  /** Rejects with the first write that failed. */
  async done(): Promise<void> {
    await Promise.all(this.started);
  }

  async settled(): Promise<void> {
    await Promise.allSettled(this.started);
  }
}

async function buildOrReuse(
  registry: Registry,
  options: ResolvedOptions,
  writes: Writes,
): Promise<Build> {
  const started = Date.now();
  const files = await locateAll(
    registry.order.map((asset) => asset.name),
    options.roots,
  );
  const cacheFolder = path.join(options.outDir, '.cache');
  const settings: CompileSettings = {
    minify: true,
    roots: options.roots,
    urlPrefix: '',
    maxBytes: options.maxSourceBytes,
  };
  const fingerprint = sha256(
    JSON.stringify({
      versions: compilerVersions(),
      settings: { ...settings, roots: undefined, maxBytes: undefined },
      publicPath: options.publicPath,
      assets: registry.order.map((asset) => [
        asset.name,
        asset.deps,
        asset.bundle,
        displayName(files.get(asset.name)!, options.roots),
      ]),
    }),
  );
  // What the last build hashed comes with its stat: unchanged files are known without reading.
  const [old, sources] = await Promise.all([
    readManifest(options.outDir),
    SourceFiles.from(cacheFolder, options.roots),
  ]);
  // The last build's files are read once its inputs are (both take the thread pool).
  const output = new OutputFiles(options.outDir);
  if (old && (await isUpToDate(old, fingerprint, options, sources))) {
    output.prefetch(old);
    // The budget is not part of the fingerprint: lowering it must not cost a rebuild, but
    // it must still fail a startup whose bundles are over it.
    for (const bundle of old.bundles) {
      const members = bundle.members.map(({ asset, min }) => ({ name: asset, min }));
      checkBudget(bundle.id, bundle.kind, bundle.sizes.brotli, members, options);
    }
    debug('reusing the build in %s (%d ms)', options.outDir, Date.now() - started);
    const [build] = await Promise.all([
      loadBuild(options.outDir, old, true, output.read),
      sources.record(cacheFolder),
    ]);
    return build;
  }
  if (options.requirePrebuilt) {
    throw new AssetConfigError(
      `No prebuilt manifest in ${options.outDir} matches these assets (requirePrebuilt is set): ` +
        'run `asset-registry build` at deploy',
    );
  }

  const cache = new CompileCache(cacheFolder, options.roots, (file) => sources.hash(file));
  // Bundles no changed file reaches are kept whole; only the others are compiled and joined.
  const reused = await reusableBundles(old, fingerprint, options, sources, output.read);
  const toMake = registry.bundles.filter((spec) => !reused.has(spec.id));
  const cacheKeys: string[] = [];
  const compiled = new Map<string, Compiled>();
  // The compile cache is read side by side; then the last build's files, while compiling.
  const lookups = await Promise.all(
    toMake
      .flatMap((spec) => spec.members)
      .map(async (asset) => {
        const file = files.get(asset.name)!;
        const data = await sources.read(file);
        const key = compileKey(fingerprint, asset.name, await sources.hash(file));
        return { asset, file, data, key, cached: data && (await cache.get(key)) };
      }),
  );
  if (old) output.prefetch(old);
  for (const { asset, file, data, key, cached } of lookups) {
    if (!data) throw new AssetConfigError(`Asset ${quote(asset.name)} has no file`, asset.name);
    cacheKeys.push(key);
    let result = cached;
    if (!result) {
      debug('compiling %s', asset.name);
      result = await compileAsset(asset, file, data, settings, (other) => sources.read(other));
      // Written while the bundles are compressed; awaited before anything else is written.
      writes.add(cache.put(key, result));
    }
    compiled.set(asset.name, result);
  }
  for (const spec of registry.bundles.filter((kept) => reused.has(kept.id))) {
    for (const asset of spec.members) {
      const hash = await sources.hash(files.get(asset.name)!);
      cacheKeys.push(compileKey(fingerprint, asset.name, hash));
    }
  }

  // Files the last build wrote (and keeps): their twins can be read back instead of remade.
  const listedBefore = new Set(old ? [...old.files, ...old.previous.flat()] : []);
  // The older versions a new bundle gets dcz bodies against, unless this build turns out to
  // remake the last one (then its own older versions stay: see rotate).
  const history = old ? [old.files, ...old.previous].slice(0, options.keepVersions - 1) : [];
  const made = await Promise.all(
    toMake.map(async (spec) => {
      const members = spec.members.map((asset) => ({
        name: asset.name,
        ...compiled.get(asset.name)!,
      }));
      const joined = concatenate(spec.kind, members, spec.id);
      const file = `${spec.group}.${contentHash(joined.code)}.${spec.kind}`;
      const body = Buffer.from(`${joined.code}\n${mapComment(spec.kind, `${file}.map`)}\n`);
      // The dcz bodies and the map are made while brotli runs on the thread pool.
      const compressed = madeBefore(output.read, file, body, listedBefore).then(
        (twins) => twins ?? compress(body),
      );
      compressed.catch(() => undefined); // awaited below; not unhandled if the dcz bodies fail
      const dictionaries = await makeDictionaryBodies(
        output.read,
        file,
        body,
        olderVersions(spec.group, spec.kind, file, history),
      );
      const map = mapBytes({ ...joined.map, file });
      const twins = await compressed;
      const sizes = members.map(({ name, code }) => ({ name, min: Buffer.byteLength(code) }));
      checkBudget(spec.id, spec.kind, twins.br.length, sizes, options);
      return { spec, file, body, twins, map, dictionaries };
    }),
  );
  for (const bundle of reused.values()) {
    const members = bundle.members.map(({ asset, min }) => ({ name: asset, min }));
    checkBudget(bundle.id, bundle.kind, bundle.sizes.brotli, members, options);
  }

  // Done during the compression; a failed one (a full disk) fails the build before any output.
  await writes.done();
  await fs.mkdir(options.outDir, { recursive: true });
  const written: string[] = [];
  const copies: Record<string, string> = {};
  const copiesWritten = new Map<string, string[]>();
  /** Writes the `url()` copies of a bundle's members; returns their files. */
  const writeCopies = async (spec: BundleSpec) => {
    const names: string[] = [];
    for (const copy of spec.members.flatMap((asset) => compiled.get(asset.name)!.copies)) {
      let done = copiesWritten.get(copy.name);
      if (!done) {
        const data = (await sources.read(copy.from))!;
        done = await writeWithTwins(options.outDir, output.read, copy.name, data, listedBefore);
        copies[copy.name] = displayName(copy.from, options.roots);
        copiesWritten.set(copy.name, done);
      }
      names.push(...done);
    }
    return names;
  };
  const sizeOf = (asset: ResolvedAsset) =>
    sourceBytes(files.get(asset.name)!, compiled.get(asset.name)!, sources);
  const inputs: Record<string, string> = {};
  const bundles: ManifestBundle[] = [];
  const dictionaryBodies = new Map<ManifestBundle, DictionaryBody[]>();
  for (const spec of registry.bundles) {
    const kept = reused.get(spec.id);
    if (kept) {
      bundles.push({ ...kept });
      written.push(...kept.files!);
      for (const name of kept.inputs!) inputs[name] = old!.inputs[name];
      for (const file of kept.files!) if (old!.copies[file]) copies[file] = old!.copies[file];
      continue;
    }
    const { file, body, twins, map, dictionaries } = made.find((each) => each.spec === spec)!;
    const outputs = { [file]: body, [`${file}.br`]: twins.br, [`${file}.gz`]: twins.gzip };
    outputs[`${file}.map`] = map;
    for (const [name, data] of Object.entries(outputs)) output.wrote(name, data);
    const copying = writeCopies(spec);
    await writes.all([
      copying,
      ...Object.entries(outputs).map(([name, data]) =>
        writeOnce(path.join(options.outDir, name), data),
      ),
    ]);
    const copyFiles = await copying;
    const bundleFiles = [...Object.keys(outputs), ...copyFiles];
    written.push(...bundleFiles);
    const read = new Set(
      spec.members.flatMap((asset) => [
        files.get(asset.name)!,
        ...compiled.get(asset.name)!.inputs,
      ]),
    );
    const bundleInputs: string[] = [];
    for (const input of read) {
      const hash = await sources.hash(input);
      if (!hash) continue;
      const name = displayName(input, options.roots);
      inputs[name] = hash;
      bundleInputs.push(name);
    }
    const bundle: ManifestBundle = {
      id: spec.id,
      group: spec.group,
      kind: spec.kind,
      file,
      url: `${options.publicPath}${file}`,
      map: `${file}.map`,
      integrity: integrity(body),
      sizes: {
        source: sum(spec.members.map(sizeOf)),
        min: body.length,
        gzip: twins.gzip.length,
        brotli: twins.br.length,
      },
      members: spec.members.map((asset) => ({
        asset: asset.name,
        source: sizeOf(asset),
        min: Buffer.byteLength(compiled.get(asset.name)!.code),
      })),
      inputs: bundleInputs.sort(),
      files: [...new Set(bundleFiles)].sort(),
    };
    dictionaryBodies.set(bundle, dictionaries);
    bundles.push(bundle);
  }

  const bundleFiles = [...new Set(written)].sort();
  const { previous, remove } = rotate(old, bundleFiles, options.keepVersions);
  // Returning visitors hold an older version: give them the new one compressed against it.
  // A kept bundle keeps its dcz bodies against versions still kept, while their files are there.
  const keptVersions = new Set(previous.flat());
  for (const bundle of bundles) {
    const made = dictionaryBodies.get(bundle);
    const onDisk = async (entry: DictionaryEntry) =>
      listedBefore.has(entry.file) && (await output.read(entry.file)) !== undefined;
    const usable: DictionaryEntry[] = [];
    for (const entry of made ?? bundle.dictionaries ?? []) {
      if (keptVersions.has(entry.from) && (made || (await onDisk(entry)))) usable.push(entry);
    }
    const toWrite = (made ?? []).filter((body) => usable.includes(body));
    await writes.all(
      toWrite.map((body) => {
        output.wrote(body.file, body.data);
        return writeOnce(path.join(options.outDir, body.file), body.data);
      }),
    );
    bundle.dictionaries = usable.length
      ? usable.map(({ from, hash, file, bytes }) => ({ from, hash, file, bytes }))
      : undefined;
    written.push(...usable.map((entry) => entry.file));
  }
  const fileList = [...new Set(written)].sort();
  // By name, so that the manifest is the same whichever bundles were kept.
  const sortedInputs = byName(inputs);
  const manifest: Manifest = {
    version: 1,
    fingerprint,
    inputHash: sha256(JSON.stringify([fingerprint, sortedInputs])),
    bundles,
    copies: byName(copies),
    inputs: sortedInputs,
    files: fileList,
    previous,
  };
  await writeManifest(options.outDir, manifest);
  await writes.all([
    ...remove.map((file) => fs.rm(path.join(options.outDir, file), { force: true })),
    pruneCache(cacheFolder, cache, cacheKeys),
    sources.record(cacheFolder),
    removeAbandonedTemporaries(options.outDir),
    removeAbandonedTemporaries(cacheFolder),
  ]);
  options.log(sizeTable(manifest));
  debug('built %s in %d ms', options.outDir, Date.now() - started);
  return loadBuild(options.outDir, manifest, false, output.read);
}

async function isUpToDate(
  manifest: Manifest,
  fingerprint: string,
  options: ResolvedOptions,
  sources: SourceFiles,
): Promise<boolean> {
  if (manifest.fingerprint !== fingerprint) return false;
  // Read and hashed side by side: the hashes serve the rest of the build too.
  const same = await Promise.all(
    Object.entries(manifest.inputs).map(
      async ([name, hash]) =>
        (await sources.hash(resolveDisplayName(name, options.roots))) === hash,
    ),
  );
  if (!same.every(Boolean)) return false;
  const present = await Promise.all(
    manifest.files.map((file) =>
      fs.stat(path.join(options.outDir, file)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return present.every(Boolean);
}

function checkBudget(
  id: string,
  kind: 'js' | 'css',
  brotli: number,
  members: readonly { name: string; min: number }[],
  options: ResolvedOptions,
): void {
  const budget = options.budget[kind];
  if (budget === undefined || brotli <= budget) return;
  const largest = [...members]
    .sort((a, b) => b.min - a.min)
    .slice(0, 3)
    .map((member) => `${member.name} (${bytes(member.min)} B minified)`);
  throw new AssetBuildError(
    `bundle ${quote(id)} is ${bytes(brotli)} B as brotli, over its budget of ${bytes(budget)} B ` +
      `by ${bytes(brotli - budget)} B; largest members: ${largest.join(', ')}`,
    id,
    id,
  );
}

async function pruneCache(
  folder: string,
  cache: CompileCache,
  keys: readonly string[],
): Promise<void> {
  const keep = new Set(keys.map((key) => path.basename(cache.fileOf(key))));
  const entries = await fs.readdir(folder).catch(() => [] as string[]);
  await Promise.all(
    entries
      // Another process building into the same outDir may be writing an entry right now:
      // its temporary file is not ours to remove.
      .filter((entry) => entry.endsWith('.json') && !keep.has(entry) && entry !== SOURCES_RECORD)
      .map((entry) => fs.rm(path.join(folder, entry), { force: true })),
  );
}

/**
 * A system error on a file in `outDir` (ENOSPC, EACCES, EROFS, ENOTDIR...) as a build error that
 * says where and why; undefined for any other error. A write's own error names no path.
 */
function outputError(error: unknown, outDir: string): AssetBuildError | undefined {
  const { code, syscall, path: file } = error as NodeJS.ErrnoException;
  if (error instanceof AssetError || typeof code !== 'string' || typeof syscall !== 'string') {
    return undefined;
  }
  if (file !== undefined && file !== outDir && !isInside(file, outDir)) return undefined;
  const reason =
    `cannot write the build to outDir (${code}: ${errorMessage(error)}); ` +
    'the previous build is left as it was';
  return Object.assign(new AssetBuildError(reason, outDir, outDir), { cause: error });
}

function mapComment(kind: 'js' | 'css', file: string): string {
  return kind === 'js' ? `//# sourceMappingURL=${file}` : `/*# sourceMappingURL=${file} */`;
}

function byName(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
