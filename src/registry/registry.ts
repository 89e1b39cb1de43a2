import { AssetConfigError, AssetMissingError, quote } from './errors';
import { nearestNames } from './nearest';
import { kindOf } from './options';
import type { Kind, ResolvedAsset } from './options';

/** How many distinct sets of requirements {@link Registry.expand} remembers. */
const MOST_EXPANSIONS = 1000;

/** One output file's worth of assets: every member of one group and one kind. */
export interface BundleSpec {
  /** `<group>.<kind>`, e.g. `main.js`. */
  readonly id: string;
  readonly group: string;
  readonly kind: Kind;
  /** Members in dependency order. */
  readonly members: readonly ResolvedAsset[];
}

/**
 * The static list of assets, checked once: names, dependencies, cycles, and the order in which
 * assets and bundles must load. Knows nothing of files, compilers or HTTP.
 */
export class Registry {
  /** Every asset in dependency order; declaration order breaks ties. */
  readonly order: readonly ResolvedAsset[];
  /** Every bundle in load order: a bundle comes after the bundles its members depend on. */
  readonly bundles: readonly BundleSpec[];
  private readonly byName = new Map<string, ResolvedAsset>();
  private readonly closures = new Map<string, readonly string[]>();
  private readonly bundleByAsset = new Map<string, BundleSpec>();
  private readonly expansions = new Map<string, ReadonlySet<string>>();

  constructor(assets: readonly ResolvedAsset[]) {
    if (assets.length === 0) {
      // Building nothing would replace outDir's manifest with an empty one and fail every page
      // that requires an asset, one request at a time: an empty list is a mistake to name now.
      throw new AssetConfigError('The registry declares no assets: list at least one in "assets"');
    }
    for (const asset of assets) {
      checkName(asset.name);
      if (this.byName.has(asset.name)) {
        throw new AssetConfigError(`Asset ${quote(asset.name)} is declared twice`, asset.name);
      }
      this.byName.set(asset.name, asset);
    }
    for (const asset of assets) {
      for (const dep of asset.deps) {
        if (!this.byName.has(dep)) {
          const hint = this.suggest(dep).map(quote).join(', ');
          throw new AssetConfigError(
            `Asset ${quote(asset.name)} depends on ${quote(dep)}, which is not registered` +
              (hint ? ` (did you mean ${hint}?)` : ''),
            asset.name,
          );
        }
      }
    }
    const depsOf = (asset: ResolvedAsset) => asset.deps.map((dep) => this.get(dep));
    const cycle = findCycle(assets, depsOf);
    if (cycle) {
      const names = cycle.map((asset) => asset.name);
      throw new AssetConfigError(`Dependency cycle: ${names.join(' -> ')}`, names[0]);
    }
    this.order = dependencyOrder(assets, depsOf);
    const rank = new Map(this.order.map((asset, i) => [asset.name, i]));
    for (const asset of this.order) {
      const names = new Set<string>([asset.name]);
      for (const dep of asset.deps) for (const name of this.closures.get(dep)!) names.add(name);
      const sorted = [...names].sort((a, b) => rank.get(a)! - rank.get(b)!);
      this.closures.set(asset.name, Object.freeze(sorted));
    }
    this.bundles = this.orderBundles();
  }

  /** Whether `name` is registered. Safe for any string, `__proto__` included. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The asset called `name`; throws `AssetMissingError` with suggestions when there is none. */
  get(name: string): ResolvedAsset {
    const asset = this.byName.get(name);
    if (!asset) throw new AssetMissingError(name, this.suggest(name));
    return asset;
  }

  /** `name` and everything it transitively depends on, in dependency order. */
  closure(name: string): readonly string[] {
    this.get(name);
    return this.closures.get(name)!;
  }

  /**
   * Registered `names` and everything they depend on. Pages of one route require the same
   * names, so the result is remembered by the names (a bounded number of sets).
   */
  expand(names: readonly string[]): ReadonlySet<string> {
    const key = names.join('\n');
    let needs = this.expansions.get(key);
    if (!needs) {
      const expanded = new Set<string>();
      for (const name of names) for (const asset of this.closure(name)) expanded.add(asset);
      needs = expanded;
      if (this.expansions.size >= MOST_EXPANSIONS) this.expansions.clear();
      this.expansions.set(key, needs);
    }
    return needs;
  }

  bundleOf(name: string): BundleSpec {
    this.get(name);
    return this.bundleByAsset.get(name)!;
  }

  /** Registered names closest to `name`, best first (at most three). */
  suggest(name: string): string[] {
    return nearestNames(name, this.byName.keys());
  }

  private orderBundles(): readonly BundleSpec[] {
    type Draft = BundleSpec & { members: ResolvedAsset[]; index: number };
    const specs = new Map<string, Draft>();
    const draftOf = new Map<string, Draft>();
    for (const asset of this.order) {
      const id = `${asset.bundle}.${asset.kind}`;
      let spec = specs.get(id);
      if (!spec) {
        spec = { id, group: asset.bundle, kind: asset.kind, members: [], index: specs.size };
        specs.set(id, spec);
      }
      spec.members.push(asset);
      draftOf.set(asset.name, spec);
    }
    const needs = (spec: Draft) => {
      const before = new Set<string>();
      for (const member of spec.members) {
        for (const dep of this.closures.get(member.name)!) {
          const other = draftOf.get(dep)!;
          if (other.id !== spec.id && other.kind === spec.kind) before.add(other.id);
        }
      }
      return [...before].map((id) => specs.get(id)!);
    };
    const all = [...specs.values()];
    const cycle = findCycle(all, needs);
    if (cycle) {
      throw new AssetConfigError(
        `Bundles depend on each other: ${cycle.map((spec) => spec.id).join(' -> ')}; ` +
          'move the assets they share into one group',
      );
    }
    const ordered = dependencyOrder(all, needs).map((draft) => {
      const { id, group, kind, members } = draft;
      const spec: BundleSpec = Object.freeze({ id, group, kind, members: Object.freeze(members) });
      for (const member of members) this.bundleByAsset.set(member.name, spec);
      return spec;
    });
    return Object.freeze(ordered);
  }
}

/** Checks that a name is a plain relative POSIX path that cannot leave the load path. */
export function checkName(name: string): void {
  const bad = (why: string) => new AssetConfigError(`Asset name ${quote(name)} ${why}`, name);
  if (name.includes('\0')) throw bad('contains a NUL byte');
  if (/\p{Cs}/u.test(name)) throw bad('is not well-formed Unicode (a lone surrogate)');
  if (name.includes('\\')) throw bad('must use "/" as separator');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw bad('must be relative to the load path, not absolute');
  }
  if (name.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw bad('must not contain "..", "." or empty segments');
  }
  if (!kindOf(name)) {
    throw bad('has an unknown extension (use .js, .css or .less)');
  }
}

/** A dependency cycle as the path that closes it (`a -> b -> a`), or undefined. */
function findCycle<T>(items: readonly T[], depsOf: (item: T) => readonly T[]): T[] | undefined {
  const state = new Map<T, 'visiting' | 'done'>();
  const stack: T[] = [];
  const visit = (item: T): T[] | undefined => {
    if (state.get(item) === 'done') return undefined;
    if (state.get(item) === 'visiting') return [...stack.slice(stack.indexOf(item)), item];
    state.set(item, 'visiting');
    stack.push(item);
    for (const dep of depsOf(item)) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(item, 'done');
    return undefined;
  };
  for (const item of items) {
    const cycle = visit(item);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Kahn's algorithm, picking at each step the earliest declared item whose dependencies are all
 * placed: the order is stable under unrelated edits and deterministic. Assumes no cycles.
 */
function dependencyOrder<T extends { index: number }>(
  items: readonly T[],
  depsOf: (item: T) => readonly T[],
): T[] {
  const placed = new Set<T>();
  const result: T[] = [];
  const pending = [...items].sort((a, b) => a.index - b.index);
  while (pending.length) {
    const next = pending.findIndex((item) => depsOf(item).every((dep) => placed.has(dep)));
    const [item] = pending.splice(next, 1);
    placed.add(item);
    result.push(item);
  }
  return result;
}
