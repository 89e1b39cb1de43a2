import { sha256 } from './hash';
import { readFile } from './output';

/** Every file a build reads, read once and hashed once. */
export class SourceFiles {
  private readonly data = new Map<string, Promise<Buffer | undefined>>();
  private readonly sha = new Map<string, string>();
  private readonly sizes = new Map<string, number>();

  read(file: string): Promise<Buffer | undefined> {
    let data = this.data.get(file);
    if (!data) {
      data = readFile(file).then(
        (bytes) => (this.sizes.set(file, bytes.length), bytes),
        () => undefined,
      );
      this.data.set(file, data);
    }
    return data;
  }

  async hash(file: string): Promise<string | undefined> {
    const data = await this.read(file);
    if (!data) return undefined;
    let hash = this.sha.get(file);
    if (!hash) {
      hash = sha256(data);
      this.sha.set(file, hash);
    }
    return hash;
  }

  /** Bytes of a file already read, 0 for one that is not. */
  size(file: string): number {
    return this.sizes.get(file) ?? 0;
  }
}
