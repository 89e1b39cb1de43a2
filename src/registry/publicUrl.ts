import { isNonEmptyString } from './entries';

/** `publicPath` resolved once, for serving, tags and development mode. */
export interface PublicUrl {
  /** Its URL path, where the middleware serves the bundles: `/assets/` for `https://cdn.example.com/assets/`. */
  readonly path: string;
  /** The origin of a CDN URL (`https://cdn.example.com`); undefined for a path on the app's own. */
  readonly origin?: string;
  /**
   * Whether the bundles are on another origin: tags and preloads then carry `crossorigin` (for
   * SRI), and the middleware answers with CORS for the CDN that pulls from it.
   */
  readonly crossOrigin: boolean;
}

/**
 * Checks `publicPath`: a path from the root (`/assets/`) or an absolute http(s) URL, whose `%`
 * escapes are whole. Returns it as given.
 */
export function checkPublicPath(publicPath: unknown): string {
  if (
    !isNonEmptyString(publicPath) ||
    !/^(\/|https?:\/\/[^/]+\/)/.test(publicPath) ||
    !isDecodable(publicPath)
  ) {
    throw new TypeError(
      'Option "publicPath" must start with "/" or be an absolute http(s) URL, e.g. "/assets/"' +
        ', with "%" only in escapes like "%20"',
    );
  }
  return publicPath;
}

export /** A checked `publicPath` (a path, or an absolute http(s) URL) as its parts. */
function resolvePublicUrl(publicPath: string): PublicUrl {
  const crossOrigin = /^https?:\/\//.test(publicPath);
  const url = new URL(publicPath, 'http://localhost');
  return Object.freeze({
    path: url.pathname,
    origin: crossOrigin ? url.origin : undefined,
    crossOrigin,
  });
}

/** Whether a URL's escapes are whole and its text is well-formed, so it can be encoded. */
function isDecodable(url: string): boolean {
  try {
    decodeURI(url);
    encodeURI(url);
    return true;
  } catch {
    return false;
  }
}
