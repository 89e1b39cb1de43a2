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
  const file = await find(name, roots);
  if (file === undefined) throw missingError([name], roots);
  return file;
}

/**
 * Finds every asset's file (see {@link locate}), by name. All problems come in one
 * `AssetConfigError`, so that a registry with several missing files is fixed in one round.
 */
export async function locateAll(
  names: readonly string[],
  roots: readonly string[],
): Promise<Map<string, string>> {
  const found = await Promise.allSettled(names.map((name) => find(name, roots)));
  const files = new Map<string, string>();
  const missing: string[] = [];
  const problems: AssetConfigError[] = [];
  found.forEach((result, i) => {
    if (result.status === 'fulfilled') {
      if (result.value === undefined) missing.push(names[i]);
      else files.set(names[i], result.value);
    } else if (result.reason instanceof AssetConfigError) problems.push(result.reason);
    else throw result.reason; // a system error (EACCES, EIO...), not the registry's
  });
  if (missing.length) problems.unshift(missingError(missing, roots));
  if (problems.length === 0) return files;
  if (problems.length === 1) throw problems[0];
  throw new AssetConfigError(
    problems.map((problem) => problem.message).join('; '),
    problems.flatMap((problem) => problem.assets),
  );
}

/** The file of a name in the first root that has it, or undefined when none has. */
async function find(name: string, roots: readonly string[]): Promise<string | undefined> {
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
  return undefined;
}

function missingError(names: readonly string[], roots: readonly string[]): AssetConfigError {
  if (names.length === 1) {
    const looked = roots.map((root) => path.join(root, ...names[0].split('/'))).join(', ');
    return new AssetConfigError(`Asset ${quote(names[0])} has no file; looked in ${looked}`, names);
  }
  const under = roots.length === 1 ? roots[0] : `any of ${roots.join(', ')}`;
  return new AssetConfigError(
    `${names.length} assets have no file under ${under}: ${names.map(quote).join(', ')}`,
    names,
  );
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
