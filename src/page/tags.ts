import type { Build } from '../build/loaded';
import type { ManifestBundle } from '../build/manifest';
import type { Kind } from '../registry/options';

/** What of the (resolved) options decides how a build's files are announced. */
export interface TagOptions {
  readonly publicUrl: { readonly crossOrigin: boolean };
  readonly preloadFonts: boolean;
}

/** How a build's files are announced: fixed per build, so computed once per build. */
interface TagTable {
  /** For each asset, the index in `build.bundles` of the bundle that holds it. */
  bundleOf: Map<string, number>;
  /** Each bundle's tag, split where a per-request nonce goes. */
  tags: { before: string; after: string }[];
  /** Each bundle's `Link` header value for a preload. */
  links: string[];
  /** Each bundle's font preloads (CSS only, with `preloadFonts`): a `<link>` and a `Link` value each. */
  fonts: { tag: string; link: string }[][];
  /** What each set of needs already seen gets: the registry hands out one set per combination. */
  chosen: WeakMap<ReadonlySet<string>, Chosen>;
}

/** The bundles chosen for one set of needs, and what is printed for them without a nonce. */
interface Chosen {
  bundles: number[];
  /** By kind and {@link TagParts} (`css:all`). */
  tags: Record<string, string>;
  /** With the fonts' preloads (`all`), and without (`bundles`). */
  links: { all?: string[]; bundles?: string[] };
  linkHeader: { all?: string; bundles?: string };
}

/** Which of a kind's tags: all, or for CSS only its bundles' (no fonts' preloads). */
export type TagParts = 'all' | 'bundles';

const tables = new WeakMap<Build, TagTable>();

/**
 * The tag table of a build. `publicUrl.crossOrigin`: whether the bundles are on another origin
 * than the page (a CDN), so that tags and preloads carry `crossorigin` (the same for every page
 * of a build).
 */
function tableOf(build: Build, options: TagOptions): TagTable {
  let table = tables.get(build);
  if (table) return table;
  const { crossOrigin } = options.publicUrl;
  const bundleOf = new Map<string, number>();
  build.bundles.forEach((bundle, i) => {
    for (const member of bundle.members) bundleOf.set(member.asset, i);
  });
  table = {
    bundleOf,
    tags: build.bundles.map((bundle) => tagParts(bundle, crossOrigin)),
    links: build.bundles.map((bundle) => linkOf(bundle, crossOrigin)),
    fonts: build.bundles.map((bundle) => (options.preloadFonts ? fontPreloads(bundle) : [])),
    chosen: new WeakMap(),
  };
  tables.set(build, table);
  return table;
}

/** Indexes in `build.bundles`, in load order, of the bundles of `kind` that hold any of `needs`. */
export function bundlesFor(
  build: Build,
  options: TagOptions,
  needs: ReadonlySet<string>,
  kind?: Kind,
): number[] {
  const all = chosenFor(tableOf(build, options), needs).bundles;
  return kind ? all.filter((i) => build.bundles[i].kind === kind) : all;
}

function chosenFor(table: TagTable, needs: ReadonlySet<string>): Chosen {
  let chosen = table.chosen.get(needs);
  if (!chosen) {
    const bundles = new Set<number>();
    for (const name of needs) {
      const index = table.bundleOf.get(name);
      if (index !== undefined) bundles.add(index);
    }
    chosen = { bundles: [...bundles].sort((a, b) => a - b), tags: {}, links: {}, linkHeader: {} };
    table.chosen.set(needs, chosen);
  }
  return chosen;
}

/**
 * The `<link>`/`<script>` tags of the bundles of `kind` that hold what the page needs; for CSS,
 * first the preloads of their fonts (a preload needs no nonce: CSP's `font-src` governs it).
 * `parts`: `bundles` leaves the fonts' preloads out.
 */
export function tagsFor(
  build: Build,
  options: TagOptions,
  needs: ReadonlySet<string>,
  kind: Kind,
  nonce?: string,
  parts: TagParts = 'all',
): string {
  const table = tableOf(build, options);
  const chosen = chosenFor(table, needs);
  const key = `${kind}:${parts}`;
  if (!nonce && chosen.tags[key] !== undefined) return chosen.tags[key];
  const nonceAttribute = nonce ? ` nonce="${escapeHtml(nonce)}"` : '';
  const bundles = bundlesFor(build, options, needs, kind);
  const fonts = parts === 'bundles' ? [] : fontsOf(table, bundles);
  const printed = [
    ...fonts.map((font) => font.tag),
    ...bundles.map((i) => `${table.tags[i].before}${nonceAttribute}${table.tags[i].after}`),
  ].join('\n');
  if (!nonce) chosen.tags[key] = printed;
  return printed;
}

/**
 * `Link` header values that preload the bundles the page needs: styles, their fonts, scripts.
 * `parts`: `bundles` leaves the fonts out (see {@link RegistryNeeds.linkParts}).
 */
export function preloadLinks(
  build: Build,
  options: TagOptions,
  needs: ReadonlySet<string>,
  parts: TagParts = 'all',
): string[] {
  const table = tableOf(build, options);
  const chosen = chosenFor(table, needs);
  if (!chosen.links[parts]) {
    const ofKind = (kind: Kind) => chosen.bundles.filter((i) => build.bundles[i].kind === kind);
    chosen.links[parts] = [
      ...ofKind('css').map((i) => table.links[i]),
      ...(parts === 'all' ? fontsOf(table, ofKind('css')).map((font) => font.link) : []),
      ...ofKind('js').map((i) => table.links[i]),
    ];
  }
  return [...chosen.links[parts]];
}

/** The `Link` header preloading the bundles the page needs: one field, made once per needs. */
export function linkHeader(
  build: Build,
  options: TagOptions,
  needs: ReadonlySet<string>,
  parts: TagParts = 'all',
): string | undefined {
  const chosen = chosenFor(tableOf(build, options), needs);
  chosen.linkHeader[parts] ??= preloadLinks(build, options, needs, parts).join(', ');
  return chosen.linkHeader[parts] || undefined;
}

function tagParts(bundle: ManifestBundle, crossOrigin: boolean): { before: string; after: string } {
  const href = escapeHtml(bundle.url);
  const checks = ` integrity="${escapeHtml(bundle.integrity)}"${crossOrigin ? ' crossorigin="anonymous"' : ''}`;
  return bundle.kind === 'css'
    ? { before: `<link rel="stylesheet" href="${href}"${checks}`, after: '>' }
    : { before: `<script src="${href}" defer${checks}`, after: '></script>' };
}

function linkOf(bundle: ManifestBundle, crossOrigin: boolean): string {
  // A preload is only reused by the tag when URL, crossorigin and integrity all match.
  const as = bundle.kind === 'css' ? 'style' : 'script';
  return `<${linkUrl(bundle.url)}>; rel=preload; as=${as}${crossOrigin ? '; crossorigin=anonymous' : ''}; integrity="${bundle.integrity}"`;
}

/**
 * A CSS bundle's font preloads. Always `crossorigin`: browsers fetch fonts in CORS mode, even
 * from the page's own origin, and a preload in another mode would not be reused (a 2nd fetch).
 */
function fontPreloads(bundle: ManifestBundle): { tag: string; link: string }[] {
  return (bundle.fonts ?? []).map(({ url, type }) => ({
    tag: `<link rel="preload" href="${escapeHtml(url)}" as="font" type="${type}" crossorigin>`,
    link: `<${linkUrl(url)}>; rel=preload; as=font; type=${type}; crossorigin`,
  }));
}

/** The font preloads of `bundles`, each font once (two bundles may use the same file). */
function fontsOf(table: TagTable, bundles: readonly number[]): { tag: string; link: string }[] {
  const fonts = new Map(bundles.flatMap((i) => table.fonts[i]).map((font) => [font.link, font]));
  return [...fonts.values()];
}

/**
 * Escapes what may not stand in a URL (spaces, quotes, "<", ">", "é") and keeps what is already
 * escaped: `%23` in a name must stay `%23`, as in the tag.
 */
function linkUrl(url: string): string {
  return url.replace(/[^\w\-.!~*'();/?:@&=+$,#%]+/g, encodeURI);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]);
}
