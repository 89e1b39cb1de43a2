/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see below */
import fs from 'node:fs';
import path from 'node:path';
import type * as Terser from 'terser';
import type LessStatic from 'less';
import type CleanCSSConstructor from 'clean-css';

/**
 * The compilers load on first use, so a startup that reuses a build already on disk never pays
 * for loading terser, less or clean-css. less is the stock module, the one an application gets
 * from `require('less')`: it is used through `render` and a plugin, and nothing of it is changed.
 */
export const terser = (): typeof Terser => require('terser');
export const less = (): typeof LessStatic => require('less');
export const CleanCSS = (): typeof CleanCSSConstructor => require('clean-css');

const COMPILERS = ['terser', 'less', 'clean-css', 'acorn'];

/**
 * Versions of every compiler, part of the cache keys: upgrading one rebuilds everything. The
 * runtime's compressors (node:zlib's brotli, gzip and zstd) are not: an outDir built on one
 * Node.js starts on any other, with the dcz bodies its build machine could make.
 */
export function compilerVersions(): Record<string, string> {
  return Object.fromEntries(COMPILERS.map((name) => [name, versionOf(name)]));
}

function versionOf(name: string): string {
  // The package.json in the first node_modules folder holding the package, as require() finds
  // it: read from disk, because some packages (less) do not export it, and because resolving the
  // package itself goes through its `exports` map, which costs a startup several milliseconds.
  for (const folder of require.resolve.paths(name) ?? []) {
    const manifest = path.join(folder, name, 'package.json');
    if (fs.existsSync(manifest)) {
      return String(JSON.parse(fs.readFileSync(manifest, 'utf8')).version);
    }
  }
  throw new Error(`Cannot find the compiler ${name}: is it installed?`);
}
