import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh folder under the system temp folder, removed after the test file's run. */
export function tempDir(prefix = 'asset-registry-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Writes files (name -> contents) under `dir`, making folders as needed. */
export function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, contents] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents);
  }
}

/**
 * Every file under `dir` (relative names) with its bytes, for "nothing changed" checks. A
 * symlink is recorded as its target, not followed.
 */
export function snapshot(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isSymbolicLink())
        result[path.relative(dir, file)] = `-> ${fs.readlinkSync(file)}`;
      else result[path.relative(dir, file)] = fs.readFileSync(file).toString('base64');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return result;
}

export const NODE_MODULES = path.resolve(__dirname, '..', 'node_modules');

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
