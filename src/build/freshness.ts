import fs from 'node:fs/promises';
import path from 'node:path';
import { integrity } from './hash';
import type { Inputs } from './inputs';
import type { OutputReader } from './output';
import { startFiles } from './loaded';
import type { Manifest, ManifestBundle } from './manifest';
import type { BuildPlan } from './plan';

/**
 * What a build can keep of the last one: all of it when nothing changed (a server's start after
 * `asset-registry build`), else the bundles no changed file reaches. Only the others are
 * compiled, joined and compressed again.
 */

/**
 * Whether the last build is this build: the same registry, options and compilers (the
 * fingerprint), every input file unchanged, and every file it wrote still in `outDir` (read
 * through `read`, which a reused build's files are then loaded from).
 */
export async function isUpToDate(
  manifest: Manifest,
  { outDir, roots }: Pick<BuildPlan, 'outDir' | 'roots'>,
  { fingerprint, sources }: Inputs,
  read: OutputReader,
): Promise<boolean> {
  if (manifest.fingerprint !== fingerprint) return false;
  const reads = new Set(startFiles(manifest));
  // What a start reads (the bundles) is read now; the rest is read on a first request, so its
  // presence in outDir (flat: one listing for all) is enough.
  const listing = fs.readdir(outDir).then(
    (names) => new Set(names),
    () => new Set<string>(),
  );
  // Side by side: the hashes serve the rest of the build too.
  const same = await Promise.all([
    ...Object.entries(manifest.inputs).map(
      async ([name, hash]) => (await sources.hashNamed(name, roots)) === hash,
    ),
    ...manifest.files.map(async (file) =>
      reads.has(file) ? (await read(file)) !== undefined : (await listing).has(file),
    ),
  ]);
  return same.every(Boolean);
}

/**
 * The bundles of the last build, by id, that no input change touched: the same fingerprint,
 * every file their members read unchanged, and all their files still in `outDir`, the bundle
 * holding the bytes its integrity names. A manifest from before bundles listed their inputs has
 * none.
 */
export async function reusableBundles(
  old: Manifest | undefined,
  plan: Pick<BuildPlan, 'outDir' | 'roots'>,
  { fingerprint, sources }: Inputs,
  read: OutputReader,
): Promise<Map<string, ManifestBundle>> {
  const reusable = new Map<string, ManifestBundle>();
  if (!old || old.fingerprint !== fingerprint) return reusable;
  const listed = new Set(old.files);
  await Promise.all(
    old.bundles.map(async (bundle) => {
      if (!bundle.inputs || !bundle.files?.every((file) => listed.has(file))) return;
      for (const name of bundle.inputs) {
        const hash = await sources.hashNamed(name, plan.roots);
        if (!hash || hash !== old.inputs[name]) return;
      }
      const present = await Promise.all(
        bundle.files.map((file) => exists(path.join(plan.outDir, file))),
      );
      const body = await read(bundle.file);
      if (present.every(Boolean) && body && integrity(body) === bundle.integrity) {
        reusable.set(bundle.id, bundle);
      }
    }),
  );
  return reusable;
}

export function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(Boolean, () => false);
}
