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
   * shape's critical CSS is made, gets the fonts' preloads and the critical CSS inline, and the
   * bundles' tags at the end of the body: the page paints before they arrive.
   */
  css(nonce?: string, visit?: Visit): { head: string; end: string } {
    const state = this.cssVisit(visit);
    if (state?.held) return { head: this.tags('css', nonce, 'bundles'), end: '' };
    const critical = state && state.store.css(state.key);
    if (critical === undefined) return { head: this.tags('css', nonce), end: '' };
    // A page that uses no rule of its bundles gets no empty <style>.
    const nonceAttribute = nonce ? ` nonce="${escapeHtml(nonce)}"` : '';
    const style = critical && `<style${nonceAttribute}>${critical}</style>`;
    const head = [this.tags('css', nonce, 'fonts'), style].filter(Boolean).join('\n');
    return { head, end: this.tags('css', nonce, 'bundles') };
  }

  /** Adds a render of the page to what its shape's critical CSS is made from. */
  learn(html: string, visit: Visit): void {
    const state = this.cssVisit(visit);
    state?.store.learn(state.key, html, () => stylesheetOf(state.build, state.bundles));
  }

  linkHeader(visit?: Visit): string | undefined {
    const { current, options } = this.source;
    const held = this.cssVisit(visit)?.held;
    return this.required.size ? linkHeader(current, options, this.needs, held) : undefined;
  }

  preloadLinks(visit?: Visit): string[] {
    const { current, options } = this.source;
    const held = this.cssVisit(visit)?.held;
    return this.required.size ? preloadLinks(current, options, this.needs, held) : [];
  }
}
