import type { Request, Response } from 'express';
import type { Visit } from '../page/critical';
import type { PageAssets } from '../page/page';

/** The cookie that lists the CSS bundles a browser holds (critical CSS): see docs/critical-css.md. */
export const HELD_COOKIE = 'asset_css';
/** At most this many bundles are listed, the page's own first: the cookie stays under 110 bytes. */
const HELD_MAX = 8;
/** The cookie's lifetime: 30 days, well within the bundles' cache lifetime (a year). */
const HELD_SECONDS = 30 * 24 * 3600;
const TOKENS = new RegExp(`(?:^|;)\\s*${HELD_COOKIE}=([\\w.-]*)`);

/** The visit a request makes, as critical CSS reads it: the cookie is read when first asked. */
export function visitOf(req: Request): Visit {
  let held: ReadonlySet<string> | undefined;
  return {
    get held() {
      const header = req.headers.cookie;
      held ??= new Set(header ? TOKENS.exec(header)?.[1].split('.') : []);
      return held;
    },
    shape: '',
  };
}

/**
 * For a page whose registries inline critical CSS: `Vary: Cookie`, as the page depends on the
 * cookie (no HTTP cache may give a first visit's page to a returning visitor, or the reverse);
 * on a first visit, the cookie that lists the page's CSS bundles as held from now on; and,
 * once the response is sent, the page to learn its shape's critical CSS from.
 */
export function answerVisit(req: Request, res: Response, page: PageAssets): void {
  const visit = page.visit!;
  // Once per response, and only for a page whose css tags went in: a JSON answer or a page that
  // prints no css tags sends no stylesheet, so the browser holds nothing more after it.
  if (visit.answered || res.headersSent || !page.printedCss) return;
  visit.answered = true;
  const visits = page.cssVisits();
  if (!visits.length) return;
  res.vary('Cookie');
  if (!visits.every((css) => css.held)) {
    const listed = [...visits.flatMap((css) => css.tokens), ...visit.held];
    const tokens = [...new Set(listed)].slice(0, HELD_MAX).join('.');
    const secure = req.secure ? '; Secure' : '';
    res.append(
      'Set-Cookie',
      `${HELD_COOKIE}=${tokens}; Path=/; Max-Age=${HELD_SECONDS}; SameSite=Lax; HttpOnly${secure}`,
    );
  }
  if (visits.some((css) => css.store.learning(css.key))) res.once('finish', () => page.learn());
}
