/* eslint-disable @typescript-eslint/no-require-imports -- zstd loads on first use, see below */
import { createHash } from 'node:crypto';
import type * as Zstd from 'zstd-napi';
import type { OutputReader } from './built';

/**
 * Compression Dictionary Transport (RFC 9842): a browser that kept an older version of a bundle
 * (served with `Use-As-Dictionary`) names it in `Available-Dictionary`, and gets the new bundle
 * as `dcz`: a zstd frame that refers to the old bytes, so it carries little more than the change.
 */

/** The dcz header: a zstd skippable frame (magic 0x184D2A5E) holding the dictionary's SHA-256. */
const DCZ_MAGIC = Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 0x20, 0x00, 0x00, 0x00]);

/** The SHA-256 of a dictionary as a request names it: `:<base64>:` without the colons. */
export function dictionaryHash(dictionary: Buffer): string {
  return createHash('sha256').update(dictionary).digest('base64');
}

/** `body` compressed against `dictionary` (its raw content), in the dcz format. */
export function compressWithDictionary(body: Buffer, dictionary: Buffer): Buffer {
  // zstd-napi loads only when a build has older versions to compress against.
  const { Compressor } = require('zstd-napi') as typeof Zstd;
  const compressor = new Compressor();
  // Browsers decode windows up to 8 MB (or 1.25x the dictionary, RFC 9842): stay within them.
  const windowLog = Math.min(
    23,
    Math.max(10, Math.ceil(Math.log2(body.length + dictionary.length + 1))),
  );
  compressor.setParameters({ compressionLevel: 19, windowLog });
  compressor.loadDictionary(dictionary);
  const digest = createHash('sha256').update(dictionary).digest();
  return Buffer.concat([DCZ_MAGIC, digest, compressor.compress(body)]);
}

/** The name of the dcz file of `file` against an older version `from`: `<file>.<from's hash>.dcz`. */
export function dczFileOf(file: string, from: string): string {
  return `${file}.${from.split('.').at(-2)}.dcz`;
}

/** Older versions of a bundle among the kept builds' files: same group and kind, other hash. */
export function olderVersions(
  group: string,
  kind: string,
  file: string,
  previous: readonly string[][],
): string[] {
  const pattern = new RegExp(`^${group}\\.[0-9a-f]{12}\\.${kind}$`);
  return [...new Set(previous.flat())].filter((name) => pattern.test(name) && name !== file);
}

export interface DictionaryEntry {
  /** The older bundle file used as dictionary. */
  from: string;
  /** Its SHA-256, base64, as `Available-Dictionary` names it. */
  hash: string;
  /** The dcz file in `outDir`. */
  file: string;
  /** Bytes of the dcz body. */
  bytes: number;
}

/** A dcz body made in memory, written with the bundle once the build holds. */
export interface DictionaryBody extends DictionaryEntry {
  data: Buffer;
}

/**
 * Makes the dcz bodies of a new bundle against each older version still in `outDir`, in memory:
 * nothing is written before the build is known to succeed. An older version whose file is gone
 * is skipped.
 */
export async function makeDictionaryBodies(
  read: OutputReader,
  file: string,
  body: Buffer,
  olderFiles: readonly string[],
): Promise<DictionaryBody[]> {
  const bodies: DictionaryBody[] = [];
  for (const from of olderFiles) {
    const dictionary = await read(from);
    if (!dictionary) continue;
    const data = compressWithDictionary(body, dictionary);
    const hash = dictionaryHash(dictionary);
    bodies.push({ from, hash, file: dczFileOf(file, from), bytes: data.length, data });
  }
  return bodies;
}
