import path from 'node:path';
import { CompileCache, compileKey } from '../build/cache';
import { locate } from '../registry/loadPath';
import type { Manifest, ManifestBundle, Sizes } from '../build/manifest';
import type { Kind, ResolvedOptions } from '../registry/options';
import { compress } from '../build/output';
import { bytes, columns } from '../build/sizeTable';
import { SourceFiles } from '../build/inputs';

/** One asset's bytes: as written, minified, and compressed. */
export interface AssetSizes extends Sizes {
  asset: string;
  /**
   * How `gzip` and `brotli` were found: `alone` compresses the asset's compiled code by itself
   * (from the build's compile cache); `estimate` gives it its bundle's compression ratio, when
   * the cache no longer holds it. Alone, an asset compresses a little worse than in its bundle.
   */
  compressed: 'alone' | 'estimate';
}

export interface BundleReport {
  id: string;
  kind: Kind;
  file: string;
  url: string;
  sizes: Sizes;
  /** The `budget` option for this kind, in brotli bytes, if there is one. */
  budget?: number;
  /** Whether the bundle's brotli size is within its budget (true when there is none). */
  withinBudget: boolean;
  members: AssetSizes[];
}

/** What `asset-registry report` prints, and `--json` gives as it is. */
export interface SizeReport {
  outDir: string;
  bundles: BundleReport[];
  withinBudgets: boolean;
}

/** The sizes of a build, per bundle and per asset, held to the `budget` option. */
export async function sizeReport(
  manifest: Manifest,
  options: ResolvedOptions,
): Promise<SizeReport> {
  const perAsset = await assetSizes(manifest, options);
  const bundles = manifest.bundles.map((bundle): BundleReport => {
    const budget = options.budget[bundle.kind];
    return {
      id: bundle.id,
      kind: bundle.kind,
      file: bundle.file,
      url: bundle.url,
      sizes: bundle.sizes,
      ...(budget === undefined ? {} : { budget }),
      withinBudget: budget === undefined || bundle.sizes.brotli <= budget,
      members: bundle.members.map(({ asset }) => perAsset.get(asset)!),
    };
  });
  return {
    outDir: options.outDir,
    bundles,
    withinBudgets: bundles.every((bundle) => bundle.withinBudget),
  };
}

/**
 * Every asset of a build with its sizes. Compressing each asset's compiled code costs a
 * brotli run per asset but no compiler: the code comes from the compile cache in `outDir`.
 */
export async function assetSizes(
  manifest: Manifest,
  options: ResolvedOptions,
): Promise<Map<string, AssetSizes>> {
  const sources = new SourceFiles();
  const cache = new CompileCache(path.join(options.outDir, '.cache'), options.roots, (file) =>
    sources.hash(file),
  );
  const compiledCode = async (asset: string) => {
    const file = await locate(asset, options.roots).catch(() => undefined);
    if (!file) return undefined;
    const key = compileKey(manifest.fingerprint, asset, await sources.hash(file));
    return (await cache.get(key))?.code;
  };
  const result = new Map<string, AssetSizes>();
  for (const bundle of manifest.bundles) {
    for (const { asset, source, min } of bundle.members) {
      const code = await compiledCode(asset);
      // A cache entry of other bytes than the bundle holds (edited since) must not be reported.
      const compressed =
        code !== undefined && Buffer.byteLength(code) === min
          ? await compress(Buffer.from(code))
          : undefined;
      result.set(asset, {
        asset,
        source,
        min,
        ...(compressed
          ? { gzip: compressed.gzip.length, brotli: compressed.br.length, compressed: 'alone' }
          : { ...shareOf(bundle, min), compressed: 'estimate' }),
      });
    }
  }
  return result;
}

function shareOf(bundle: ManifestBundle, min: number): { gzip: number; brotli: number } {
  const ratio = (compressed: number) =>
    bundle.sizes.min ? Math.round((min * compressed) / bundle.sizes.min) : 0;
  return { gzip: ratio(bundle.sizes.gzip), brotli: ratio(bundle.sizes.brotli) };
}

/** The report as a table: each bundle, then its members indented; estimates marked `~`. */
export function formatReport(report: SizeReport): string {
  const header = ['bundle / asset', 'source', 'min', 'gzip', 'brotli', 'budget (brotli)'];
  const rows: string[][] = [];
  for (const bundle of report.bundles) {
    const { source, min, gzip, brotli } = bundle.sizes;
    const budget =
      bundle.budget === undefined
        ? 'none'
        : `${bytes(bundle.budget)} ${bundle.withinBudget ? 'ok' : `OVER by ${bytes(brotli - bundle.budget)}`}`;
    rows.push([`${bundle.id} (${bundle.file})`, ...[source, min, gzip, brotli].map(bytes), budget]);
    for (const member of bundle.members) {
      const mark = member.compressed === 'estimate' ? '~' : '';
      rows.push([
        `  ${member.asset}`,
        bytes(member.source),
        bytes(member.min),
        mark + bytes(member.gzip),
        mark + bytes(member.brotli),
        '',
      ]);
    }
  }
  const notes = ['Asset gzip/brotli: each asset compressed alone (within a bundle it costs less).'];
  if (report.bundles.some((bundle) => bundle.members.some((m) => m.compressed === 'estimate'))) {
    notes.push("~ estimated from the bundle's ratio: the compile cache no longer holds the asset.");
  }
  return [columns(header, rows), '', ...notes].join('\n');
}
