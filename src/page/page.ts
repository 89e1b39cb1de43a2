import { randomBytes } from 'node:crypto';
import type { Build } from '../build/loaded';
import { AssetMissingError } from '../registry/errors';
import type { Kind } from '../registry/options';
import type { Registry } from '../registry/registry';
import { linkHeader, preloadLinks, tagsFor } from './tags';

/**
 * Marks where tags go until the whole page is rendered. Letters, digits and `_` only, so it
 * passes any template engine's escaping unchanged; random per process, so page content cannot
 * forge it. It starts with a `Z`, rare in markup and text: `indexOf` finds a mark by looking for
 * its first character (memchr), so every page is scanned at that speed (a regex, or a mark
 * starting with a common letter, cost a 5 kB page 15,000-24,000 instructions more).
 */
const MARK = `Zasset_registry_${randomBytes(8).toString('hex')}_`;
const MARKS: Record<Kind, string> = { css: `${MARK}css`, js: `${MARK}js` };
const KINDS = new Set<unknown>(['css', 'js']);

/**
 * The page whose template is being rendered right now, for template code that cannot see the
 * page's variables (a nunjucks macro imported without context, say). Template engines render
 * synchronously once their files are loaded, so the middleware sets it around `res.render`'s
 * call (an AsyncLocalStorage would cost every request of the app its async hooks).
 */
export const rendering: { page?: PageAssets } = {};

/**
 * What one page (one response, one e-mail) needs: every requirement made while handling and
 * rendering it, expanded to dependencies. The handler API, the locals helpers and the template
 * tags all go through this one object.
 */
export class PageAssets {
  /**
   * The last unknown name asked for. Template engines wrap errors into their own, and some drop
   * the original; this lets the middleware give the wrapped error its `code` and suggestions.
   */
  missing?: AssetMissingError;
  /** Sends `103 Early Hints` for needs not hinted yet; set by the middleware when enabled. */
  sendHints?: () => void;
  /** The names required, as given: checked at once, expanded to dependencies when read. */
  private readonly required = new Set<string>();
  private expanded?: ReadonlySet<string>;
  /** What {@link fill} returned last: filling it again gives it back without a second pass. */
  private filled?: string;

  constructor(
    private readonly registry: Registry,
    private readonly currentBuild: () => Build,
    private readonly publicPath: string,
  ) {}

  /** Every needed asset, dependencies included. */
  get needs(): ReadonlySet<string> {
    this.expanded ??= this.registry.expand([...this.required]);
    return this.expanded;
  }

  /**
   * Records that the page needs `names` (and their dependencies); a list counts as its names.
   * Throws `AssetMissingError` for an unregistered name, `TypeError` for one that is no string.
   */
  require(...names: unknown[]): void {
    // A handler's call is a few strings: flatten only when a list was passed.
    const flat = names.some(Array.isArray) ? names.flat() : names;
    for (let i = 0; i < flat.length; i++) {
      const name = flat[i];
      if (typeof name !== 'string') {
        throw new TypeError(`Asset names must be strings; argument ${i + 1} is ${describe(name)}`);
      }
      if (this.required.has(name)) continue;
      if (!this.registry.has(name)) {
        throw (this.missing = new AssetMissingError(name, this.registry.suggest(name)));
      }
      this.required.add(name);
      this.expanded = undefined;
    }
  }

  /** A mark that {@link fill} replaces with the tags of `kind`, once the page is complete. */
  placeholder(kind: unknown): string {
    return placeholder(kind);
  }

  /** The tags of `kind` for what the page needs so far. */
  tags(kind: Kind, nonce?: string): string {
    return tagsFor(this.currentBuild(), this.publicPath, this.needs, kind, nonce);
  }

  /** Replaces the marks in a rendered page with the tags of everything the page needed. */
  fill(html: string, nonce?: string): string {
    if (html === this.filled) return html;
    return (this.filled = this.pieces(html, nonce)?.join('') ?? html);
  }

  /**
   * The page filled, as the UTF-8 bytes that `Buffer.from(fill(html))` gives, for the middleware:
   * Express makes a page of 1,000 characters or more that it sends as a string into a `Buffer`
   * anyway; made from the page's pieces, the filled page is never a string of its own (a 5 kB
   * page allocates 5 kB less, which the garbage collector would otherwise sweep on every
   * request). Undefined for a page without marks, one {@link fill} returned, and one that is
   * shorter filled than 1,000 characters (Express may send those as strings).
   * @internal
   */
  bytes(html: string, nonce?: string): Buffer | undefined {
    const pieces = html === this.filled ? undefined : this.pieces(html, nonce);
    if (!pieces) return undefined;
    let characters = 0;
    for (const piece of pieces) characters += piece.length;
    if (characters < 1000) return undefined;
    let length = 0;
    for (const piece of pieces) length += Buffer.byteLength(piece);
    const bytes = Buffer.allocUnsafe(length);
    let at = 0;
    for (const piece of pieces) at += bytes.write(piece, at);
    return bytes;
  }

  /**
   * The page cut at its marks, each mark's tags in its place; undefined when it has none. Text
   * around a mark without tags stays one piece: the two halves of a character (a surrogate pair)
   * on either side of it must meet again.
   */
  private pieces(html: string, nonce?: string): string[] | undefined {
    let at = html.indexOf(MARK);
    if (at === -1) return undefined;
    // One pass over the page; each kind's tags are made once, however many marks there are.
    let css: string | undefined;
    let js: string | undefined;
    const pieces: string[] = [];
    let text = '';
    let done = 0;
    while (at !== -1) {
      const after = at + MARK.length;
      const kind = html.startsWith('css', after) ? 'css' : html.startsWith('js', after) ? 'js' : '';
      if (kind) {
        const tags =
          kind === 'css' ? (css ??= this.tags('css', nonce)) : (js ??= this.tags('js', nonce));
        text += html.slice(done, at);
        if (tags) {
          pieces.push(text, tags);
          text = '';
        }
        done = after + kind.length;
      }
      at = html.indexOf(MARK, after);
    }
    pieces.push(text + html.slice(done));
    return pieces;
  }

  /** `Link` header values preloading the bundles the page needs. */
  preloadLinks(): string[] {
    return this.required.size ? preloadLinks(this.currentBuild(), this.publicPath, this.needs) : [];
  }

  /** The same as one `Link` header value (comma-separated), undefined when nothing is needed. */
  linkHeader(): string | undefined {
    return this.required.size
      ? linkHeader(this.currentBuild(), this.publicPath, this.needs)
      : undefined;
  }
}

/** The mark of `kind`'s tags: the same for every page, filled in by each page's own `fill`. */
export function placeholder(kind: unknown): string {
  if (!KINDS.has(kind)) {
    throw new TypeError(`Asset tags take "css" or "js", not ${describe(kind)}`);
  }
  return MARKS[kind as Kind];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object'
    ? `an ${Array.isArray(value) ? 'array' : 'object'}`
    : `the ${typeof value} ${String(value)}`;
}

/** The CSP nonce the app set for this response, if any. */
export function nonceOf(res: { locals: Record<string, unknown> }): string | undefined {
  return nonceIn(res.locals);
}

/** The CSP nonce in a response's locals (`cspNonce`), if any. */
export function nonceIn(locals: Record<string, unknown> | undefined): string | undefined {
  const nonce = locals?.cspNonce;
  return typeof nonce === 'string' && nonce ? nonce : undefined;
}
