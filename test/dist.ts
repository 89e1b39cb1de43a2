import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { copySite, SITE_ASSETS, SITE_FIXTURE } from './site';

const run = promisify(execFile);

export const REPO = path.resolve(__dirname, '..');
/** The package as `npm run build` makes it; {@link ensureDist} runs that build when `src/` is newer. */
export const DIST = path.join(REPO, 'dist');
export const CLI = path.join(DIST, 'cli', 'cli.js');

const LOCK = path.join(REPO, 'node_modules', '.cache', 'asset-registry-dist.lock');

/**
 * Makes sure `dist/` holds the current `src/`, running `npm run build`'s compiler when a source
 * file is newer than `dist/cli/cli.js`. Test files run in parallel workers: a lock folder makes one
 * of them build while the others wait, so none reads a half-written `dist/`.
 */
export async function ensureDist(): Promise<void> {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed run is stale after two minutes.
      if (waited > 120_000) fs.rmSync(LOCK, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    if (isStale()) {
      await run(process.execPath, [
        path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        path.join(REPO, 'tsconfig.build.json'),
      ]);
    }
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

function isStale(): boolean {
  const built = fs.statSync(CLI, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = fs
    .readdirSync(path.join(REPO, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => fs.statSync(path.join(REPO, 'src', name)).mtimeMs);
  return sources.some((mtime) => mtime > built);
}

/** Runs `node dist/cli/cli.js ...args`; resolves with the exit code and both outputs. */
export async function cli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return node([CLI, ...args], options);
}

/** Runs `node ...args`, never rejecting on a non-zero exit code. */
export async function node(
  args: readonly string[],
  { cwd, env }: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...args], {
      cwd,
      env: { ...process.env, JEST_WORKER_ID: undefined, NODE_ENV: undefined, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * Writes a CommonJS registry module, as an app would have, that loads the package from `dist/`.
 * `root` and `outDir` are relative to the module's folder, so that the same module works
 * wherever the folder is copied.
 */
export function writeRegistryModule(
  file: string,
  options: { root: string | string[]; outDir: string } & Record<string, unknown>,
): string {
  fs.writeFileSync(
    file,
    `const path = require('node:path');
const { defineAssets } = require(${JSON.stringify(path.join(DIST, 'index.js'))});
const options = ${JSON.stringify(options, null, 2)};
exports.assets = defineAssets({
  ...options,
  root: [].concat(options.root).map((root) => path.join(__dirname, root)),
  outDir: path.join(__dirname, options.outDir),
});
`,
  );
  return file;
}

/**
 * The site fixture in `dir` (a fresh copy by default; copied in when `dir` is empty) with a
 * registry module `assets.js` next to it, as an app would have.
 */
export function siteWithModule(more: Record<string, unknown> = {}, dir = copySite()): string {
  if (!fs.existsSync(path.join(dir, 'assets'))) fs.cpSync(SITE_FIXTURE, dir, { recursive: true });
  writeRegistryModule(path.join(dir, 'assets.js'), {
    root: ['assets', 'vendor'],
    outDir: 'out',
    assets: SITE_ASSETS,
    ...more,
  });
  return dir;
}
