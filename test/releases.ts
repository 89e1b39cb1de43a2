/**
 * Releases of the site fixture deployed as a rolling deploy runs them: each built by
 * `asset-registry build` into one outDir, each served by app processes of its own
 * (test/fixtures/rolling/app.js), stopped gracefully as a process manager stops them.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { cli } from './dist';

const APP = path.join(__dirname, 'fixtures', 'rolling', 'app.js');

export interface AppProcess {
  release: string;
  port: number;
  /** What `X-Served-By` says for this process: `<release> <pid>`. */
  servedBy: string;
  /** The URLs of the bundles of the build it started with. */
  urls: string[];
  /** Closes its port, finishes the requests it has, and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Builds the site in `dir` as a deploy does, after an edit that makes `release` a new one. */
export async function deploy(dir: string, release: string): Promise<void> {
  fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), `tiny.mark('${release}');\n`);
  await run(['build', 'assets.js'], dir);
}

/** `asset-registry nginx assets.js --out nginx` in `dir`: http.conf and server.conf. */
export async function writeNginxConfig(dir: string): Promise<void> {
  await run(['nginx', 'assets.js', '--out', 'nginx'], dir);
}

async function run(args: string[], cwd: string): Promise<void> {
  const done = await cli(args, { cwd });
  if (done.code !== 0) throw new Error(`asset-registry ${args.join(' ')}: ${done.stderr}`);
}

/** Every process started and not yet stopped; {@link stopAll} stops them. */
const running = new Set<AppProcess>();

/** Starts an app process of `release` on the build in `dir`'s outDir, on `port` (0: any). */
export function startApp(dir: string, release: string, port = 0): Promise<AppProcess> {
  const child = spawn(process.execPath, [APP, 'assets.js', release], {
    cwd: dir,
    env: { ...process.env, JEST_WORKER_ID: undefined, NODE_ENV: 'production', PORT: `${port}` },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      if (!output.includes('\n')) return;
      const ready = JSON.parse(output) as { port: number; pid: number; bundles: string[] };
      const app: AppProcess = {
        release,
        port: ready.port,
        servedBy: `${release} ${ready.pid}`,
        urls: ready.bundles,
        stop: async () => {
          child.stdin.end();
          await exited;
          running.delete(app);
        },
      };
      running.add(app);
      resolve(app);
    });
    void exited.then(() => reject(new Error(`the app exited: ${output}`)));
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((app) => app.stop()));
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET on a fresh connection, nothing added and nothing decoded. */
export function get(port: number, url: string, headers: http.OutgoingHttpHeaders = {}) {
  return new Promise<Answer>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      })
      .on('error', reject);
  });
}

export const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
