import fs from 'node:fs/promises';
import path from 'node:path';
import type * as Compile from './compile';
import type * as Encode from './encode';
import type * as Join from './join';
import type * as SizeTable from './sizeTable';
import type * as Write from './write';
import {
  AssetBuildError,
  AssetConfigError,
  AssetError,
  bytes,
  errorMessage,
  quote,
} from '../registry/errors';
import { isInside } from '../registry/loadPath';
import type { ResolvedOptions } from '../registry/options';
import type { Registry } from '../registry/registry';
import { isUpToDate, reusableBundles } from './freshness';
import { hashInputs } from './inputs';
import type { Inputs } from './inputs';
import { loadBuild, OutputFiles } from './loaded';
import type { Build } from './loaded';
import { readManifest } from './manifest';
import type { Manifest } from './manifest';
import { removeAbandonedTemporaries, Writes } from './output';
import { planOf } from './plan';
import type { BuildPlan } from './plan';

/**
 * Builds the registry into `outDir`, or reuses the build already there when no input changed:
 * one minified, content-hashed bundle per group and kind, its `.br` and `.gz` twins, its source
 * map, the hashed copies of `url()` files, and `manifest.json`, written last. A failure leaves
 * the previous build untouched; one to write `outDir` (a full disk, a read-only folder) is an
 * `AssetBuildError` that names `outDir` and the system's error code.
 */
export async function build(registry: Registry, options: ResolvedOptions): Promise<Build> {
  const plan = planOf(registry, options);
  const writes = new Writes();
  try {
    return await buildPlan(plan, writes);
  } catch (error) {
    // A failed build returns only once nothing it started is still writing.
    await writes.settled();
    throw outputError(error, plan.outDir) ?? error;
  }
}

async function buildPlan(plan: BuildPlan, writes: Writes): Promise<Build> {
  const [inputs, previous] = await Promise.all([hashInputs(plan), readManifest(plan.outDir)]);
  const output = new OutputFiles(plan.outDir);
  // The last build's files are read at once: a reused build serves them, a new one reads its
  // unchanged bundles and older versions from them.
  if (previous) output.prefetch(previous);
  if (previous && (await isUpToDate(previous, plan, inputs, output.read))) {
    return reuse(plan, previous, inputs, output);
  }
  if (plan.requirePrebuilt) {
    throw new AssetConfigError(
      `No prebuilt manifest in ${plan.outDir} matches these assets (requirePrebuilt is set): ` +
        'run `asset-registry build` at deploy',
    );
  }
  const { compileChanged, joinBundles, encode, writeBuild, sizeTable } = buildSteps();
  const kept = await reusableBundles(previous, plan, inputs, output.read);
  const toMake = plan.bundles.filter((spec) => !kept.has(spec.id));
  const { compiled, pruneCache } = await compileChanged(
    plan,
    inputs,
    toMake,
    plan.bundles.filter((spec) => kept.has(spec.id)),
    writes,
  );
  const encoded = await encode(joinBundles(toMake, compiled), {
    manifest: previous,
    read: output.read,
    keepVersions: plan.keepVersions,
  });
  checkBudgets(plan, [
    ...encoded.map((bundle) => ({
      ...bundle.spec,
      brotli: bundle.twins.br.length,
      members: bundle.members,
    })),
    ...[...kept.values()].map(budgetEntry),
  ]);
  // The compile cache's writes first: a failed one (a full disk) fails the build before any output.
  await writes.done();
  const made = { inputs, compiled, encoded, kept, previous, output };
  const { manifest, remove } = await writeBuild(plan, made, writes);
  await writes.all([
    ...remove.map((file) => fs.rm(path.join(plan.outDir, file), { force: true })),
    pruneCache(),
    inputs.sources.record(plan.cacheFolder),
    removeAbandonedTemporaries(plan.outDir),
    removeAbandonedTemporaries(plan.cacheFolder),
  ]);
  plan.log(sizeTable(manifest));
  return loadBuild(plan.outDir, manifest, false, output.read);
}

/** The build already in `outDir`, loaded as it is. */
async function reuse(
  plan: BuildPlan,
  manifest: Manifest,
  inputs: Inputs,
  output: OutputFiles,
): Promise<Build> {
  // The budget is not part of the fingerprint: lowering it must not cost a rebuild, but it must
  // still fail a startup whose bundles are over it.
  checkBudgets(plan, manifest.bundles.map(budgetEntry));
  const [build] = await Promise.all([
    loadBuild(plan.outDir, manifest, true, output.read),
    inputs.sources.record(plan.cacheFolder),
  ]);
  return build;
}

/**
 * The steps that make a new build, loaded on first use: a server that starts from a prebuilt
 * `outDir` never loads the compilers, the source-map tools or the compile cache.
 */
function buildSteps(): typeof Compile &
  typeof Join &
  typeof Encode &
  typeof Write &
  typeof SizeTable {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
  return {
    ...(require('./compile') as typeof Compile),
    ...(require('./join') as typeof Join),
    ...(require('./encode') as typeof Encode),
    ...(require('./write') as typeof Write),
    ...(require('./sizeTable') as typeof SizeTable),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

interface BudgetEntry {
  id: string;
  kind: 'js' | 'css';
  brotli: number;
  members: readonly { name: string; min: number }[];
}

function budgetEntry(bundle: Manifest['bundles'][number]): BudgetEntry {
  const members = bundle.members.map(({ asset, min }) => ({ name: asset, min }));
  return { id: bundle.id, kind: bundle.kind, brotli: bundle.sizes.brotli, members };
}

/** Fails the build on the first bundle over its kind's budget, naming its largest members. */
function checkBudgets(plan: Pick<BuildPlan, 'budget'>, bundles: readonly BudgetEntry[]): void {
  for (const { id, kind, brotli, members } of bundles) {
    const budget = plan.budget[kind];
    if (budget === undefined || brotli <= budget) continue;
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
