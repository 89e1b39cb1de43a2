import { randomBytes } from 'node:crypto';
import { AssetMissingError } from '../registry/errors';
import type { Kind } from '../registry/options';
import { nearestNames } from '../registry/nearest';
import type { AssetState } from '../state';
import type { CssVisit, Visit } from './critical';
import { RegistryNeeds } from './registryNeeds';

/**
 * Marks where tags go until the whole page is rendered. Letters, digits and `_` only, so it
 * passes any template engine's escaping unchanged; random per process, so page content cannot
 * forge it. It starts with a `Z`, rare in markup and text: `indexOf` finds a mark by looking for
 * its first character (memchr), so every page is scanned at that speed (a regex, or a mark
 * starting with a common letter, made filling a 5 kB page measurably slower).
 */
const MARK = `Zasset_registry_${randomBytes(8).toString('hex')}_`;
const MARKS: Record<Kind, string> = { css: `${MARK}css`, js: `${MARK}js` };
const KINDS = new Set<unknown>(['css', 'js']);

/**
 * What one page (one response, one e-mail) needs: every requirement made while handling and
 * rendering it, expanded to dependencies. The handler API, the locals helpers and the template
 * tags all go through this one object. A page can draw on several registries (a site's and an
 * admin's, each with its own middleware): a name goes to the first that registers it, and the
 * tags are each registry's in that order, each under its own `publicPath`.
 */
export class PageAssets {
  /**
   * The last unknown name asked for. Template engines wrap errors into their own, and some drop
   * the original; this lets the middleware give the wrapped error its `code` and suggestions.
   */
  missing?: AssetMissingError;
  /** Sends `103 Early Hints` for needs not hinted yet; set by the middleware when enabled. */
  sendHints?: () => void;
  /** What the middleware knows of the visit this page answers (critical CSS reads it). */
  visit?: Visit;
  /** One part per registry, in the order the page was given them. */
  private readonly parts: RegistryNeeds[];
  /** What {@link fill} returned last: filling it again gives it back without a second pass. */
  private filled?: string;
  /** What {@link fill} was given last, for {@link learn}. */
  private rendered?: { html: string; nonce?: string };
  /** Whether the page {@link fill} filled last has css tags: only such a page sends stylesheets. */
  printedCss = false;

  constructor(source: AssetState) {
    this.parts = [new RegistryNeeds(source)];
  }

  /** The registries the page draws on, in the order it was given them. */
  get sources(): readonly AssetState[] {
    return this.parts.map((part) => part.source);
  }

  /** Lets the page draw on another registry too, after those it has. */
  addSource(source: AssetState): void {
    if (this.parts.some((part) => part.source === source)) return;
    this.parts.push(new RegistryNeeds(source));
  }

  /** Every needed asset, dependencies included, of every registry. */
  get needs(): ReadonlySet<string> {
    if (this.parts.length === 1) return this.parts[0].needs;
    return new Set(this.parts.flatMap((part) => [...part.needs]));
  }

  /** The needed assets of one of the page's registries, dependencies included. */
  needsOf(source: AssetState): ReadonlySet<string> {
    return this.parts.find((part) => part.source === source)?.needs ?? new Set();
  }

  /**
   * Records that the page needs `names` (and their dependencies); a list counts as its names.
   * Throws `AssetMissingError` for an unregistered name, `TypeError` for one that is no string.
   */
  require(...names: unknown[]): void {
    const flat = names.some(Array.isArray) ? names.flat() : names;
    for (let i = 0; i < flat.length; i++) {
      const name = flat[i];
      if (typeof name !== 'string') {
        throw new TypeError(`Asset names must be strings; argument ${i + 1} is ${describe(name)}`);
      }
      const part = this.parts.find((candidate) => candidate.source.registry.has(name));
      if (!part) throw (this.missing = new AssetMissingError(name, this.suggest(name)));
      if (!part.required.has(name)) part.add(name);
    }
  }

  /** A mark that {@link fill} replaces with the tags of `kind`, once the page is complete. */
  placeholder(kind: unknown): string {
    return placeholder(kind);
  }

  /** The tags of `kind` for what the page needs so far. */
  tags(kind: Kind, nonce?: string): string {
    return this.parts
      .map((part) => part.tags(kind, nonce))
      .filter(Boolean)
      .join('\n');
  }

  /** Replaces the marks in a rendered page with the tags of everything the page needed. */
  fill(html: string, nonce?: string): string {
    if (html === this.filled) return html;
    this.rendered = { html, nonce };
    this.printedCss = false;
    return (this.filled = this.filledText(html, nonce));
  }

  /** `Link` header values preloading the bundles the page needs. */
  preloadLinks(): string[] {
    return this.parts.flatMap((part) => part.preloadLinks(this.visit));
  }

  /** The same as one `Link` header value (comma-separated), undefined when nothing is needed. */
  linkHeader(): string | undefined {
    const values = this.parts.map((part) => part.linkHeader(this.visit)).filter(Boolean);
    return values.length ? values.join(', ') : undefined;
  }

  /** The page's CSS bundles as the visitor holds them, of each registry with critical CSS on. */
  cssVisits(): CssVisit[] {
    return this.parts.flatMap((part) => part.cssVisit(this.visit) ?? []);
  }

  /**
   * Adds the page last filled to what its shape's critical CSS is made from (after the
   * response): as rendered, before its tags went in and without its nonce, so that renders that
   * differ only there count as one.
   */
  learn(): void {
    if (!this.visit || !this.rendered) return;
    const { html, nonce } = this.rendered;
    const page = nonce ? html.replaceAll(nonce, '') : html;
    for (const part of this.parts) part.learn(page, this.visit);
  }

  /**
   * The page with its marks filled, in one pass; each kind's tags are made once. Tags that go
   * at the end of the body (critical CSS's stylesheets) go before the last `</body>`, or at the
   * very end of a page with no `</body>` after its last mark.
   */
  private filledText(html: string, nonce?: string): string {
    let at = html.indexOf(MARK);
    if (at === -1) return html;
    let css: { head: string; end: string } | undefined;
    let js: string | undefined;
    let filled = '';
    let done = 0;
    while (at !== -1) {
      const after = at + MARK.length;
      const kind = html.startsWith('css', after) ? 'css' : html.startsWith('js', after) ? 'js' : '';
      if (kind) {
        const tags =
          kind === 'css' ? (css ??= this.css(nonce)).head : (js ??= this.tags('js', nonce));
        if (kind === 'css') this.printedCss = true;
        filled += html.slice(done, at) + tags;
        done = after + kind.length;
      }
      at = html.indexOf(MARK, after);
    }
    if (!css?.end) return filled + html.slice(done);
    // Looked for in the page as rendered, a flat string: searching the filled one would first
    // copy it whole (15 kB, 30 kB of memory with a non-Latin-1 character) into a flat string.
    const end = html.lastIndexOf('</body>');
    return end < done
      ? `${filled}${html.slice(done)}${css.end}`
      : `${filled}${html.slice(done, end)}${css.end}\n${html.slice(end)}`;
  }

  /** Each registry's CSS tags, for the css mark and for the end of the body. */
  private css(nonce?: string): { head: string; end: string } {
    const tags = this.parts.map((part) => part.css(nonce, this.visit));
    const join = (texts: string[]) => texts.filter(Boolean).join('\n');
    return { head: join(tags.map((t) => t.head)), end: join(tags.map((t) => t.end)) };
  }

  /** The registered names nearest to `name`, of all the page's registries. */
  private suggest(name: string): string[] {
    return nearestNames(
      name,
      this.parts.flatMap((part) => part.source.registry.suggest(name)),
    );
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

/** The CSP nonce in a response's locals (`cspNonce`), if any. */
export function nonceIn(locals: Record<string, unknown> | undefined): string | undefined {
  const nonce = locals?.cspNonce;
  return typeof nonce === 'string' && nonce ? nonce : undefined;
}

/** The page state of a response's locals, if a middleware of this library put one there. */
export function pageIn(locals: Record<string, unknown> | undefined): PageAssets | undefined {
  const page = locals?.pageAssets;
  return page instanceof PageAssets ? page : undefined;
}
