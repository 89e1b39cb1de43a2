import path from 'node:path';
import { AssetBuildError } from '../registry/errors';
import { contentHash } from '../build/hash';
import { displayName, isInside } from '../registry/loadPath';

/** `url(...)` with a double-quoted, single-quoted or bare argument. */
export const URL_PATTERN =
  /url\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|([^"'()\s]*))\s*\)/g;

/** URLs that point at no file of ours: data, any scheme, protocol- or root-relative, fragments. */
const LEAVE_ALONE = /^(?:[a-z][a-z0-9+.-]*:|\/|#|$)/i;

export interface UrlRewrite {
  css: string;
  /** Referenced files, by absolute path, with the content-hashed name they get in `outDir`. */
  copies: { from: string; name: string }[];
}

export interface UrlContext {
  /** The asset being built. */
  asset: string;
  /** Folder that relative URLs in `css` are relative to. */
  baseDir: string;
  roots: readonly string[];
  urlPrefix: string;
  read(file: string): Promise<Buffer | undefined>;
  /** Where the code at `offset` of `css` came from, for errors. */
  origin(offset: number): { file: string; line?: number; column?: number };
}

/**
 * Rewrites every relative `url()` of a stylesheet to a content-hashed copy of the file it names,
 * so the CSS works from wherever it is served (a CDN, another path) and the file can be cached
 * forever. A URL to a file that does not exist is a build error naming both files.
 */
export async function rewriteUrls(css: string, context: UrlContext): Promise<UrlRewrite> {
  const copies = new Map<string, string>();
  const found = [...css.matchAll(URL_PATTERN)];
  const replacements: string[] = [];
  for (const match of found) {
    const written = match[1] ?? match[2] ?? match[3] ?? '';
    if (LEAVE_ALONE.test(written)) {
      replacements.push(match[0]);
      continue;
    }
    const cut = written.search(/[?#]/);
    const target = cut === -1 ? written : written.slice(0, cut);
    const tail = cut === -1 ? '' : written.slice(cut);
    const file = path.resolve(context.baseDir, safeDecode(target));
    const fail = (why: string) => {
      const origin = context.origin(match.index);
      return new AssetBuildError(
        `url(${JSON.stringify(written)}) ${why}`,
        context.asset,
        origin.file,
        origin.line,
        origin.column,
      );
    };
    if (!context.roots.some((root) => isInside(file, root))) {
      throw fail(`points outside the load path (${displayName(file, context.roots)})`);
    }
    const data = await context.read(file);
    if (!data) throw fail(`points to a missing file: ${displayName(file, context.roots)}`);
    const extension = path.extname(file);
    // Only safe characters in output names: they go into URLs and file systems unescaped.
    const stem = path.basename(file, extension).replace(/[^A-Za-z0-9_-]/g, '-');
    const name = `${stem}.${contentHash(data)}${extension.replace(/[^A-Za-z0-9.]/g, '')}`;
    copies.set(file, name);
    replacements.push(`url("${context.urlPrefix}${name}${tail}")`);
  }
  let index = 0;
  return {
    css: css.replace(URL_PATTERN, () => replacements[index++]),
    copies: [...copies].map(([from, name]) => ({ from, name })),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
