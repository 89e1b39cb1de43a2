import fs from 'node:fs/promises';
import path from 'node:path';
import type { Compiled } from './compile/types';
import { sha256 } from './hash';
import { displayName, resolveDisplayName } from './loadPath';
import { readFile, writeAtomically } from './output';

interface Entry {
  compiled: Omit<Compiled, 'inputs' | 'copies'>;
  /** Files besides the asset that went into the output, with the SHA-256 they had. */
  inputs: [string, string][];
  copies: { from: string; name: string }[];
}

/** The cache key of one asset's compiled output: the build's fingerprint, its name, its bytes. */
export function compileKey(fingerprint: string, name: string, hash: string | undefined): string {
  return `${fingerprint}:${name}:${hash}`;
}

/**
 * Compiled assets on disk, keyed by everything that makes the output (the asset's bytes, the
 * settings, the compiler versions), each entry checked against the files it was made from.
 * This is what makes a one-file change recompile one file. Paths are stored load-path-relative.
 */
export class CompileCache {
  constructor(
    private readonly folder: string,
    private readonly roots: readonly string[],
    private readonly hashOf: (file: string) => Promise<string | undefined>,
  ) {}

  async get(key: string): Promise<Compiled | undefined> {
    const text = await readFile(this.fileOf(key), 'utf8').catch(() => undefined);
    if (!text) return undefined;
    let entry: Entry;
    try {
      entry = JSON.parse(text) as Entry;
    } catch {
      return undefined;
    }
    const inputs = entry.inputs.map(([name, hash]) => ({
      file: resolveDisplayName(name, this.roots),
      hash,
    }));
    for (const { file, hash } of inputs) {
      if ((await this.hashOf(file)) !== hash) return undefined;
    }
    return {
      ...entry.compiled,
      inputs: inputs.map(({ file }) => file),
      copies: entry.copies.map(({ from, name }) => ({
        from: resolveDisplayName(from, this.roots),
        name,
      })),
    };
  }

  async put(key: string, compiled: Compiled): Promise<void> {
    const inputs: [string, string][] = [];
    for (const file of compiled.inputs) {
      const hash = await this.hashOf(file);
      if (hash) inputs.push([displayName(file, this.roots), hash]);
    }
    const entry: Entry = {
      compiled: { code: compiled.code, map: compiled.map },
      inputs,
      copies: compiled.copies.map(({ from, name }) => ({
        from: displayName(from, this.roots),
        name,
      })),
    };
    await fs.mkdir(this.folder, { recursive: true });
    await writeAtomically(this.fileOf(key), JSON.stringify(entry));
  }

  fileOf(key: string): string {
    return path.join(this.folder, `${sha256(key).slice(0, 32)}.json`);
  }
}
