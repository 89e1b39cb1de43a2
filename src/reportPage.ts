import zlib from 'node:zlib';
import type { AssetRegistry } from './assets';
import { concatenate } from './bundle';
import { compileAsset } from './compile';
import type { CompileSettings } from './compile/types';
import { errorMessage } from './errors';
import { locate } from './loadPath';
import { renderView } from './errorPage';
import { SourceFiles } from './sources';
import { bytes } from './sizeTable';

/** Minified output per asset and content hash: the report compiles each version once. */
const minified = new Map<string, string>();

/**
 * The development report page: every production bundle with its members in order, each
 * member's bytes (source, minified, brotli) as bars, the dependency edges, the budgets, and
 * which routes required which assets since the server started.
 */
export async function renderReportPage(
  assets: AssetRegistry,
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
  const required = new Set([...usage.values()].flatMap((needs) => [...needs]));
  const bundles = [];
  for (const spec of registry.bundles) {
    const members = [];
    for (const asset of spec.members) {
      const file = await locate(asset.name, options.roots);
      const data = (await sources.read(file))!;
      const key = `${asset.name}:${await sources.hash(file)}`;
      let code = minified.get(key);
      if (code === undefined) {
        code = await compileAsset(asset, file, data, settings, sources).then(
          (result) => result.code,
          (error: unknown) => `/* ${errorMessage(error)} */`,
        );
        minified.set(key, code);
      }
      members.push({
        name: asset.name,
        source: data.length,
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

function brotli(code: string): number {
  return zlib.brotliCompressSync(code, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } })
    .length;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
