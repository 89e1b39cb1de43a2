import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { cli, ensureDist, siteWithModule } from '../dist';
import { startNginx } from '../nginx';

/**
 * A rolling deploy as it runs: release A's server process keeps running while release B is built
 * into the same outDir and B's process starts next to it, both behind one load balancer.
 */

const SERVE = path.join(__dirname, '..', 'fixtures', 'deploy', 'serve.js');

interface Release {
  port: number;
  urls: string[];
  stop(): Promise<void>;
}

const running: Release[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((release) => release.stop()));
});

beforeAll(ensureDist, 120_000);

/** Builds the site in `dir` as a deploy does, after one edit that makes a new release. */
async function deploy(dir: string, release: string): Promise<void> {
  fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), `tiny.mark('${release}');\n`);
  const built = await cli(['build', 'assets.js'], { cwd: dir });
  expect(built).toMatchObject({ code: 0 });
}

/** Starts a production server process on the build in `dir`'s outDir. */
function start(dir: string): Promise<Release> {
  const child = spawn(process.execPath, [SERVE, 'assets.js'], {
    cwd: dir,
    env: { ...process.env, JEST_WORKER_ID: undefined, NODE_ENV: 'production' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      if (!output.includes('\n')) return;
      const ready = JSON.parse(output) as { port: number; bundles: { url: string }[] };
      const release: Release = {
        port: ready.port,
        urls: ready.bundles.map((bundle) => bundle.url),
        stop: async () => {
          child.stdin.end();
          await exited;
        },
      };
      running.push(release);
      resolve(release);
    });
    void exited.then(() => reject(new Error(`server exited: ${output}`)));
  });
}

function get(port: number, url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a rolling deploy into one outDir', () => {
  test("A serves B's bundles once B's build lands, only names the manifest lists, and A's files go after keepVersions builds", async () => {
    const dir = siteWithModule({ keepVersions: 2 });
    const out = path.join(dir, 'out');
    await deploy(dir, 'A');
    const a = await start(dir);
    await deploy(dir, 'B');
    const b = await start(dir);
    const newOnly = b.urls.filter((url) => !a.urls.includes(url));
    expect(newOnly.length).toBeGreaterThan(0);

    // Either process answers a page of either release.
    for (const server of [a, b]) {
      for (const url of [...a.urls, ...b.urls]) {
        const response = await get(server.port, url);
        const onDisk = fs.readFileSync(path.join(out, path.posix.basename(url)));
        expect({ url, status: response.status }).toEqual({ url, status: 200 });
        expect(response.body.equals(onDisk)).toBe(true);
      }
    }

    // Never a name the manifest does not list, once A has read it again.
    const temporary = `${path.posix.basename(newOnly[0])}.4242.0123456789ab.tmp`;
    fs.writeFileSync(path.join(out, temporary), 'half');
    const cached = fs.readdirSync(path.join(out, '.cache'))[0];
    await wait(1100);
    for (const name of ['manifest.json', `.cache/${cached}`, temporary, 'main.0123456789ab.js']) {
      expect({ name, status: (await get(a.port, `/assets/${name}`)).status }).toEqual({
        name,
        status: 404,
      });
    }

    // keepVersions (2) builds on, A's files are gone: a server of the new release answers 404.
    await deploy(dir, 'C');
    const c = await start(dir);
    const aOnly = a.urls.filter((url) => !b.urls.includes(url));
    for (const url of aOnly) {
      expect(fs.existsSync(path.join(out, path.posix.basename(url)))).toBe(false);
      expect({ url, status: (await get(c.port, url)).status }).toEqual({ url, status: 404 });
      await wait(1100); // A reads the manifest again: it lists the file no more, A's memory does
      expect({ url, status: (await get(a.port, url)).status }).toEqual({ url, status: 200 });
    }
  }, 60_000);

  test('behind nginx balancing two processes, no request fails while A is replaced by B', async () => {
    const dir = siteWithModule({ keepVersions: 2 });
    await deploy(dir, 'A');
    const a = await start(dir);
    await deploy(dir, 'B');
    const b = await start(dir);
    const nginx = await startNginx({
      http: `upstream app {\n    server 127.0.0.1:${a.port};\n    server 127.0.0.1:${b.port};\n}`,
      server: 'location / {\n    proxy_pass http://app;\n}',
    });
    try {
      const urls = [...a.urls, ...b.urls];
      const statuses: number[] = [];
      const load = async (worker: number) => {
        for (let i = worker; i < 500; i += 10) {
          statuses.push((await get(nginx.port, urls[i % urls.length])).status);
        }
      };
      const loading = Promise.all(Array.from({ length: 10 }, (_, worker) => load(worker)));
      await wait(50);
      await a.stop(); // release A's process leaves while requests keep coming
      await loading;
      expect(statuses).toHaveLength(500);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
    } finally {
      await nginx.stop();
    }
  }, 60_000);
});
