import zlib from 'node:zlib';
import type { AssetState } from '../state';
import { concatenate } from '../build/bundle';
import { compileAsset } from '../compile';
import type { Compiled, CompileSettings } from '../compile/types';
import { errorMessage } from '../registry/errors';
import { locateAll } from '../registry/loadPath';
import type { ResolvedAsset } from '../registry/options';
import { renderView } from './errorPage';
import { sourceBytes, SourceFiles } from '../build/inputs';
import { bytes } from '../build/sizeTable';

/**
 * Minified output per asset and content hash, with the hashes of the files it imports: the
 * report compiles each version once, and again when a partial it imports changed.
 */
const minified = new Map<string, { compiled: Compiled; inputHashes: (string | undefined)[] }>();

/**
 * The development report page: every production bundle with its members in order, each
 * member's bytes (source, minified, brotli) as bars, the dependency edges, the budgets, and
 * which routes required which assets since the server started.
 */
export async function renderReportPage(
  assets: AssetState,
  usage: ReadonlyMap<string, ReadonlySet<string>>,
  nonce?: string,
): Promise<string> {
  const { registry, options } = assets;
  const settings: CompileSettings = {
    minify: true,
    roots: options.roots,
    urlPrefix: '',
    maxBytes: options.maxSourceBytes,
  };
  const sources = new SourceFiles();
  const files = await locateAll(
    registry.order.map((asset) => asset.name),
    options.roots,
  );
  const required = new Set([...usage.values()].flatMap((needs) => [...needs]));
  const bundles = [];
  for (const spec of registry.bundles) {
    const members = [];
    for (const asset of spec.members) {
      const file = files.get(asset.name)!;
      const compiled = await minify(asset, file, settings, sources);
      const code = compiled.code;
      members.push({
        name: asset.name,
        // The build's own count (LESS imports included), as `asset-registry report` prints it.
        source: sourceBytes(file, compiled, sources),
        min: Buffer.byteLength(code),
        brotli: brotli(code),
        code,
      });
    }
    const joined = concatenate(spec.kind, members, spec.id).code;
    const total = {
      source: sum(members.map((m) => m.source)),
      min: Buffer.byteLength(joined),
      brotli: brotli(joined),
    };
    const largest = Math.max(1, ...members.map((m) => m.source));
    const budget = options.budget[spec.kind];
    bundles.push({
      id: spec.id,
      total,
      budget,
      over: budget !== undefined && total.brotli > budget,
      members: members.map((m) => ({
        ...m,
        code: undefined,
        unused: !required.has(m.name),
        bars: [m.source, m.min, m.brotli].map((value) => Math.round((value / largest) * 1000) / 10),
      })),
    });
  }
  return renderView('report.njk', {
    bundles,
    edges: registry.order.flatMap((asset) =>
      asset.deps.map((dep) => ({ from: asset.name, to: dep })),
    ),
    routes: [...usage].map(([route, needs]) => ({ route, needs: [...needs] })),
    bytes,
    nonce,
  });
}

/** An asset compiled as the production build compiles it; a compile error as a comment. */
async function minify(
  asset: ResolvedAsset,
  file: string,
  settings: CompileSettings,
  sources: SourceFiles,
): Promise<Compiled> {
  const key = `${asset.name}:${await sources.hash(file)}`;
  const known = minified.get(key);
  if (known) {
    const hashes = await Promise.all(known.compiled.inputs.map((input) => sources.hash(input)));
    if (hashes.every((hash, i) => hash === known.inputHashes[i])) return known.compiled;
  }
  const data = (await sources.read(file)) ?? Buffer.alloc(0);
  const compiled = await compileAsset(asset, file, data, settings, (other) =>
    sources.read(other),
  ).catch((error: unknown): Compiled => ({
    code: `/* ${errorMessage(error)} */`,
    inputs: [],
    copies: [],
  }));
  const inputHashes = await Promise.all(compiled.inputs.map((input) => sources.hash(input)));
  minified.set(key, { compiled, inputHashes });
  return compiled;
}

function brotli(code: string): number {
  return zlib.brotliCompressSync(code, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } })
    .length;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
