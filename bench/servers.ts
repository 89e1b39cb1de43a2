/**
 * Servers in child processes, and the clients that load them: the child calls `listen`, the
 * parent `startChild`, then `get` for one request or `wrk` for many.
 */
import { fork, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { check } from './harness';

export interface Child {
  process: ChildProcess;
  port: number;
}

/** In the child: serves `handler` on a free loopback port and tells the parent which. */
export function listen(handler: http.RequestListener, extra: object = {}): void {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  process.on('SIGTERM', () => process.exit(0));
  // CPU time, asked for around a run: unlike requests per second, it barely moves when other
  // processes load the machine.
  process.on('message', () => process.send!(process.cpuUsage()));
  server.listen(0, '127.0.0.1', () => {
    process.send!({ ...extra, port: (server.address() as AddressInfo).port });
  });
}

/** Forks `script` with `args`; resolves with what its `listen` sent. */
export function startChild<T extends object>(
  script: string,
  args: string[],
  execArgv = process.execArgv,
): Promise<Child & T> {
  const child = fork(script, args, {
    execArgv,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  process.on('exit', () => child.kill());
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ ...(message as Child & T), process: child }));
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited (${code})`)));
  });
}

/** The CPU time the child has used so far, in microseconds. */
export function cpuTime(child: Child): Promise<number> {
  return new Promise((resolve) => {
    child.process.once('message', (usage: NodeJS.CpuUsage) => resolve(usage.user + usage.system));
    child.process.send('cpu');
  });
}

export async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill();
  await exited;
}

/** wrk -t1 against `url`: requests per second (fails on errors or non-2xx/3xx answers). */
export function wrk(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
): number {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  const ran = spawnSync('wrk', [...args, url], { encoding: 'utf8', timeout: 120_000 });
  if (ran.error) throw new Error('wrk is not installed: apt-get install -y wrk');
  const perSecond = /Requests\/sec:\s+([\d.]+)/.exec(ran.stdout);
  const bad = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(ran.stdout);
  check(ran.status === 0 && perSecond && !bad, `wrk ${url}: ${ran.stdout}${ran.stderr}`);
  return Number(perSecond[1]);
}

/** One GET on loopback: status, headers and body. */
export function get(
  port: number,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
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
