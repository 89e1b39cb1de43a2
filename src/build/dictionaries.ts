import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { compressDcb, dcbFileOf, dcbUnavailable } from './dcb';
import type { OutputReader } from './output';
import { errorMessage } from '../registry/errors';

/**
 * Compression Dictionary Transport (RFC 9842): a browser that kept an older version of a bundle
 * (served with `Use-As-Dictionary`) names it in `Available-Dictionary`, and gets the new bundle
 * as `dcz`: a zstd frame that refers to the old bytes, so it carries little more than the change
 * (and as `dcb`, brotli against them, where node:zlib's brotli takes a dictionary: see ./dcb.ts).
 * The zstd is node:zlib's: no compiler at install, and a runtime without it builds and serves
 * everything else (see {@link dczUnavailable}).
 */

/** The dcz header: a zstd skippable frame (magic 0x184D2A5E) holding the dictionary's SHA-256. */
const DCZ_MAGIC = Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 0x20, 0x00, 0x00, 0x00]);

/** The runtimes whose node:zlib zstd takes a dictionary (zstd itself came in 22.15 and 23.8). */
const FIRST_WITH_DICTIONARIES = 'Node.js 22.19+ and 24.6+';

/** The part of node:zlib's zstd used here, which `@types/node` 20 does not declare. */
interface ZlibZstd {
  zstdCompressSync?: (
    data: Buffer,
    options: { params: Record<number, number>; dictionary: Buffer },
  ) => Buffer;
  zstdDecompressSync?: (data: Buffer, options: { dictionary: Buffer }) => Buffer;
  constants: { ZSTD_c_compressionLevel?: number; ZSTD_c_windowLog?: number };
}

type Compress = (body: Buffer, dictionary: Buffer, windowLog: number) => Buffer;

let zstd: Compress | string | undefined;

/** node:zlib's zstd compressor with a dictionary, or why this runtime has none; found once. */
function zstdWithDictionary(): Compress | string {
  return (zstd ??= findZstd());
}

function findZstd(): Compress | string {
  const { zstdCompressSync, zstdDecompressSync, constants } = zlib as ZlibZstd;
  const runtime = process.version;
  if (!zstdCompressSync || !zstdDecompressSync) return `${runtime} has no zstd in node:zlib`;
  const compress: Compress = (body, dictionary, windowLog) =>
    zstdCompressSync(body, {
      params: {
        [constants.ZSTD_c_compressionLevel!]: 19,
        [constants.ZSTD_c_windowLog!]: windowLog,
      },
      dictionary,
    });
  // Before 22.19 and 24.6, node:zlib's zstd ignored the dictionary option: its frames decode,
  // but save nothing. A kilobyte that does not compress on its own must shrink against itself.
  const sample = Buffer.concat(
    Array.from({ length: 16 }, (_, i) => createHash('sha512').update(String(i)).digest()),
  );
  try {
    const frame = compress(sample, sample, 10);
    if (!zstdDecompressSync(frame, { dictionary: sample }).equals(sample)) {
      return `${runtime}'s zstd in node:zlib does not give back what it compressed`;
    }
    if (frame.length > sample.length / 2) {
      return `${runtime}'s zstd in node:zlib ignores dictionaries`;
    }
  } catch (error) {
    return `${runtime}'s zstd in node:zlib fails with a dictionary (${errorMessage(error)})`;
  }
  return compress;
}

/**
 * Why this Node.js cannot make dcz bodies, or undefined when it can. A build on a runtime that
 * cannot simply has none: the bundles, their twins and the manifest are the same either way, so
 * an outDir built on one runtime starts on any other.
 */
export function dczUnavailable(): string | undefined {
  const found = zstdWithDictionary();
  return typeof found === 'string'
    ? `${found}; ${FIRST_WITH_DICTIONARIES} have zstd with dictionaries`
    : undefined;
}

/** The SHA-256 of a dictionary as a request names it: `:<base64>:` without the colons. */
export function dictionaryHash(dictionary: Buffer): string {
  return createHash('sha256').update(dictionary).digest('base64');
}

/**
 * `body` compressed against `dictionary` (its raw content), in the dcz format. Throws on a
 * runtime without zstd dictionaries in node:zlib (see {@link dczUnavailable}).
 */
export function compressWithDictionary(body: Buffer, dictionary: Buffer): Buffer {
  const compress = zstdWithDictionary();
  if (typeof compress === 'string') throw new Error(`Cannot make dcz bodies: ${dczUnavailable()}`);
  // Browsers decode windows up to 8 MB (or 1.25x the dictionary, RFC 9842): stay within them.
  const windowLog = Math.min(
    23,
    Math.max(10, Math.ceil(Math.log2(body.length + dictionary.length + 1))),
  );
  const digest = createHash('sha256').update(dictionary).digest();
  return Buffer.concat([DCZ_MAGIC, digest, compress(body, dictionary, windowLog)]);
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

/** A file of `outDir` holding a bundle compressed against an older version, and its bytes. */
export interface DictionaryFile {
  file: string;
  bytes: number;
}

/** A bundle compressed against one older version: `file` and `bytes` are its dcz body. */
export interface DictionaryEntry extends DictionaryFile {
  /** The older bundle file used as dictionary. */
  from: string;
  /** Its SHA-256, base64, as `Available-Dictionary` names it. */
  hash: string;
  /**
   * The dcb body (brotli) against the same older version, where the build's Node.js could make
   * it (see {@link dcbUnavailable}). Missing in entries of older manifests, which stay as they are.
   */
  dcb?: DictionaryFile;
}

/** The dcz and dcb bodies made in memory, written with the bundle once the build holds. */
export interface DictionaryBody extends DictionaryEntry {
  data: Buffer;
  dcb?: DictionaryFile & { data: Buffer };
}

/**
 * Makes the dcz bodies of a new bundle against each older version still in `outDir`, and its
 * dcb bodies where this runtime can, in memory: nothing is written before the build is known to
 * succeed. An older version whose file is gone is skipped, and so is every one on a runtime that
 * cannot make dcz bodies.
 */
export async function makeDictionaryBodies(
  read: OutputReader,
  file: string,
  body: Buffer,
  olderFiles: readonly string[],
): Promise<DictionaryBody[]> {
  const bodies: DictionaryBody[] = [];
  if (dczUnavailable()) return bodies;
  const withDcb = dcbUnavailable() === undefined;
  for (const from of olderFiles) {
    const dictionary = await read(from);
    if (!dictionary) continue;
    const data = compressWithDictionary(body, dictionary);
    const hash = dictionaryHash(dictionary);
    const made: DictionaryBody = {
      from,
      hash,
      file: dczFileOf(file, from),
      bytes: data.length,
      data,
    };
    if (withDcb) {
      const dcb = compressDcb(body, dictionary);
      made.dcb = { file: dcbFileOf(file, from), bytes: dcb.length, data: dcb };
    }
    bodies.push(made);
  }
  return bodies;
}
