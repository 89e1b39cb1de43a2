/**
 * What the browser tests and the page-load bench share: Debian's Chromium as this machine can run
 * it, and the example site started as `npm start` / `npm run dev` start it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/** Debian's package; jest's globalSetup (test/setup/prerequisites.ts) finds or installs it. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Headless, as root, and with no background connections (the network here is closed). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

const REPO = path.resolve(__dirname, '..');

/** The example site in a child process on a free loopback port; resolves once it listens. */
export function startExampleSite(
  env: Record<string, string>,
): Promise<{ origin: string; close: () => Promise<void> }> {
  const child = spawn(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['example-app/server.ts'], {
    cwd: REPO,
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill();
    await exited;
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /http:\/\/localhost:(\d+)\//.exec(output);
      if (listening) resolve({ origin: `http://127.0.0.1:${listening[1]}`, close });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the site exited (${code}):\n${output}`)));
  });
}
