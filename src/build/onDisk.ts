import { fileLoader, OutputFiles } from './loaded';
import type { ServedFile } from './loaded';
import { readManifest } from './manifest';

/** The shortest time between two reads of `manifest.json` by one process. */
export const REREAD_INTERVAL_MS = 1000;

/**
 * Every name a build writes: `<stem>.<12-hex hash><extensions>`, in `outDir` itself. Anything
 * else (a probe, a typo, a traversal) is answered without reading the manifest.
 */
const BUILT_NAME = /^[A-Za-z0-9_-]+\.[0-9a-f]{12}(\.[A-Za-z0-9]+)*$/;

/**
 * The builds that other processes wrote into `outDir` since this one read it. In a rolling
 * deploy, a page rendered by the new release can be answered by a process still on the old one:
 * that process finds the new bundles by reading the manifest again. It reads it at most once per
 * interval and never twice at once (a request that comes while a read runs waits for it), so a
 * stream of requests for names that exist nowhere costs at most one small read a second. Only
 * the names the last manifest read lists are served, each read from disk on its first request.
 */
export class BuildsOnDisk {
  private lastRead = -Infinity;
  private reading?: Promise<void>;
  private servable: ReadonlySet<string> = new Set();
  private load?: (name: string) => Promise<ServedFile | undefined>;
  private readonly loaded = new Map<string, Promise<ServedFile | undefined>>();

  constructor(
    readonly outDir: string,
    private readonly interval = REREAD_INTERVAL_MS,
  ) {}

  /** The file `name` of a build on disk, or undefined when the manifest does not list it. */
  async find(name: string): Promise<ServedFile | undefined> {
    if (!this.servable.has(name)) {
      if (!BUILT_NAME.test(name)) return undefined;
      if (!this.reading) {
        if (Date.now() - this.lastRead < this.interval) return undefined;
        this.lastRead = Date.now();
        this.reading = this.reread().finally(() => (this.reading = undefined));
      }
      await this.reading;
      if (!this.servable.has(name)) return undefined;
    }
    let file = this.loaded.get(name);
    if (!file) this.loaded.set(name, (file = this.load!(name)));
    return file;
  }

  private async reread(): Promise<void> {
    const manifest = await readManifest(this.outDir);
    // No manifest (a build is replacing it, or outDir is gone): keep serving what was listed.
    if (!manifest) return;
    const { servable, load } = fileLoader(manifest, new OutputFiles(this.outDir).read);
    this.servable = servable;
    this.load = load;
    // Files the new manifest no longer lists (rotated out) are forgotten with it.
    this.loaded.clear();
  }
}
