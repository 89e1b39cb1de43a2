import path from 'node:path';
import createDebug from 'debug';
import { servedFile } from '../build/loaded';
import type { Build, ServedFile } from '../build/loaded';
import { compileAsset } from '../compile';
import type { Compiled, CompileSettings } from '../compile/types';
import { integrity } from '../build/hash';
import { locateAll } from '../registry/loadPath';
import type { Manifest, ManifestBundle } from '../build/manifest';
import type { ResolvedOptions } from '../registry/options';
import type { Registry } from '../registry/registry';
import { sourceBytes, SourceFiles } from '../build/inputs';

const debug = createDebug('asset-registry:dev');

/**
 * Where development mode serves an asset, under `publicPath`: LESS is served as CSS. The name is
 * URL-encoded as a browser sends it (a space, "#", "?", "%" or "é" in a file name), since
 * requests are matched by exact name.
 */
export function developmentFile(name: string): string {
  const url = encodeURI(name).replace(/[?#]/g, encodeURIComponent);
  return `dev/${url}${name.endsWith('.less') ? '.css' : ''}`;
}

interface CompiledAsset {
  file: string;
  hash: string;
  compiled: Compiled;
  /** Hashes of `compiled.inputs` when compiled. */
  inputHashes: (string | undefined)[];
}

/**
 * Development mode's build: one unminified file per asset (LESS compiled, with a source map),
 * kept in memory. A rebuild recompiles only the assets whose files changed. A failed rebuild
 * keeps the last good build and records the error for the error page.
 */
export class DevelopmentBuilder {
  private readonly compiled = new Map<string, CompiledAsset>();
  private readonly settings: CompileSettings;

  constructor(
    private readonly registry: Registry,
    private readonly options: ResolvedOptions,
  ) {
    this.settings = {
      minify: false,
      roots: options.roots,
      urlPrefix: options.publicPath,
      maxBytes: options.maxSourceBytes,
    };
  }

  /**
   * What the watcher watches: every file the last build read, and every place each asset could
   * be found in the load path, so that a file created, moved back or restored is seen too.
   */
  watchList(): string[] {
    const places = this.registry.order.flatMap((asset) =>
      this.options.roots.map((root) => path.join(root, ...asset.name.split('/'))),
    );
    const inputs = [...this.compiled.values()].flatMap(({ compiled }) => compiled.inputs);
    return [...new Set([...places, ...inputs])];
  }

  /** Compiles what changed since the last call (everything, the first time). */
  async build(): Promise<Build> {
    const started = Date.now();
    const sources = new SourceFiles();
    const order = this.registry.order;
    const files = await locateAll(
      order.map((asset) => asset.name),
      this.options.roots,
    );
    for (const asset of order) {
      const file = files.get(asset.name)!;
      const hash = await sources.hash(file);
      const previous = this.compiled.get(asset.name);
      if (previous && previous.file === file && previous.hash === hash) {
        const inputs = await Promise.all(
          previous.compiled.inputs.map((input) => sources.hash(input)),
        );
        if (inputs.every((inputHash, i) => inputHash === previous.inputHashes[i])) continue;
      }
      debug('compiling %s', asset.name);
      const compiled = await compileAsset(
        asset,
        file,
        (await sources.read(file))!,
        this.settings,
        (other) => sources.read(other),
      );
      const inputHashes = await Promise.all(compiled.inputs.map((input) => sources.hash(input)));
      this.compiled.set(asset.name, { file, hash: hash!, compiled, inputHashes });
    }
    debug('built in %d ms', Date.now() - started);
    return this.snapshot(sources);
  }

  private async snapshot(sources: SourceFiles): Promise<Build> {
    const files = new Map<string, ServedFile>();
    const add = (name: string, body: Buffer) => files.set(name, servedFile(name, body));
    const bundles: ManifestBundle[] = [];
    for (const asset of this.registry.order) {
      const { compiled } = this.compiled.get(asset.name)!;
      const file = developmentFile(asset.name);
      const mapComment = compiled.map
        ? asset.kind === 'js'
          ? `\n//# sourceMappingURL=${baseName(file)}.map\n`
          : `\n/*# sourceMappingURL=${baseName(file)}.map */\n`
        : '';
      const body = Buffer.from(compiled.code + mapComment);
      add(file, body);
      if (compiled.map)
        add(`${file}.map`, Buffer.from(JSON.stringify({ ...compiled.map, file: baseName(file) })));
      for (const copy of compiled.copies)
        add(copy.name, (await sources.read(copy.from)) ?? Buffer.alloc(0));
      const size = body.length;
      bundles.push({
        id: asset.name,
        group: asset.bundle,
        kind: asset.kind,
        file,
        url: `${this.options.publicPath}${file}`,
        map: compiled.map ? `${file}.map` : '',
        integrity: integrity(body),
        sizes: {
          source: sourceBytes(this.compiled.get(asset.name)!.file, compiled, sources),
          min: size,
          gzip: 0,
          brotli: 0,
        },
        members: [{ asset: asset.name, source: size, min: size }],
      });
    }
    const manifest: Manifest = {
      version: 1,
      fingerprint: 'development',
      inputHash: '',
      bundles,
      copies: {},
      inputs: {},
      files: [...files.keys()],
      previous: [],
    };
    return Object.freeze({ manifest, bundles: Object.freeze(bundles), files, reused: false });
  }
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}
