import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { node } from '../dist';
import { tempDir } from '../helpers';

const SETUP = path.join(__dirname, '..', 'setup', 'prerequisites.ts');
const TSX = pathToFileURL(require.resolve('tsx')).href;

/** Runs jest's globalSetup as a program, in its own process, with the given environment. */
function runSetup(env: NodeJS.ProcessEnv) {
  return node(['--import', TSX, SETUP], { env });
}

describe("jest's globalSetup: chromium and zstd", () => {
  test('both found: it says nothing and lets the tests run', async () => {
    expect(await runSetup({})).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  // A PATH of an empty folder has no zstd, and no apt-get to install it with.
  test('zstd not on PATH, nothing to install it with: one line naming the command', async () => {
    const { code, stdout, stderr } = await runSetup({ PATH: tempDir('no-tools-') });
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: "npm test needs Debian's zstd: run apt-get update && apt-get install -y zstd\n",
    });
  });

  test('no chromium either: both named, in one line', async () => {
    const empty = tempDir('no-tools-');
    const chromium = path.join(empty, 'chromium');
    const { code, stderr } = await runSetup({ PATH: empty, CHROMIUM: chromium });
    expect(fs.existsSync(chromium)).toBe(false);
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr:
        "npm test needs Debian's chromium and zstd: " +
        'run apt-get update && apt-get install -y chromium zstd\n',
    });
  });
});
