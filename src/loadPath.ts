import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AssetConfigError, quote } from './errors';

/**
 * Finds an asset's file in the load path: the first root that holds the name wins. A file that
 * resolves (through symlinks) to a place outside its root is refused, so a name can never reach
 * a file the registry's owner did not put under a root.
 */
export async function locate(name: string, roots: readonly string[]): Promise<string> {
  for (const root of roots) {
    const candidate = path.join(root, ...name.split('/'));
    const stat = await fs.stat(candidate).catch(() => undefined);
    if (!stat) continue;
    if (!stat.isFile()) {
      throw new AssetConfigError(`Asset ${quote(name)} is not a file: ${candidate}`, name);
    }
    const [real, realRoot] = await Promise.all([fs.realpath(candidate), fs.realpath(root)]);
    if (!isInside(real, realRoot)) {
      throw new AssetConfigError(
        `Asset ${quote(name)} resolves to ${real}, outside its root ${root} (a symlink?)`,
        name,
      );
    }
    return candidate;
  }
  const looked = roots.map((root) => path.join(root, ...name.split('/'))).join(', ');
  throw new AssetConfigError(`Asset ${quote(name)} has no file; looked in ${looked}`, name);
}

/**
 * A file's name as the build reports and records it: relative to the first root holding it, else
 * to the working folder, always with "/". Never absolute, so builds on different machines agree.
 */
export function displayName(file: string, roots: readonly string[]): string {
  const root = roots.find((candidate) => isInside(file, candidate));
  return path
    .relative(root ?? process.cwd(), file)
    .split(path.sep)
    .join('/');
}

export function isInside(file: string, folder: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== '' && relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative);
}

/** The inverse of {@link displayName}: the first root holding the name, else the working folder. */
export function resolveDisplayName(name: string, roots: readonly string[]): string {
  for (const root of roots) {
    const file = path.join(root, ...name.split('/'));
    if (existsSync(file)) return file;
  }
  return path.resolve(name);
}
