import fs from 'node:fs/promises';
import path from 'node:path';
import { fontFaces } from '../compile/fonts';
import type { Compiled } from '../compile/types';
import { displayName } from '../registry/loadPath';
import type { BundleSpec } from '../registry/registry';
import type { DictionaryBody, DictionaryEntry } from './dictionaries';
import type { Encoded } from './encode';
import { integrity, sha256 } from './hash';
import { sourceBytes } from './inputs';
import type { Inputs } from './inputs';
import type { OutputFiles } from './loaded';
import { copyWriter } from './copies';
import { rotate, writeManifest } from './manifest';
import type { Manifest, ManifestBundle } from './manifest';
import { writeOnce } from './output';
import type { Writes } from './output';
import type { BuildPlan } from './plan';

/** What a build made, ready to be written. */
export interface Made {
  readonly inputs: Inputs;
  readonly compiled: ReadonlyMap<string, Compiled>;
  readonly encoded: readonly Encoded[];
  /** The last build's bundles kept as they are, by id. */
  readonly kept: ReadonlyMap<string, ManifestBundle>;
  readonly previous?: Manifest;
  readonly output: OutputFiles;
}

type WritePlan = Pick<BuildPlan, 'outDir' | 'roots' | 'publicPath' | 'keepVersions' | 'bundles'>;

/**
 * Writes the new bundles, their twins, maps, `url()` copies and dcz/dcb bodies into `outDir`, each
 * file atomically, then `manifest.json` last: a reader sees the last build or this one, whole.
 * Returns the manifest and the files of builds that fell out of `keepVersions`.
 */
export async function writeBuild(
  plan: WritePlan,
  made: Made,
  writes: Writes,
): Promise<{ manifest: Manifest; remove: string[] }> {
  await fs.mkdir(plan.outDir, { recursive: true });
  const { bundles, inputs, copies, written } = await writeBundles(plan, made, writes);
  const { previous, remove } = rotate(
    made.previous,
    [...new Set(written)].sort(),
    plan.keepVersions,
  );
  const kept = new Set(previous.flat());
  for (const bundle of bundles) {
    bundle.dictionaries = await keptDictionaries(bundle, made, kept, plan.outDir, writes);
    written.push(...(bundle.dictionaries ?? []).flatMap(dictionaryFiles));
  }
  // By name, so that the manifest is the same whichever bundles were kept.
  const sortedInputs = byName(inputs);
  const manifest: Manifest = {
    version: 1,
    fingerprint: made.inputs.fingerprint,
    inputHash: sha256(JSON.stringify([made.inputs.fingerprint, sortedInputs])),
    bundles,
    copies: byName(copies),
    inputs: sortedInputs,
    files: [...new Set(written)].sort(),
    previous,
  };
  await writeManifest(plan.outDir, manifest);
  return { manifest, remove };
}

/** Writes every new bundle's files; the kept ones come from the last manifest as they are. */
async function writeBundles(plan: WritePlan, made: Made, writes: Writes) {
  const old = made.previous;
  const listed = new Set(old ? [...old.files, ...old.previous.flat()] : []);
  const inputs: Record<string, string> = {};
  const copies: Record<string, string> = {};
  const written: string[] = [];
  const bundles: ManifestBundle[] = [];
  const copier = copyWriter(plan, made, listed, copies);
  for (const spec of plan.bundles) {
    const kept = made.kept.get(spec.id);
    if (kept) {
      bundles.push({ ...kept });
      written.push(...kept.files!);
      for (const name of kept.inputs!) inputs[name] = old!.inputs[name];
      for (const file of kept.files!) if (old!.copies[file]) copies[file] = old!.copies[file];
      continue;
    }
    const bundle = made.encoded.find((each) => each.spec === spec)!;
    const outputs = {
      [bundle.file]: bundle.body,
      [`${bundle.file}.br`]: bundle.twins.br,
      [`${bundle.file}.gz`]: bundle.twins.gzip,
      [`${bundle.file}.map`]: bundle.map,
    };
    for (const [name, data] of Object.entries(outputs)) made.output.wrote(name, data);
    const copying = copier(spec);
    await writes.all([
      copying,
      ...Object.entries(outputs).map(([name, data]) =>
        writeOnce(path.join(plan.outDir, name), data),
      ),
    ]);
    const files = [...Object.keys(outputs), ...(await copying)];
    written.push(...files);
    const read = await hashedInputs(spec, made, plan.roots);
    Object.assign(inputs, read);
    bundles.push(manifestEntry(plan, spec, bundle, made, Object.keys(read), files));
  }
  return { bundles, inputs, copies, written };
}

/** A new bundle as the manifest lists it. */
function manifestEntry(
  plan: Pick<BuildPlan, 'publicPath'>,
  spec: BundleSpec,
  bundle: Encoded,
  made: Made,
  inputs: string[],
  files: string[],
): ManifestBundle {
  const { compiled } = made;
  const { files: assetFiles, sources } = made.inputs;
  const sourceOf = (name: string) =>
    sourceBytes(assetFiles.get(name)!, compiled.get(name)!, sources);
  return {
    id: spec.id,
    group: spec.group,
    kind: spec.kind,
    file: bundle.file,
    url: `${plan.publicPath}${bundle.file}`,
    map: `${bundle.file}.map`,
    integrity: integrity(bundle.body),
    sizes: {
      source: spec.members.reduce((total, asset) => total + sourceOf(asset.name), 0),
      min: bundle.body.length,
      gzip: bundle.twins.gzip.length,
      brotli: bundle.twins.br.length,
    },
    members: bundle.members.map(({ name, min }) => ({ asset: name, source: sourceOf(name), min })),
    inputs: inputs.sort(),
    files: [...new Set(files)].sort(),
    ...(spec.kind === 'css' && { fonts: fontsOf(preloading(spec, compiled), plan.publicPath) }),
  };
}

/** The compiled CSS of a bundle's members whose fonts are preloaded (all but `preloadFonts: false`). */
function preloading(spec: BundleSpec, compiled: Made['compiled']): string {
  const members = spec.members.filter((asset) => asset.preloadFonts);
  return members.map((asset) => compiled.get(asset.name)!.code).join('\n');
}

/**
 * The fonts a CSS bundle's `@font-face` rules fetch, at the URL the browser resolves against the
 * bundle's own (`publicPath` + the hashed copy's name), so a preload of it is the same request.
 */
function fontsOf(css: string, publicPath: string): { url: string; type: string }[] {
  return fontFaces(css).map(({ url, type }) => ({
    url: /^(?:[a-z][a-z0-9+.-]*:|\/)/i.test(url) ? url : `${publicPath}${url}`,
    type,
  }));
}

/** Every file a bundle's members read, by load-path name, with its hash. */
async function hashedInputs(
  spec: BundleSpec,
  { inputs, compiled }: Made,
  roots: readonly string[],
): Promise<Record<string, string>> {
  const read = new Set(
    spec.members.flatMap((asset) => [
      inputs.files.get(asset.name)!,
      ...compiled.get(asset.name)!.inputs,
    ]),
  );
  const hashes: Record<string, string> = {};
  for (const file of read) {
    const hash = await inputs.sources.hash(file);
    if (hash) hashes[displayName(file, roots)] = hash;
  }
  return hashes;
}

/**
 * A bundle's dcz and dcb bodies against the versions that stay kept: a new bundle's are written
 * now; a kept bundle keeps those of its entries whose files are still there (an entry of an
 * older manifest, without dcb, stays as it is).
 */
async function keptDictionaries(
  bundle: ManifestBundle,
  { encoded, previous, output }: Made,
  kept: ReadonlySet<string>,
  outDir: string,
  writes: Writes,
): Promise<DictionaryEntry[] | undefined> {
  const made: readonly DictionaryBody[] | undefined = encoded.find(
    (each) => each.file === bundle.file,
  )?.dictionaries;
  const listed = new Set(previous ? [...previous.files, ...previous.previous.flat()] : []);
  const onDisk = async (file: string) =>
    listed.has(file) && (await output.read(file)) !== undefined;
  const usable: DictionaryEntry[] = [];
  for (const entry of made ?? bundle.dictionaries ?? []) {
    if (!kept.has(entry.from)) continue;
    if (made) usable.push(entry);
    else if (await onDisk(entry.file)) {
      const { dcb, ...dcz } = entry;
      usable.push(dcb && (await onDisk(dcb.file)) ? entry : dcz);
    }
  }
  const toWrite = (made ?? [])
    .filter((body) => usable.includes(body))
    .flatMap((body) => [body, ...(body.dcb ? [body.dcb] : [])]);
  await writes.all(
    toWrite.map(({ file, data }) => {
      output.wrote(file, data);
      return writeOnce(path.join(outDir, file), data);
    }),
  );
  return usable.length
    ? usable.map(({ from, hash, file, bytes, dcb }) => ({
        from,
        hash,
        file,
        bytes,
        ...(dcb && { dcb: { file: dcb.file, bytes: dcb.bytes } }),
      }))
    : undefined;
}

/** The files of a dictionary entry: its dcz body, and its dcb body where there is one. */
function dictionaryFiles(entry: DictionaryEntry): string[] {
  return entry.dcb ? [entry.file, entry.dcb.file] : [entry.file];
}

function byName(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
