import type { ResolvedAsset } from '../registry/options';
import { AssetBuildError } from '../registry/errors';
import { compileScript } from './javascript';
import { compileStylesheet } from './stylesheet';
import type { Compiled, CompileSettings } from './types';

/** Compiles one asset by its kind, after checking its size and that it is UTF-8. */
export async function compileAsset(
  asset: ResolvedAsset,
  file: string,
  data: Buffer,
  settings: CompileSettings,
  read: (file: string) => Promise<Buffer | undefined>,
): Promise<Compiled> {
  const most = settings.maxBytes?.[asset.kind] ?? Infinity;
  if (data.length > most) {
    const bytes = (count: number) => count.toLocaleString('en-US');
    throw new AssetBuildError(
      `the file is ${bytes(data.length)} B, over the ${bytes(most)} B that one ${asset.kind} ` +
        `source may have (raise maxSourceBytes.${asset.kind} to build it anyway)`,
      asset.name,
      asset.name,
    );
  }
  const text = decode(asset.name, data);
  return asset.kind === 'js'
    ? compileScript(asset.name, text, settings)
    : compileStylesheet(asset.name, file, text, settings, read);
}

/** Sources must be UTF-8: a byte sequence that is not is named, not silently replaced. */
function decode(name: string, data: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(data);
  } catch {
    // A streaming decode leaves out a sequence cut short at the end: the bad one's first byte.
    const valid = data.subarray(0, firstInvalidUtf8(data));
    const before = new TextDecoder('utf-8').decode(valid, { stream: true });
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    throw new AssetBuildError('the file is not valid UTF-8', name, name, line, column);
  }
}

function firstInvalidUtf8(data: Buffer): number {
  let low = 0;
  let high = data.length;
  const valid = (end: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (valid(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}
