import fs from 'node:fs';
import path from 'node:path';
import * as outputModule from '../../src/build/output';
import { bundleOf, copySite, readOut } from '../site';
import { buildSite } from './buildSite';

/**
 * Inputs known by their stat: a startup reads no input that has not changed since a build hashed
 * it.
 */

describe('build(): inputs known by their stat', () => {
  test('a startup reads no input that has not changed since a build hashed it; a changed one is read, even with its size and mtime put back', async () => {
    const dir = copySite();
    const widgets = path.join(dir, 'assets', 'site', 'widgets.js');
    // An mtime that utimes can set again exactly (whole seconds, no nanoseconds).
    const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    fs.utimesSync(widgets, past, past);
    await buildSite(dir);
    // Files changed within 2 s of their hashing are not trusted by their stat: wait that out.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await buildSite(dir); // hashes the settled inputs, records them in .cache/inputs.json
    const record = JSON.parse(readOut(path.join(dir, 'out'), '.cache/inputs.json')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(record.files)).toContain('site/widgets.js');
    expect(JSON.stringify(record)).not.toContain(dir); // named on the load path

    const reads = jest.spyOn(outputModule, 'readFile');
    const inputs = () =>
      reads.mock.calls
        .map(([file]) => String(file))
        .filter((file) => file.startsWith(dir) && !file.includes(`${path.sep}out${path.sep}`));
    try {
      const warm = await buildSite(dir);
      expect(warm.reused).toBe(true);
      expect(inputs()).toEqual([]);

      // Same size, mtime set back exactly: only the ctime tells, and it does.
      const source = fs.readFileSync(widgets, 'utf8');
      fs.writeFileSync(widgets, source.replace('widgets-marker', 'widgets-MARKER'));
      fs.utimesSync(widgets, past, past);
      expect(fs.statSync(widgets).mtimeMs).toBe(past.getTime());
      reads.mockClear();
      const changed = await buildSite(dir);
      expect(changed.reused).toBe(false);
      expect(inputs()).toContain(widgets);
      expect(readOut(path.join(dir, 'out'), bundleOf(changed, 'main.js').file)).toContain(
        'widgets-MARKER',
      );
    } finally {
      reads.mockRestore();
    }
  });

  test('a damaged record is ignored: every input is read and hashed again', async () => {
    const dir = copySite();
    const first = await buildSite(dir);
    fs.writeFileSync(path.join(dir, 'out', '.cache', 'inputs.json'), '{"version":1,"files":');
    const again = await buildSite(dir);
    expect(again.reused).toBe(true);
    expect(again.manifest).toEqual(first.manifest);
  });
});
