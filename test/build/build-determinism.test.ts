import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshot, tempDir } from '../helpers';
import { copySite, readOut } from '../site';
import { buildSite } from './buildSite';

/**
 * build() is deterministic: the same inputs give the same bytes, wherever they are and however
 * they were reached.
 */

describe('build(): determinism', () => {
  test('the same inputs in two folders give the same bytes, and no absolute path', async () => {
    const first = copySite();
    const second = path.join(tempDir('asset-site-with-a-longer-name-'), 'nested');
    fs.cpSync(first, second, { recursive: true });
    const [a, b] = await Promise.all([buildSite(first), buildSite(second)]);
    expect(b.manifest).toEqual(a.manifest);
    const outA = snapshot(path.join(first, 'out'));
    expect(snapshot(path.join(second, 'out'))).toEqual(outA);
    const forbidden = [first, second, os.tmpdir(), process.cwd(), os.homedir()];
    for (const [file, base64] of Object.entries(outA)) {
      const text = Buffer.from(base64, 'base64').toString('latin1');
      for (const folder of forbidden) {
        expect({ file, absolute: text.includes(folder) }).toEqual({ file, absolute: false });
      }
    }
  });

  test('a build made after edits equals a fresh build of the same files', async () => {
    const edited = copySite();
    await buildSite(edited);
    // A comment-only edit of the same length: the minified code, and so the bundle's name,
    // stay the same, but its map (sources content) must follow.
    const file = path.join(edited, 'vendor', 'vendor', 'tiny-lib.js');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('old style', 'OLD STYLE'));
    const after = await buildSite(edited);
    const fresh = copySite();
    fs.copyFileSync(file, path.join(fresh, 'vendor', 'vendor', 'tiny-lib.js'));
    const expected = await buildSite(fresh);
    expect(after.bundles).toEqual(expected.bundles);
    for (const bundle of expected.bundles) {
      for (const name of [bundle.file, bundle.map, `${bundle.file}.br`, `${bundle.file}.gz`]) {
        expect({ name, bytes: readOut(path.join(edited, 'out'), name) }).toEqual({
          name,
          bytes: readOut(path.join(fresh, 'out'), name),
        });
      }
    }
  });
});
