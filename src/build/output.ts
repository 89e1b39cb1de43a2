import { readFile as readFileCallback } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type Zlib from 'node:zlib';

/**
 * Reads a whole file. `fs.promises.readFile` reads in chunks with an await each: on the 73
 * bootstrap partials, jQuery and lodash it took 11 ms where the callback API took 3 (Node 20).
 */
export const readFile = promisify(readFileCallback);

/** Reads a file of `outDir`; undefined when it cannot be read. */
export type OutputReader = (file: string) => Promise<Buffer | undefined>;

/**
 * Writes a file so that no reader, in this process or another, ever sees it half-written:
 * the bytes go to a temporary file in the same folder, which is then renamed over the target.
 */
export async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temporary, data);
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

/** A temporary file of {@link writeAtomically}: `<file>.<pid>.<12 hex digits>.tmp`. */
const TEMPORARY = /\.\d+\.[0-9a-f]{12}\.tmp$/;

/** Older than any write takes: a temporary file this old was left by a process that died. */
const ABANDONED_AFTER_MS = 10 * 60_000;

/**
 * Removes from `folder` the temporary files of writes that never finished (a process killed
 * mid-write). Only old ones: another process may be writing into the same folder right now.
 */
export async function removeAbandonedTemporaries(folder: string): Promise<void> {
  const entries = await fs.readdir(folder).catch(() => [] as string[]);
  const now = Date.now();
  await Promise.all(
    entries
      .filter((entry) => TEMPORARY.test(entry))
      .map(async (entry) => {
        const file = path.join(folder, entry);
        const stat = await fs.stat(file).catch(() => undefined);
        if (stat && now - stat.mtimeMs > ABANDONED_AFTER_MS) await fs.rm(file, { force: true });
      }),
  );
}

/**
 * Writes a file unless it already holds exactly these bytes, so an unchanged file keeps its
 * mtime. Bytes, not only sizes, are compared: a source map keeps its bundle's name when only
 * comments changed, yet its contents differ.
 */
export async function writeOnce(file: string, data: Buffer): Promise<void> {
  const existing = await fs.stat(file).catch(() => undefined);
  if (existing?.size === data.length && (await readFile(file)).equals(data)) return;
  await writeAtomically(file, data);
}

export interface Compressed {
  br: Buffer;
  gzip: Buffer;
}

/** Brotli at its best quality and gzip at level 9: made once per build, served many times. */
export async function compress(data: Buffer): Promise<Compressed> {
  // Loaded on first use: a server that starts from a prebuilt outDir compresses nothing.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zlib = require('node:zlib') as typeof Zlib;
  const [br, gz] = await Promise.all([
    promisify(zlib.brotliCompress)(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      },
    }),
    promisify(zlib.gzip)(data, { level: 9 }),
  ]);
  return { br, gzip: gz };
}

/** Content types of what a build writes or copies. */
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.eot': 'application/vnd.ms-fontobject',
};

export function contentTypeOf(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Whether a file's type gains from compression (text, SVG, uncompressed fonts). */
export function isCompressible(file: string): boolean {
  return ['.js', '.css', '.map', '.json', '.svg', '.ttf', '.otf', '.eot', '.ico'].includes(
    path.extname(file).toLowerCase(),
  );
}

/**
 * The writes a build starts: it waits for them before it returns, and, when one fails, for the
 * others too, so that a failed build leaves nothing writing into `outDir` behind it.
 */
export class Writes {
  private readonly started: Promise<unknown>[] = [];

  add(write: Promise<unknown>): void {
    write.catch(() => undefined); // seen by `done` or `settled`, not an unhandled rejection
    this.started.push(write);
  }

  /** Tracks writes started together and waits for them; rejects with the first that failed. */
  all(writes: Promise<unknown>[]): Promise<unknown[]> {
    for (const write of writes) this.add(write);
    return Promise.all(writes);
  }

  /** Rejects with the first write that failed. */
  async done(): Promise<void> {
    await Promise.all(this.started);
  }

  async settled(): Promise<void> {
    await Promise.allSettled(this.started);
  }
}
