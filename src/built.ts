import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256 } from './hash';
import type { Manifest, ManifestBundle } from './manifest';
import { contentTypeOf } from './output';

/** One file as the middleware serves it: every encoding ready in memory. */
export interface ServedFile {
  readonly body: Buffer;
  readonly br?: Buffer;
  readonly gzip?: Buffer;
  readonly type: string;
  /** Strong ETag of `body`; the encodings add a suffix, as each is a different representation. */
  readonly etag: string;
}

/** A finished build, frozen: all that a request reads. */
export interface Build {
  readonly manifest: Manifest;
  /** Bundles in load order. */
  readonly bundles: readonly ManifestBundle[];
  /** Files that may be served, by name in `outDir`: this build's and the kept older ones'. */
  readonly files: ReadonlyMap<string, ServedFile>;
  /** Whether this build came from disk without compiling. */
  readonly reused: boolean;
}

const TWINS = ['.br', '.gz'];

/** Reads the files of a manifest (and of the older builds it keeps) into memory. */
export async function loadBuild(
  outDir: string,
  manifest: Manifest,
  reused: boolean,
): Promise<Build> {
  const names = [...manifest.files, ...manifest.previous.flat()].filter(
    (name) => !TWINS.includes(path.extname(name)),
  );
  const files = new Map<string, ServedFile>();
  const listed = new Set([...manifest.files, ...manifest.previous.flat()]);
  await Promise.all(
    [...new Set(names)].map(async (name) => {
      const read = (file: string) =>
        listed.has(file) ? fs.readFile(path.join(outDir, file)).catch(() => undefined) : undefined;
      const [body, br, gzip] = await Promise.all([
        read(name),
        read(`${name}.br`),
        read(`${name}.gz`),
      ]);
      if (!body) return; // an older build's file removed by hand: not servable, not fatal
      const etag = `"${sha256(body).slice(0, 32)}"`;
      files.set(name, Object.freeze({ body, br, gzip, type: contentTypeOf(name), etag }));
    }),
  );
  for (const bundle of manifest.bundles) {
    if (!files.has(bundle.file))
      throw new Error(`Bundle file ${bundle.file} is missing from ${outDir}`);
  }
  return Object.freeze({ manifest, bundles: Object.freeze(manifest.bundles), files, reused });
}
