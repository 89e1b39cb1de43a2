import fs from 'node:fs';
import path from 'node:path';
import { ensureDist, siteWithModule } from '../dist';
import { startNginx } from '../nginx';
import type { RunningNginx } from '../nginx';
import { deploy, get, startApp, stopAll, wait, writeNginxConfig } from '../releases';

/**
 * Releases built one after another into one outDir, as a rolling deploy makes them: each app
 * process serves the files of the builds other processes wrote, and nginx, serving the same
 * outDir with the configuration `asset-registry nginx` wrote after each build, answers alike.
 * (test/e2e/rolling-load.test.ts replaces the processes under load.)
 */

let nginx: RunningNginx | undefined;
afterEach(async () => {
  await nginx?.stop();
  nginx = undefined;
  await stopAll();
});

beforeAll(ensureDist, 120_000);

const name = (url: string) => path.posix.basename(url);
const BOTH = { 'Accept-Encoding': 'br, gzip' };

describe('a rolling deploy into one outDir', () => {
  test("A serves B's bundles once B's build lands, only names the manifest lists, and A's files go after keepVersions builds", async () => {
    const dir = siteWithModule({ keepVersions: 2 });
    const out = path.join(dir, 'out');
    await deploy(dir, 'A');
    await writeNginxConfig(dir);
    nginx = await startNginx({
      http: `include ${dir}/nginx/http.conf;`,
      server: `include ${dir}/nginx/server.conf;`,
    });
    const a = await startApp(dir, 'A');
    await deploy(dir, 'B');
    await writeNginxConfig(dir);
    await nginx.reload();
    const b = await startApp(dir, 'B');
    const newOnly = b.urls.filter((url) => !a.urls.includes(url));
    expect(newOnly.length).toBeGreaterThan(0);

    // Either process, and nginx, answers a page of either release.
    for (const port of [a.port, b.port, nginx.port]) {
      for (const url of [...a.urls, ...b.urls]) {
        const response = await get(port, url);
        const onDisk = fs.readFileSync(path.join(out, name(url)));
        expect({ port, url, status: response.status }).toEqual({ port, url, status: 200 });
        expect(response.body.equals(onDisk)).toBe(true);
      }
    }

    // Never a name the manifest does not list, once A has read it again.
    const temporary = `${name(newOnly[0])}.4242.0123456789ab.tmp`;
    fs.writeFileSync(path.join(out, temporary), 'half');
    const cached = fs.readdirSync(path.join(out, '.cache'))[0];
    await wait(1100);
    for (const file of ['manifest.json', `.cache/${cached}`, temporary, 'main.0123456789ab.js']) {
      for (const port of [a.port, nginx.port]) {
        const { status } = await get(port, `/assets/${file}`);
        expect({ port, file, status }).toEqual({ port, file, status: 404 });
      }
    }

    // keepVersions (2) builds on, A's files are gone: 404 from a process of the new release and
    // from nginx with the configuration made for it, whatever the encoding asked for.
    await deploy(dir, 'C');
    await writeNginxConfig(dir);
    await nginx.reload();
    const c = await startApp(dir, 'C');
    for (const url of c.urls) expect((await get(nginx.port, url, BOTH)).status).toBe(200);
    const aOnly = a.urls.filter((url) => !b.urls.includes(url) && !c.urls.includes(url));
    expect(aOnly.length).toBeGreaterThan(0);
    for (const url of aOnly) {
      expect(fs.existsSync(path.join(out, name(url)))).toBe(false);
      for (const port of [c.port, nginx.port]) {
        for (const headers of [{}, BOTH]) {
          const { status } = await get(port, url, headers);
          expect({ port, url, headers, status }).toEqual({ port, url, headers, status: 404 });
        }
      }
      expect(fs.readFileSync(path.join(dir, 'nginx', 'http.conf'), 'utf8')).not.toContain(url);
      await wait(1100); // A reads the manifest again: it lists the file no more, A's memory does
      expect({ url, status: (await get(a.port, url)).status }).toEqual({ url, status: 200 });
    }
  }, 120_000);
});
