import chokidar from 'chokidar';
import type { FSWatcher } from 'chokidar';

/**
 * Watches files for development mode and calls back once per burst of changes (an editor's save
 * is often several events). chokidar copes with editors that save by rename and with files that
 * are deleted and created again.
 */
export class Watcher {
  private watcher?: FSWatcher;
  private watched = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly onChange: () => void,
    private readonly delay = 25,
  ) {}

  /** Watches exactly `files` from now on; resolves once the first set is being watched. */
  async watch(files: readonly string[]): Promise<void> {
    const next = new Set(files);
    if (!this.watcher) {
      this.watcher = chokidar.watch([...next], { ignoreInitial: true, disableGlobbing: true });
      this.watcher.on('all', (event, file) => {
        // chokidar stops watching a file once it is deleted: watch its path again, so that
        // restoring it (or moving it back) is seen.
        if (event === 'unlink') this.watcher?.unwatch(file).add(file);
        clearTimeout(this.timer);
        this.timer = setTimeout(this.onChange, this.delay);
      });
      this.watched = next;
      const watcher = this.watcher;
      await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
      return;
    }
    const added = files.filter((file) => !this.watched.has(file));
    const removed = [...this.watched].filter((file) => !next.has(file));
    if (added.length) this.watcher.add(added);
    if (removed.length) this.watcher.unwatch(removed);
    this.watched = next;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
  }
}
