import { makeDictionaryBodies, olderVersions } from './dictionaries';
import type { DictionaryBody } from './dictionaries';
import type { Joined } from './join';
import type { OutputReader } from './output';
import type { Manifest } from './manifest';
import { compress } from './output';
import type { Compressed } from './output';

/** A new bundle with every encoding it is served in. */
export interface Encoded extends Joined {
  readonly twins: Compressed;
  /** Its dcz bodies against each older version still kept (none where the runtime can't). */
  readonly dictionaries: readonly DictionaryBody[];
}

/** What the last build left in `outDir` that encoding can use. */
export interface Previous {
  readonly manifest?: Manifest;
  readonly read: OutputReader;
  /** How many builds `outDir` keeps, the new one included. */
  readonly keepVersions: number;
}

/**
 * Compresses each new bundle (brotli 11 and gzip 9, or the twins the last build already made of
 * the same bytes) and makes its dcz bodies against the older versions that stay in `outDir`.
 */
export function encode(joined: readonly Joined[], previous: Previous): Promise<Encoded[]> {
  const old = previous.manifest;
  const listed = new Set(old ? [...old.files, ...old.previous.flat()] : []);
  // The older versions a new bundle gets dcz bodies against, unless this build turns out to
  // remake the last one (then its own older versions stay: see rotate).
  const history = old ? [old.files, ...old.previous].slice(0, previous.keepVersions - 1) : [];
  return Promise.all(
    joined.map(async (bundle) => {
      const { group, kind } = bundle.spec;
      // The dcz bodies are made while brotli runs on the thread pool.
      const compressed = madeBefore(previous.read, bundle.file, bundle.body, listed).then(
        (twins) => twins ?? compress(bundle.body),
      );
      compressed.catch(() => undefined); // awaited below; not unhandled if the dcz bodies fail
      const dictionaries = await makeDictionaryBodies(
        previous.read,
        bundle.file,
        bundle.body,
        olderVersions(group, kind, bundle.file, history),
      );
      return { ...bundle, twins: await compressed, dictionaries };
    }),
  );
}

/**
 * The `.br` and `.gz` twins of a content-hashed file the last build already wrote, read back
 * instead of compressed again (brotli 11 is most of a one-file rebuild): only when the file on
 * disk holds exactly these bytes and the last manifest lists both twins.
 */
export async function madeBefore(
  read: OutputReader,
  name: string,
  data: Buffer,
  listed: ReadonlySet<string>,
): Promise<Compressed | undefined> {
  if (!listed.has(`${name}.br`) || !listed.has(`${name}.gz`)) return undefined;
  const [existing, br, gzip] = await Promise.all([
    read(name),
    read(`${name}.br`),
    read(`${name}.gz`),
  ]);
  return existing?.equals(data) && br && gzip ? { br, gzip } : undefined;
}
