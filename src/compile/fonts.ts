import { URL_PATTERN } from './urls';

/** A font that a stylesheet's `@font-face` rule makes the browser fetch. */
export interface FontReference {
  /** The URL as the stylesheet writes it. */
  url: string;
  /** Its MIME type, for a preload's `type`: a browser skips a preload of a type it cannot use. */
  type: string;
}

const TYPES: Record<string, string> = {
  woff2: 'font/woff2',
  woff: 'font/woff',
  truetype: 'font/ttf',
  ttf: 'font/ttf',
};

const FONT_FACE = /@font-face\s*\{([^}]*)\}/gi;
const SRC = /(?:^|;)\s*src\s*:((?:[^;"']|"[^"]*"|'[^']*')*)/gi;

/**
 * The font of each `@font-face` of `css` that a current browser fetches: its woff2, else the
 * first woff or ttf of its `src` (eot and svg are for browsers long gone). A face that may come
 * from the visitor's own fonts (`local()`) or only for some characters (`unicode-range`) is left
 * out: preloading it could fetch bytes the page never uses.
 */
export function fontFaces(css: string): FontReference[] {
  const fonts = new Map<string, FontReference>();
  for (const [, body] of css.matchAll(FONT_FACE)) {
    if (/unicode-range\s*:/i.test(body)) continue;
    const src = [...body.matchAll(SRC)].pop()?.[1]; // the last `src` wins, as in the cascade
    if (!src || /\blocal\(/i.test(src)) continue;
    const candidates = [...src.matchAll(URL_PATTERN)].flatMap((match) => {
      const url = match[1] ?? match[2] ?? match[3] ?? '';
      const after = src.slice(match.index + match[0].length);
      const format = /^\s*format\(\s*["']?([\w-]+)/i.exec(after)?.[1] ?? extensionOf(url);
      const type = TYPES[format.toLowerCase()];
      return type && !/^data:/i.test(url) ? [{ url, type }] : [];
    });
    const chosen = candidates.find((font) => font.type === TYPES.woff2) ?? candidates[0];
    if (chosen) fonts.set(chosen.url, chosen);
  }
  return [...fonts.values()];
}

function extensionOf(url: string): string {
  return /\.(\w+)(?:[?#]|$)/.exec(url)?.[1] ?? '';
}
