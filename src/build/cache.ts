import fs from 'node:fs/promises';
import path from 'node:path';
import { JsonBytes } from '../compile/types';
import type { Compiled, SourceMap } from '../compile/types';
import { sha256 } from './hash';
import { displayName, resolveDisplayName } from '../registry/loadPath';
import { SOURCES_RECORD } from './inputs';
import { readFile, writeAtomically } from './output';

const LINE_BREAK = 0x0a;
const LINE_BREAK_TEXT = Buffer.from('\n');

/** A map's `sourcesContent` as a JSON array, one item per source. */
function contentsJson({ sources, sourcesContent }: SourceMap): Buffer {
  if (sourcesContent instanceof JsonBytes) return sourcesContent.bytes;
  return Buffer.from(JSON.stringify(sources.map((_, i) => sourcesContent?.[i] ?? null)));
}

interface Entry {
  compiled: Omit<Compiled, 'inputs' | 'copies'>;
  /** The SHA-256 of the line of sources' contents after the JSON: a damaged one is a miss. */
  contents?: string;
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
 *
 * An entry is one line of JSON, then, when the code has a map, a line break and the map's
 * `sourcesContent` as a JSON array: read back as bytes, never decoded (see `JsonBytes`), and
 * checked against the SHA-256 the JSON gives for them (under 1 ms for jQuery's and lodash's).
 * Entries of one JSON line with the contents inside (as earlier versions wrote) are read too.
 */
export class CompileCache {
  constructor(
    private readonly folder: string,
    private readonly roots: readonly string[],
    private readonly hashOf: (file: string) => Promise<string | undefined>,
  ) {}

  async get(key: string): Promise<Compiled | undefined> {
    const data = await readFile(this.fileOf(key)).catch(() => undefined);
    if (!data) return undefined;
    // JSON writes a line break inside a string as `\n`: the first one ends the entry's JSON.
    const end = data.indexOf(LINE_BREAK);
    let entry: Entry;
    try {
      entry = JSON.parse(data.toString('utf8', 0, end === -1 ? data.length : end)) as Entry;
    } catch {
      return undefined;
    }
    const { map } = entry.compiled;
    if (end !== -1) {
      const contents = data.subarray(end + 1);
      if (!map || sha256(contents) !== entry.contents) return undefined;
      map.sourcesContent = new JsonBytes(contents);
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
    const { map } = compiled;
    const contents = map && contentsJson(map);
    const entry: Entry = {
      compiled: { code: compiled.code, map: map && { ...map, sourcesContent: undefined } },
      contents: contents && sha256(contents),
      inputs,
      copies: compiled.copies.map(({ from, name }) => ({
        from: displayName(from, this.roots),
        name,
      })),
    };
    await fs.mkdir(this.folder, { recursive: true });
    const json = Buffer.from(JSON.stringify(entry));
    await writeAtomically(
      this.fileOf(key),
      contents ? Buffer.concat([json, LINE_BREAK_TEXT, contents]) : json,
    );
  }

  fileOf(key: string): string {
    return path.join(this.folder, `${sha256(key).slice(0, 32)}.json`);
  }

  /** Removes every entry but those of `keys` (the ones the last build used). */
  async prune(keys: readonly string[]): Promise<void> {
    const keep = new Set(keys.map((key) => path.basename(this.fileOf(key))));
    const entries = await fs.readdir(this.folder).catch(() => [] as string[]);
    await Promise.all(
      entries
        // Another process building into the same outDir may be writing an entry right now:
        // its temporary file is not ours to remove.
        .filter((entry) => entry.endsWith('.json') && !keep.has(entry) && entry !== SOURCES_RECORD)
        .map((entry) => fs.rm(path.join(this.folder, entry), { force: true })),
    );
  }
}
