import type { Build } from './built';
import type { ManifestBundle } from './manifest';
import type { Kind } from './options';

/** How a build's files are announced: fixed per build, so computed once per build. */
interface TagTable {
  /** For each asset, the index in `build.bundles` of the bundle that holds it. */
  bundleOf: Map<string, number>;
  /** Each bundle's tag, split where a per-request nonce goes. */
  tags: { before: string; after: string }[];
  /** Each bundle's `Link` header value for a preload. */
  links: string[];
  /** The bundles chosen for each set of needs already seen. */
  chosen: WeakMap<ReadonlySet<string>, number[]>;
}

const tables = new WeakMap<Build, TagTable>();

function tableOf(build: Build, publicPath: string): TagTable {
  let table = tables.get(build);
  if (table) return table;
  const crossOrigin = /^https?:\/\//.test(publicPath);
  const bundleOf = new Map<string, number>();
  build.bundles.forEach((bundle, i) => {
    for (const member of bundle.members) bundleOf.set(member.asset, i);
  });
  table = {
    bundleOf,
    tags: build.bundles.map((bundle) => tagParts(bundle, crossOrigin)),
    links: build.bundles.map((bundle) => linkOf(bundle, crossOrigin)),
    chosen: new WeakMap(),
  };
  tables.set(build, table);
  return table;
}

/** Indexes in `build.bundles`, in load order, of the bundles of `kind` that hold any of `needs`. */
export function bundlesFor(
  build: Build,
  publicPath: string,
  needs: ReadonlySet<string>,
  kind?: Kind,
): number[] {
  const table = tableOf(build, publicPath);
  // The registry hands out one set per combination of requirements: choose once per set.
  let all = table.chosen.get(needs);
  if (!all) {
    const chosen = new Set<number>();
    for (const name of needs) {
      const index = table.bundleOf.get(name);
      if (index !== undefined) chosen.add(index);
    }
    all = [...chosen].sort((a, b) => a - b);
    table.chosen.set(needs, all);
  }
  return kind ? all.filter((i) => build.bundles[i].kind === kind) : all;
}

/** The `<link>`/`<script>` tags of the bundles of `kind` that hold what the page needs. */
export function tagsFor(
  build: Build,
  publicPath: string,
  needs: ReadonlySet<string>,
  kind: Kind,
  nonce?: string,
): string {
  const { tags } = tableOf(build, publicPath);
  const nonceAttribute = nonce ? ` nonce="${escapeHtml(nonce)}"` : '';
  return bundlesFor(build, publicPath, needs, kind)
    .map((i) => `${tags[i].before}${nonceAttribute}${tags[i].after}`)
    .join('\n');
}

/** `Link` header values that preload the bundles the page needs, styles first. */
export function preloadLinks(
  build: Build,
  publicPath: string,
  needs: ReadonlySet<string>,
): string[] {
  const { links } = tableOf(build, publicPath);
  const chosen = bundlesFor(build, publicPath, needs);
  const byKind = (kind: Kind) =>
    chosen.filter((i) => build.bundles[i].kind === kind).map((i) => links[i]);
  return [...byKind('css'), ...byKind('js')];
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
  // Escapes what may not stand in a URL (spaces, quotes, "<", ">", "é") and keeps what is already
  // escaped: `%23` in a name must stay `%23`, as in the tag.
  const url = bundle.url.replace(/[^\w\-.!~*'();/?:@&=+$,#%]+/g, encodeURI);
  return `<${url}>; rel=preload; as=${as}${crossOrigin ? '; crossorigin=anonymous' : ''}; integrity="${bundle.integrity}"`;
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
