import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureDist, REPO, siteWithModule } from '../dist';
import { startNginx } from '../nginx';
import type { RunningNginx } from '../nginx';
import { deploy, get, startApp, stopAll, wait } from '../releases';
import type { AppProcess } from '../releases';

/**
 * A rolling deploy under load, behind nginx balancing two app slots round robin, with the
 * `upstream` block docs/deployment.md shows. Both slots start on release A; B is built into the
 * same outDir while A serves; then each slot's A process is stopped and a B process takes its
 * port, one slot after the other. Clients keep fetching pages through nginx, then the bundles
 * each page names, the whole time: no request may fail, and every bundle must be the one the
 * page asked for, whichever process answers.
 *
 * Same port, no nginx reload: the load balancer names fixed slots (a host and port each, as in
 * front of several machines), the process manager replaces the process in its slot, and nginx
 * passes an idempotent request that meets a closed port to the other slot
 * (`proxy_next_upstream error`, its default).
 */

let nginx: RunningNginx | undefined;
afterEach(async () => {
  await nginx?.stop();
  nginx = undefined;
  await stopAll();
});

beforeAll(ensureDist, 120_000);

/** The upstream block of docs/deployment.md, with the slots' addresses put in. */
function upstreamFromDocs(ports: number[]): string {
  const docs = fs.readFileSync(path.join(REPO, 'docs', 'deployment.md'), 'utf8');
  const block = /```nginx\n(upstream app \{\n[\s\S]*?\n\})\n```/.exec(docs);
  if (!block) throw new Error('docs/deployment.md shows no `upstream app` block');
  let slot = 0;
  return block[1].replace(/server \S+:\d+/g, () => `server 127.0.0.1:${ports[slot++]}`);
}

interface Fetched {
  page: string;
  /** `X-Served-By` of the page and of the bundle: `<release> <pid>`. */
  pageBy: string;
  bundleBy: string;
}

/** Clients fetching pages and then their bundles and fonts through nginx, until stopped. */
function startLoad(port: number, clients: number) {
  const fetched: Fetched[] = [];
  const failures: unknown[] = [];
  const pagesNamed = new Map<string, Set<string>>(); // release -> bundle URLs its pages named
  let rounds = 0;
  let stopped = false;
  const visit = async (page: string) => {
    const answer = await get(port, page);
    const pageBy = String(answer.headers['x-served-by']);
    if (answer.status !== 200) failures.push({ page, status: answer.status, pageBy });
    const tags = answer.body.toString().match(/<(script|link) [^>]*>/g) ?? [];
    for (const tag of tags) {
      // Bundles carry SRI; the fonts a stylesheet needs are preloaded without it.
      const url = /(?:src|href)="([^"]+)"/.exec(tag)![1];
      const integrity = /integrity="([^"]+)"/.exec(tag)?.[1];
      const release = pageBy.split(' ')[0];
      if (integrity) pagesNamed.set(release, (pagesNamed.get(release) ?? new Set()).add(url));
      const bundle = await get(port, url);
      const bundleBy = String(bundle.headers['x-served-by']);
      const sri = `sha384-${createHash('sha384').update(bundle.body).digest('base64')}`;
      if (bundle.status !== 200 || (integrity && sri !== integrity)) {
        failures.push({ page, pageBy, url, status: bundle.status, bundleBy });
      }
      fetched.push({ page, pageBy, bundleBy });
    }
  };
  const client = async () => {
    while (!stopped) {
      await visit(rounds % 2 ? '/admin' : '/').catch((error: Error) =>
        failures.push(error.message),
      );
      rounds++;
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    fetched,
    failures,
    pagesNamed,
    /** Resolves once `more` rounds (a page and its bundles) have been completed from now. */
    async rounds(more: number) {
      const until = rounds + more;
      while (rounds < until) await wait(20);
    },
    /** Resolves once `done()` holds; fails the test after a minute. */
    async until(what: string, done: () => boolean) {
      for (let waited = 0; !done(); waited += 20) {
        if (waited > 60_000) throw new Error(`under load, never saw: ${what}`);
        await wait(20);
      }
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

describe('a rolling deploy behind nginx, under load', () => {
  test('no request fails while each slot is replaced, and pages of A and B get their own bundles from either process', async () => {
    const dir = siteWithModule({ keepVersions: 2 });
    await deploy(dir, 'A');
    const slots: AppProcess[] = [await startApp(dir, 'A'), await startApp(dir, 'A')];
    const started = [...slots];
    nginx = await startNginx({
      http: upstreamFromDocs(slots.map((slot) => slot.port)),
      server: 'location / {\n    proxy_pass http://app;\n}',
    });
    const load = startLoad(nginx.port, 8);
    const answered = (by: string) => load.fetched.some((each) => each.bundleBy === by);
    const crossed = (page: string, bundle: string) =>
      load.fetched.some((each) => each.pageBy === page && each.bundleBy === bundle);
    try {
      await load.until('both slots answering', () => slots.every((s) => answered(s.servedBy)));
      await deploy(dir, 'B'); // built while A serves
      for (const [i, slot] of slots.entries()) {
        await slot.stop(); // closes its port, finishes what it has; nginx turns to the other slot
        slots[i] = await startApp(dir, 'B', slot.port);
        started.push(slots[i]);
        await load.until(`${slots[i].servedBy} answering`, () => answered(slots[i].servedBy));
        if (i === 0) {
          // A process of each release in the pool: each serves the other release's pages.
          await load.until("A's page, B's answer", () => crossed(slots[1].servedBy, slots[0].servedBy)); // prettier-ignore
          await load.until("B's page, A's answer", () => crossed(slots[0].servedBy, slots[1].servedBy)); // prettier-ignore
        }
      }
      await load.rounds(50);
    } finally {
      await load.stop();
    }

    expect(load.failures).toEqual([]);
    expect(load.fetched.length).toBeGreaterThan(200);
    // Each process answered, through nginx, while it ran.
    for (const { servedBy } of started) expect(answered(servedBy)).toBe(true);
    // Pages rendered by A named A's bundles, B's named B's; and they differ.
    const [a, b] = [started[0], started[2]];
    expect([...load.pagesNamed.get('A')!].sort()).toEqual([...a.urls].sort());
    expect([...load.pagesNamed.get('B')!].sort()).toEqual([...b.urls].sort());
    expect(b.urls.filter((url) => !a.urls.includes(url)).length).toBeGreaterThan(0);
  }, 180_000);
});
