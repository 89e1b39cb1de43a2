import type { Compiled } from '../compile/types';
import type { Kind } from '../registry/options';
import type { BundleSpec } from '../registry/registry';
import { concatenate, mapBytes } from './bundle';
import { contentHash } from './hash';

/** One new bundle: its members joined in load order, named by its content, with its map. */
export interface Joined {
  readonly spec: BundleSpec;
  /** `<group>.<hash>.<kind>`. */
  readonly file: string;
  /** The bundle's bytes, ending with its `sourceMappingURL` comment. */
  readonly body: Buffer;
  readonly map: Buffer;
  /** Each member's minified bytes, for budgets and the manifest. */
  readonly members: readonly { name: string; min: number }[];
}

/** Joins each bundle's compiled members, in load order, into one file and one source map. */
export function joinBundles(
  specs: readonly BundleSpec[],
  compiled: ReadonlyMap<string, Compiled>,
): Joined[] {
  return specs.map((spec) => {
    const members = spec.members.map((asset) => ({
      name: asset.name,
      ...compiled.get(asset.name)!,
    }));
    const joined = concatenate(spec.kind, members, spec.id);
    const file = `${spec.group}.${contentHash(joined.code)}.${spec.kind}`;
    return {
      spec,
      file,
      body: Buffer.from(`${joined.code}\n${mapComment(spec.kind, `${file}.map`)}\n`),
      map: mapBytes({ ...joined.map, file }),
      members: members.map(({ name, code }) => ({ name, min: Buffer.byteLength(code) })),
    };
  });
}

function mapComment(kind: Kind, file: string): string {
  return kind === 'js' ? `//# sourceMappingURL=${file}` : `/*# sourceMappingURL=${file} */`;
}
