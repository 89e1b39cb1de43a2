/**
 * bench/request's rows, and the pages their apps send: warmed until a first visit has its
 * critical CSS, checked to be what each row stands for.
 */
import path from 'node:path';
import { writeFile } from './common';
import { check, sleep } from './harness';
import { FIRST_VISIT } from './request-app';
import type { AppKind } from './request-app';
import { get, startChild, stopChild } from './servers';
import type { Child } from './servers';

/** A row: which app (`without`: no library; `off`, `on`: the library, criticalCss so) and visitor. */
export interface Variant {
  name: string;
  app: AppKind;
  /** Requests carry the cookie that lists the page's CSS bundles as held. */
  returning?: boolean;
}
export const WITHOUT: Variant = { name: 'without the library', app: 'without' };
export const OFF: Variant = { name: 'criticalCss off', app: 'off' };
export const SIZED: Variant = { name: "without the library, a first visit's tags", app: 'sized' };
export const FIRST: Variant = { name: 'criticalCss on, first visit', app: 'on' };
export const RETURNING: Variant = {
  name: 'criticalCss on, returning visitor',
  app: 'on',
  returning: true,
};

type Page = Awaited<ReturnType<typeof get>>;

/** Asks for the page until it comes with its critical CSS inline (made in a worker thread). */
export async function warmCritical(child: Child): Promise<Page> {
  for (const started = Date.now(); Date.now() - started < 60_000; await sleep(100)) {
    const page = await get(child.port, '/');
    if (page.body.includes('<style')) return page;
  }
  throw new Error('bench: no critical CSS within 60 s');
}

/**
 * Checks what each row's app sends (the critical CSS made); returns the cookie of a returning
 * visitor, each row's HTML size and the inline CSS's.
 */
export async function checkPages(servers: Map<Variant, Child>) {
  const first = servers.has(FIRST) ? await warmCritical(servers.get(FIRST)!) : undefined;
  const cookie = /asset_css=[^;]*/.exec(String(first?.headers['set-cookie']))?.[0] ?? '';
  const pages = new Map<Variant, Page>();
  for (const [variant, child] of servers) {
    const page =
      variant === FIRST ? first! : await get(child.port, '/', headersOf(variant, cookie));
    pages.set(variant, page);
  }
  const text = (variant: Variant) => pages.get(variant)?.body.toString() ?? '';
  check(
    [...pages.values()].every((page) => page.status === 200),
    'the apps answer 200',
  );
  check(text(OFF) === text(WITHOUT), 'the library sends the same HTML as without it');
  if (pages.has(SIZED)) {
    const apart = Math.abs(text(SIZED).length - text(FIRST).length);
    check(apart < 100, `a first visit's tags as fixed strings: ${apart} characters apart`);
  }
  check(/<link rel="stylesheet"[^>]+>/.test(text(OFF)), 'the page has its tags');
  check(String(pages.get(OFF)!.headers.link).includes('rel=preload'), 'the page has its Link');
  if (first) {
    check(cookie && /\bCookie\b/.test(String(first.headers.vary)), 'a first visit: cookie, Vary');
    check(
      /<\/main>[\s\S]*<link rel="stylesheet"/.test(text(FIRST)),
      'a first visit: tags at the end',
    );
    check(!text(RETURNING).includes('<style'), 'a returning visitor gets no inline CSS');
    check(!pages.get(RETURNING)!.headers['set-cookie'], 'a returning visitor gets no new cookie');
  }
  const inline = /<style[^>]*>([\s\S]*?)<\/style>/.exec(text(FIRST))?.[1].length;
  return { cookie, inline, bytes: new Map([...pages].map(([v, page]) => [v, page.body.length])) };
}

/**
 * Writes a first visit's tags (its inline `<style>`, and the tags at the end of its body) for the
 * `sized` app: the bytes of the feature without its work. `script` runs the apps (bench/request).
 */
export async function writeFirstVisit(script: string, entry: string, dir: string): Promise<void> {
  const child = await startChild(script, ['--child', 'on', entry, dir]);
  try {
    const html = (await warmCritical(child)).body.toString();
    const css = /<style[^>]*>[\s\S]*?<\/style>/.exec(html)![0];
    const end = /<\/footer>\s*(<[\s\S]*?)\n<\/body>/
      .exec(html)![1]
      .replace(/<script[^>]*><\/script>\n?/, '');
    writeFile(path.join(dir, FIRST_VISIT), JSON.stringify({ css, end }));
  } finally {
    await stopChild(child);
  }
}

/** A returning visitor's requests carry the cookie. */
export function headersOf(variant: Variant, cookie: string): Record<string, string> {
  return variant.returning ? { cookie } : {};
}
