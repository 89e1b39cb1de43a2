import path from 'node:path';
import { displayName } from '../registry/loadPath';
import type { BundleSpec } from '../registry/registry';
import { madeBefore } from './encode';
import { exists } from './freshness';
import type { OutputFiles } from './loaded';
import { compress, isCompressible, writeOnce } from './output';
import type { BuildPlan } from './plan';
import type { Compiled } from '../compile/types';
import type { Inputs } from './inputs';

/**
 * Writes the `url()` copies of a bundle's members, each once per build (two bundles may share
 * a font), with their twins; returns a bundle's copy files.
 */
export function copyWriter(
  plan: Pick<BuildPlan, 'outDir' | 'roots'>,
  {
    compiled,
    inputs,
    output,
  }: { compiled: ReadonlyMap<string, Compiled>; inputs: Inputs; output: OutputFiles },
  listed: ReadonlySet<string>,
  copies: Record<string, string>,
): (spec: BundleSpec) => Promise<string[]> {
  const done = new Map<string, Promise<string[]>>();
  return async (spec) => {
    const names: string[] = [];
    for (const copy of spec.members.flatMap((asset) => compiled.get(asset.name)!.copies)) {
      let files = done.get(copy.name);
      if (!files) {
        const data = (await inputs.sources.read(copy.from))!;
        files = writeWithTwins(plan.outDir, output.read, copy.name, data, listed);
        copies[copy.name] = displayName(copy.from, plan.roots);
        done.set(copy.name, files);
      }
      names.push(...(await files));
    }
    return names;
  };
}

/**
 * Writes a content-hashed file and, when compressing pays, its `.br` and `.gz` twins; returns
 * the names.
 */
async function writeWithTwins(
  outDir: string,
  read: OutputFiles['read'],
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
