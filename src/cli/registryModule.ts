/**
 * The CLI's loading of the module that exports the registry: the user's own code, loaded as the
 * runtime can, and when it cannot, the real reason said with where it happened.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AssetRegistry } from '../assets';
import { AssetError, LIBRARY } from '../registry/errors';

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {}

/** The registry module failed to load: its own error, with its code and place. Exit code 1. */
export class ModuleLoadError extends Error {}

/** Loads the module that defines the registry and finds the registry among its exports. */
export async function loadRegistry(name: string): Promise<AssetRegistry> {
  let file: string;
  try {
    file = require.resolve(path.resolve(name));
  } catch {
    throw new UsageError(`cannot find the registry module "${name}"`);
  }
  const exported = await loadModule(name, file);
  const record = (exported ?? {}) as Record<string, unknown>;
  if (isRegistry(exported)) return exported;
  for (const key of ['default', 'assets']) if (isRegistry(record[key])) return record[key];
  const found = [...new Set(Object.values(record).filter(isRegistry))];
  if (found.length === 1) return found[0];
  throw new UsageError(
    `${name} exports ${found.length ? `${found.length} registries` : 'no registry'}: ` +
      'export the result of defineAssets() as default or as "assets"',
  );
}

/**
 * Loads the user's module as the runtime can: require() takes CommonJS, most ES modules, and
 * TypeScript where the runtime strips types; import() takes an ES module require() cannot.
 */
async function loadModule(name: string, file: string): Promise<unknown> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's module, found at run time
    return require(file);
  } catch (error) {
    if (!['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE'].includes(codeOf(error) ?? '')) {
      throw whyNotLoaded(name, file, error);
    }
  }
  try {
    return await import(pathToFileURL(file).href);
  } catch (error) {
    throw whyNotLoaded(name, file, error);
  }
}

const LOADER = 'node --import tsx node_modules/.bin/asset-registry ...';

/**
 * The error to report for a module that did not load. Only a runtime that cannot strip types
 * makes it "needs a loader"; anything else is the module's own error (a syntax error, a missing
 * import, a throw, TypeScript that stripping cannot erase), named with its code and place.
 */
function whyNotLoaded(name: string, file: string, error: unknown): Error {
  if (error instanceof AssetError) return error;
  if (!(error instanceof Error)) return new ModuleLoadError(`cannot load ${name}: ${error}`);
  const code = codeOf(error);
  const typescript = /\.[mc]?ts$/.test(file);
  const stripsTypes = Boolean((process.features as { typescript?: string | false }).typescript);
  const unparsed = error instanceof SyntaxError || code === 'ERR_UNKNOWN_FILE_EXTENSION';
  if (typescript && !stripsTypes && unparsed && !code?.includes('TYPESCRIPT')) {
    return new UsageError(
      `cannot load ${name}: Node.js ${process.versions.node} does not strip types, so a ` +
        `TypeScript module needs a loader, e.g. ${LOADER} (Node.js 22.18+ and 24+ need ` +
        'none; 22.6 to 22.17 need node --experimental-strip-types) ' +
        `(${error.message})`,
    );
  }
  const where = placeOf(error);
  const hint =
    code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX'
      ? `; type stripping only erases types: rewrite it, or use a loader: ${LOADER}`
      : '';
  return new ModuleLoadError(
    `cannot load ${name}${where ? ` (${where})` : ''}: ` +
      `${error.name}${code ? ` [${code}]` : ''}: ${error.message.split('\n')[0]}${hint}`,
  );
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Where an error happened in the user's files, as `file:line[:column]` relative to the working
 * folder: a syntax error's stack starts with the place, any other error's has it in the first
 * frame outside Node.js and this package.
 */
function placeOf(error: Error): string | undefined {
  const stack = error.stack ?? '';
  const header = /^(.+):(\d+)\n/.exec(stack);
  const frames = [...stack.matchAll(/^ +at (?:.*\()?(.+?):(\d+):(\d+)\)?$/gm)];
  const places = [
    ...(header ? [[header[1], header[2]]] : []),
    ...frames.map(([, at, line, column]) => [at, line, column]),
  ];
  for (const [at, ...position] of places) {
    const file = at.startsWith('file:') ? fileURLToPath(at) : at;
    if (!path.isAbsolute(file) || file.startsWith(LIBRARY + path.sep) || !existsSync(file)) {
      continue;
    }
    return [path.relative('.', file), ...position].join(':');
  }
  return undefined;
}

/** A registry, also one made by another copy of this package (npx, a linked checkout). */
function isRegistry(value: unknown): value is AssetRegistry {
  if (value instanceof AssetRegistry) return true;
  const candidate = value as Partial<AssetRegistry> | null | undefined;
  return typeof candidate?.build === 'function' && !!candidate.registry && !!candidate.options;
}
