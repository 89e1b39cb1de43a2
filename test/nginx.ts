/**
 * Debian's nginx, started by a test on a free loopback port with a prefix folder of its own (its
 * configuration, pid file, error log and temporary files), and stopped after. (No jest globals
 * here: jest's globalSetup reads the paths below.)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Debian's packages; jest's globalSetup (test/setup/prerequisites.ts) finds or installs them. */
export const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
export const BROTLI_STATIC_MODULE =
  process.env.NGINX_BROTLI_STATIC ?? '/usr/lib/nginx/modules/ngx_http_brotli_static_module.so';

export interface RunningNginx {
  origin: string;
  port: number;
  /** The prefix folder: nginx.conf, logs/error.log. Removed by stop(). */
  prefix: string;
  /**
   * `nginx -s reload`: reads nginx.conf and the files it includes again. Resolves once the old
   * worker has left, so that every later connection meets the new configuration; rejects with
   * the error log when nginx refused the configuration (it keeps the old one then).
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts nginx with `http` inside its `http` block and `server` inside the one `server` block,
 * which listens on a free loopback port. Rejects with the error log when nginx does not start.
 */
export async function startNginx(config: { http: string; server: string }): Promise<RunningNginx> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-'));
  for (const folder of ['logs', 'tmp']) fs.mkdirSync(path.join(prefix, folder));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), mainConf(port, config));
    try {
      return await run(prefix, port);
    } catch (error) {
      // Another process may take the port between freePort() and nginx's bind().
      if (attempt < 3 && /Address already in use/.test(String(error))) continue;
      fs.rmSync(prefix, { recursive: true, force: true });
      throw error;
    }
  }
}

function mainConf(port: number, { http, server }: { http: string; server: string }): string {
  const indent = (text: string, by: string) => text.replace(/^(?=.)/gm, by);
  return `load_module ${BROTLI_STATIC_MODULE};
error_log logs/error.log info;
pid logs/nginx.pid;
${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
events {
    worker_connections 256;
}
http {
    access_log off;
    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
${indent(http, '    ')}
    server {
        listen 127.0.0.1:${port};
${indent(server, '        ')}
    }
}
`;
}

function run(prefix: string, port: number): Promise<RunningNginx> {
  const child = spawn(NGINX, ['-p', prefix, '-c', 'nginx.conf', '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const errorLog = () => {
    const log = path.join(prefix, 'logs', 'error.log');
    return `${stderr}${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''}`;
  };
  const reload = async () => {
    const log = path.join(prefix, 'logs', 'error.log');
    const from = fs.statSync(log).size;
    child.kill('SIGHUP');
    for (let waited = 0; waited < 60_000; waited += 50) {
      const since = fs.readFileSync(log).subarray(from).toString();
      if (/\[(emerg|alert|crit)\]/.test(since))
        throw new Error(`nginx kept its old configuration:\n${since}`);
      if (/worker process \d+ exited/.test(since)) return;
      await new Promise((wait) => setTimeout(wait, 50));
    }
    throw new Error(`nginx did not reload within a minute:\n${errorLog()}`);
  };
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGQUIT'); // graceful: workers finish their requests
    await exited;
    fs.rmSync(prefix, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`nginx exited (${code}):\n${errorLog()}`)));
    const poll = async () => {
      while (child.exitCode === null) {
        if (await accepts(port)) {
          resolve({ origin: `http://127.0.0.1:${port}`, port, prefix, reload, stop });
          return;
        }
        await new Promise((wait) => setTimeout(wait, 50));
      }
    };
    void poll();
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
