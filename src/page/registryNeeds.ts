import { cssVisitOf, stylesheetOf } from './critical';
import type { CssVisit, Visit } from './critical';
import type { Kind } from '../registry/options';
import type { AssetState } from '../state';
import { escapeHtml, linkHeader, preloadLinks, tagsFor } from './tags';
import type { TagParts } from './tags';

/** The needs of one page in one registry. */
export class RegistryNeeds {
  /** The names required, as given: checked at once, expanded to dependencies when read. */
  readonly required = new Set<string>();
  private expanded?: ReadonlySet<string>;
  /** Its CSS bundles as the visitor holds them (null: no critical CSS), made when first read. */
  private visited?: CssVisit | null;

  constructor(readonly source: AssetState) {}

  get needs(): ReadonlySet<string> {
    this.expanded ??= this.source.registry.expand([...this.required]);
    return this.expanded;
  }

  add(name: string): void {
    this.required.add(name);
    this.expanded = this.visited = undefined;
  }

  /** With critical CSS on: the page's CSS bundles of this registry as the visitor holds them. */
  cssVisit(visit?: Visit): CssVisit | undefined {
    if (!visit || !this.required.size) return undefined;
    if (this.visited === undefined)
      this.visited = cssVisitOf(this.source, this.needs, visit) ?? null;
    return this.visited ?? undefined;
  }

  tags(kind: Kind, nonce?: string, parts?: TagParts): string {
    const { current, options } = this.source;
    return this.required.size ? tagsFor(current, options, this.needs, kind, nonce, parts) : '';
  }

  /**
   * The CSS tags where the css mark stands, and those for the end of the body. A visitor who
   * holds the bundles gets their tags without the fonts' preloads. A first visit, once the page
   * shape's critical CSS is made, gets the critical CSS inline, and the fonts' preloads and the
   * bundles' tags at the end of the body: the page paints before they arrive. (Chromium holds
   * the first paint back, up to 100 ms, for a font preloaded before the `<body>`; on a slow link
   * the font cannot arrive in that time, so that paint would only wait.)
   */
  css(nonce?: string, visit?: Visit): { head: string; end: string } {
    const state = this.cssVisit(visit);
    if (state?.held) return { head: this.tags('css', nonce, 'bundles'), end: '' };
    const critical = state && state.store.css(state.key);
    if (critical === undefined) return { head: this.tags('css', nonce), end: '' };
    // A page that uses no rule of its bundles gets no empty <style>.
    const nonceAttribute = nonce ? ` nonce="${escapeHtml(nonce)}"` : '';
    const head = critical && `<style${nonceAttribute}>${critical}</style>`;
    return { head, end: this.tags('css', nonce) };
  }

  /** Adds a render of the page to what its shape's critical CSS is made from. */
  learn(html: string, visit: Visit): void {
    const state = this.cssVisit(visit);
    state?.store.learn(state.key, html, () => stylesheetOf(state.build, state.bundles));
  }

  linkHeader(visit?: Visit): string | undefined {
    const { current, options } = this.source;
    if (!this.required.size) return undefined;
    return linkHeader(current, options, this.needs, this.linkParts(visit));
  }

  preloadLinks(visit?: Visit): string[] {
    const { current, options } = this.source;
    if (!this.required.size) return [];
    return preloadLinks(current, options, this.needs, this.linkParts(visit));
  }

  /**
   * Whether the `Link` preloads name the fonts: not when the browser holds the stylesheets, nor
   * when the page inlines its critical CSS (a font in a `Link` header is found before the
   * `<body>`, so it would hold the first paint back as in {@link css}).
   */
  private linkParts(visit?: Visit): TagParts {
    const state = this.cssVisit(visit);
    if (!state) return 'all';
    return state.held || state.store.css(state.key) !== undefined ? 'bundles' : 'all';
  }
}
