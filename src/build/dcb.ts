import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { errorMessage } from '../registry/errors';

/**
 * `dcb` (RFC 9842): the new bundle as brotli against an older version's raw bytes, next to its
 * `dcz` (zstd) body; a request that accepts both gets the smaller. node:zlib's brotli takes a raw
 * dictionary on Node.js 24.22 and 26, while 22.23 accepts the option and ignores it: support is
 * found by a round trip (see {@link dcbUnavailable}), never from the version number.
 */

/** The dcb header: its magic, then (below) the dictionary's SHA-256. */
const DCB_MAGIC = Buffer.from([0xff, 0x44, 0x43, 0x42]);

/** The brotli options with a dictionary, which `@types/node` 20 does not declare. */
interface BrotliWithDictionary extends zlib.BrotliOptions {
  dictionary: Buffer;
}

type Compress = (body: Buffer, dictionary: Buffer) => Buffer;

let brotli: Compress | string | undefined;

/** node:zlib's brotli compressor with a dictionary, or why this runtime has none; found once. */
function brotliWithDictionary(): Compress | string {
  return (brotli ??= findBrotli());
}

function findBrotli(): Compress | string {
  const { constants } = zlib;
  const compress: Compress = (body, dictionary) => {
    const options: BrotliWithDictionary = {
      dictionary,
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        // Room for references from the end of the body back into the dictionary; 24 is the
        // largest window of standard brotli, which is what browsers decode for dcb.
        [constants.BROTLI_PARAM_LGWIN]: Math.min(
          24,
          Math.max(10, Math.ceil(Math.log2(body.length + dictionary.length + 16))),
        ),
      },
    };
    return zlib.brotliCompressSync(body, options);
  };
  const runtime = process.version;
  // A kilobyte that does not compress on its own, against itself: with the dictionary used, the
  // stream decodes to it only with the dictionary. A runtime that ignores the option makes a
  // stream that decodes without it.
  const sample = Buffer.concat(
    Array.from({ length: 16 }, (_, i) => createHash('sha512').update(`dcb ${i}`).digest()),
  );
  try {
    const stream = compress(sample, sample);
    if (decodes(stream) === true) return `${runtime}'s brotli in node:zlib ignores dictionaries`;
    const withDictionary: BrotliWithDictionary = { dictionary: sample };
    if (!zlib.brotliDecompressSync(stream, withDictionary).equals(sample)) {
      return `${runtime}'s brotli in node:zlib does not give back what it compressed`;
    }
  } catch (error) {
    return `${runtime}'s brotli in node:zlib fails with a dictionary (${errorMessage(error)})`;
  }
  return compress;
}

/** Whether a brotli stream decodes, without any dictionary, to the 1,024-byte sample. */
function decodes(stream: Buffer): boolean {
  try {
    return zlib.brotliDecompressSync(stream).length === 1024;
  } catch {
    return false;
  }
}

/**
 * Why this Node.js cannot make dcb bodies, or undefined when it can. A build on a runtime that
 * cannot makes dcz bodies only, and serves as before.
 */
export function dcbUnavailable(): string | undefined {
  const found = brotliWithDictionary();
  return typeof found === 'string'
    ? `${found}; Node.js 24.22 and 26 have brotli with dictionaries`
    : undefined;
}

/**
 * `body` compressed against `dictionary` (its raw content), in the dcb format. Throws on a
 * runtime without brotli dictionaries in node:zlib (see {@link dcbUnavailable}).
 */
export function compressDcb(body: Buffer, dictionary: Buffer): Buffer {
  const compress = brotliWithDictionary();
  if (typeof compress === 'string') throw new Error(`Cannot make dcb bodies: ${dcbUnavailable()}`);
  const digest = createHash('sha256').update(dictionary).digest();
  return Buffer.concat([DCB_MAGIC, digest, compress(body, dictionary)]);
}

/** The name of the dcb file of `file` against an older version `from`: `<file>.<from's hash>.dcb`. */
export function dcbFileOf(file: string, from: string): string {
  return `${file}.${from.split('.').at(-2)}.dcb`;
}
