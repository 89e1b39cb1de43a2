/**
 * Jest's globalSetup: the tools from outside npm that the tests drive. The browser tests run
 * Debian's Chromium (test/chromium.ts), the dcz tests decode with the `zstd` command, an
 * implementation independent of the library's, and test/e2e/nginx.test.ts runs Debian's nginx
 * with its brotli_static module (test/nginx.ts). When one is missing, it installs it where it can
 * (as root, with apt-get), or else stops at once with one line that says what to run: no test is
 * skipped for want of a tool.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CHROMIUM } from '../chromium';
import { BROTLI_STATIC_MODULE, NGINX } from '../nginx';

/** Debian's packages the tests need that are not installed, as `apt-get install` names them. */
export function missingPackages(): string[] {
  const missing = [];
  if (!isExecutable(CHROMIUM)) missing.push('chromium');
  if (!onPath('zstd')) missing.push('zstd');
  if (!isExecutable(NGINX)) missing.push('nginx');
  if (!fs.existsSync(BROTLI_STATIC_MODULE)) missing.push('libnginx-mod-http-brotli-static');
  return missing;
}

/** The line `npm test` stops with when packages are missing. */
export function installHint(missing: readonly string[]): string {
  const install = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  return `npm test needs Debian's ${missing.join(' and ')}: run ${install}`;
}

/** Finds the tools, installs the missing ones when it can, or stops `npm test` with one line. */
export default function prerequisites(): void {
  let missing = missingPackages();
  if (missing.length && canInstall()) {
    try {
      // apt's progress goes to stderr: jest's stdout may be a report (--json).
      const stdio: ['ignore', number, number] = ['ignore', 2, 2];
      execFileSync('apt-get', ['update'], { stdio });
      execFileSync('apt-get', ['install', '-y', ...missing], { stdio });
    } catch {
      // Said below, with what is still missing.
    }
    missing = missingPackages();
  }
  if (missing.length) {
    process.stderr.write(`${installHint(missing)}\n`);
    process.exit(1);
  }
}

/** Root, with apt-get on PATH: a fresh Debian machine or container. */
function canInstall(): boolean {
  return process.getuid?.() === 0 && onPath('apt-get');
}

function onPath(command: string): boolean {
  const folders = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return folders.some((folder) => isExecutable(path.join(folder, command)));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

if (require.main === module) prerequisites();
