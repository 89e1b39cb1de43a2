import fs from 'node:fs/promises';
import path from 'node:path';
import type { OutputReader } from './loaded';
import { integrity } from './hash';
import type { Manifest, ManifestBundle } from './manifest';
import type { ResolvedOptions } from '../registry/options';
import { compress, isCompressible, writeOnce } from './output';
import type { Compressed } from './output';
import { resolveDisplayName } from '../registry/loadPath';
import type { SourceFiles } from './inputs';

/**
 * What a build can keep of the last one. When a file changes, only the bundle that holds it is
 * made again: the last build's other bundles are kept as they are, without reading their
 * compile cache, joining their source maps or compressing them again.
 */

/**
 * The bundles of the last build, by id, that no input change touched: the same registry,
 * options and compilers (the fingerprint), every file their members read unchanged, and all
 * their files still in `outDir`, the bundle holding the bytes its integrity names. A manifest
 * from before bundles listed their inputs has none.
 */
export async function reusableBundles(
  old: Manifest | undefined,
  fingerprint: string,
  options: ResolvedOptions,
  sources: SourceFiles,
  read: OutputReader,
): Promise<Map<string, ManifestBundle>> {
  const reusable = new Map<string, ManifestBundle>();
  if (!old || old.fingerprint !== fingerprint) return reusable;
  const listed = new Set(old.files);
  await Promise.all(
    old.bundles.map(async (bundle) => {
      if (!bundle.inputs || !bundle.files?.every((file) => listed.has(file))) return;
      for (const name of bundle.inputs) {
        const hash = await sources.hash(resolveDisplayName(name, options.roots));
        if (!hash || hash !== old.inputs[name]) return;
      }
      const present = await Promise.all(
        bundle.files.map((file) => exists(path.join(options.outDir, file))),
      );
      // The bundle itself must still hold the bytes its integrity names.
      const body = await read(bundle.file);
      if (present.every(Boolean) && body && integrity(body) === bundle.integrity) {
        reusable.set(bundle.id, bundle);
      }
    }),
  );
  return reusable;
}

/**
 * The `.br` and `.gz` twins of a content-hashed file the last build already wrote, read back
 * instead of compressed again (brotli 11 is most of a one-file rebuild): only when the file on
 * disk holds exactly these bytes and the last manifest lists both twins.
 */
export async function madeBefore(
  read: OutputReader,
  name: string,
  data: Buffer,
  listed: ReadonlySet<string>,
): Promise<Compressed | undefined> {
  if (!listed.has(`${name}.br`) || !listed.has(`${name}.gz`)) return undefined;
  const [existing, br, gzip] = await Promise.all([
    read(name),
    read(`${name}.br`),
    read(`${name}.gz`),
  ]);
  return existing?.equals(data) && br && gzip ? { br, gzip } : undefined;
}

function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(Boolean, () => false);
}

/**
 * Writes a content-hashed file and, when compressing pays, its `.br` and `.gz` twins; returns
 * the names.
 */
export async function writeWithTwins(
  outDir: string,
  read: OutputReader,
  name: string,
  data: Buffer,
  listed: ReadonlySet<string>,
): Promise<string[]> {
  // A content-hashed name the last build wrote holds these bytes: nothing to write again.
  if (listed.has(name) && (await exists(path.join(outDir, name)))) {
    const twins = [`${name}.br`, `${name}.gz`].filter((twin) => listed.has(twin));
    const present = await Promise.all(twins.map((twin) => exists(path.join(outDir, twin))));
    if (present.every(Boolean)) return [name, ...twins];
  }
  await writeOnce(path.join(outDir, name), data);
  if (!isCompressible(name)) return [name];
  const twins = (await madeBefore(read, name, data, listed)) ?? (await compress(data));
  const names = [name];
  for (const [suffix, twin] of [
    ['.br', twins.br],
    ['.gz', twins.gzip],
  ] as const) {
    if (twin.length < data.length * 0.9) {
      await writeOnce(path.join(outDir, name + suffix), twin);
      names.push(name + suffix);
    }
  }
  return names;
}
