import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import {
  AssetBuildError,
  defineAssets,
  type AssetEntry,
  type AssetOptions,
  type ManifestBundle,
} from '../../src';
import type { AssetRegistry } from '../../src/assets';
import { builtSite, errorHandler, SITE_ASSETS, SITE_FILES } from '../app';
import { snapshot, tempDir, writeFiles } from '../helpers';
import { listenRaw, type RawServer } from '../raw';

/**
 * What the bad-input tables share: the good build they all run against, the error check, the
 * build a build case makes, and the check after every case that the build on disk is as it was
 * and the last good build still serves the same bytes.
 */

export type ErrorClass = abstract new (...args: never[]) => Error;

export interface Expected {
  type: ErrorClass;
  code?: string;
  /** Fragments the message must hold: the asset, the file, the option. */
  message: (string | RegExp)[];
  asset?: string;
  file?: string;
  line?: number;
  column?: number;
}

/** What a case gives: an error like this, or a build (into a folder of its own). */
export type Outcome = Expected | { builds: (read: (bundle: string) => string) => void };

export interface BuildCase {
  /** Files added to (or replacing) the site's, under a fresh root. */
  files?: Record<string, string | Buffer>;
  /** Assets declared after the site's, or (a function) the whole list. */
  assets?: AssetEntry[] | ((root: string) => AssetEntry[]);
  /** Options that replace the good ones: bad types, mostly. */
  options?: Record<string, unknown>;
  setup?: (root: string) => void;
  outcome: Outcome;
  /** The most the case may take, in ms: a bad input must fail fast, not hang. */
  within?: number;
}

// The good build, set by useGoodBuild()'s beforeAll; the tables read these when a case runs.
export let good: AssetRegistry;
export let outDir: string;
export let app: Express;
export let server: RawServer;
export let main: ManifestBundle;
export let mainBody: string;
/** A directory outside every root, for symlinks to point at. */
export let outside: string;
export const CANARY = `CANARY-${process.pid}-bad-input`;

async function setUpGoodBuild(): Promise<void> {
  good = await builtSite({ logger: false });
  outDir = good.options.outDir;
  main = good.current.bundles.find((bundle) => bundle.id === 'main.js')!;
  mainBody = fs.readFileSync(path.join(outDir, main.file), 'utf8');
  outside = tempDir('asset-outside-');
  writeFiles(outside, { 'secret.js': `window.secret = "${CANARY}";\n` });
  // A canary next to outDir and one inside it that no build lists: neither may ever be served.
  writeFiles(path.dirname(outDir), { 'canary.js': CANARY });
  writeFiles(outDir, { 'canary.txt': CANARY });
  app = express();
  app.use(good.middleware());
  app.get('/page', (req: Request, res: Response) => {
    res.requireAssets('site/widgets.js');
    res.send(`<head>${res.locals.assetTags('css')}</head>${res.locals.assetTags('js')}`);
  });
  app.get('/require', (req: Request, res: Response) => {
    res.requireAssets(...(JSON.parse(String(req.query.names)) as string[]));
    res.send('ok');
  });
  app.use(errorHandler);
  server = await listenRaw(app);
}

/** Every file of outDir with its bytes; the compile cache apart. */
function split(files: Record<string, string>) {
  const cache = Object.entries(files).filter(([file]) => file.startsWith('.cache'));
  const rest = Object.entries(files).filter(([file]) => !file.startsWith('.cache'));
  return { cache: Object.fromEntries(cache), rest: Object.fromEntries(rest) };
}

/**
 * Nothing on disk changed: every file as it was, and nothing added (a temporary file, say), but
 * in the compile cache, which may learn the files that compiled before a failure (its entries
 * are named by their inputs' hashes, so they can never change what a build makes).
 */
function expectUnchanged(before: Record<string, string>): void {
  const now = split(snapshot(outDir));
  const then = split(before);
  expect(now.rest).toEqual(then.rest);
  expect(now.cache).toMatchObject(then.cache);
}

/** The last good build still answers, with the same bytes. */
async function expectStillServing(): Promise<void> {
  expect(good.current.bundles).toContain(main);
  const response = await request(app).get(main.url).set('Accept-Encoding', 'identity');
  expect(response.status).toBe(200);
  expect(response.text).toBe(mainBody);
}

export function expectError(caught: unknown, expected: Expected): void {
  expect(caught).toBeInstanceOf(expected.type);
  const error = caught as Error & Record<string, unknown>;
  for (const key of ['code', 'asset', 'file'] as const) {
    if (expected[key] !== undefined)
      expect({ [key]: error[key] }).toEqual({ [key]: expected[key] });
  }
  if (expected.type === AssetBuildError) {
    expect({ line: error.line, column: error.column }).toEqual({
      line: expected.line,
      column: expected.column,
    });
  }
  for (const fragment of expected.message) expect(error.message).toMatch(fragment);
}

/** Builds the site with the case's files, assets and options: it fails as told, or builds. */
export async function runBuild(spec: BuildCase): Promise<void> {
  const root = tempDir();
  writeFiles(root, { ...SITE_FILES, ...spec.files });
  spec.setup?.(root);
  const assets =
    typeof spec.assets === 'function'
      ? spec.assets(root)
      : [...SITE_ASSETS, ...(spec.assets ?? [])];
  const { outcome } = spec;
  const options = {
    root,
    // A case that must build gets a folder of its own; every other one aims at the live build.
    outDir: 'builds' in outcome ? path.join(root, 'out') : outDir,
    assets,
    mode: 'production',
    logger: false,
    ...spec.options,
  } as AssetOptions;
  const started = Date.now();
  const result = await (async () => defineAssets(options).build())().then(
    (build) => ({ build, error: undefined }),
    (error: unknown) => ({ build: undefined, error: error ?? new Error('undefined thrown') }),
  );
  if (spec.within) expect(Date.now() - started).toBeLessThan(spec.within);
  if (!('builds' in outcome)) {
    expect(result.build).toBeUndefined();
    expectError(result.error, outcome);
    return;
  }
  expect(result.error).toBeUndefined();
  outcome.builds((id) => {
    const bundle = result.build!.bundles.find((candidate) => candidate.id === id)!;
    const text = fs.readFileSync(path.join(root, 'out', bundle.file), 'utf8');
    return text.replace(`${bundle.file}.map`, 'MAP');
  });
}

/** Builds and serves the good build for this file's cases; stops the server after them. */
export function useGoodBuild(): void {
  beforeAll(setUpGoodBuild);
  afterAll(() => server.close());
}

/** Runs a case, then checks that the build on disk is as it was and still serves the same bytes. */
export async function leavesGoodBuild(run: () => Promise<void>): Promise<void> {
  const before = snapshot(outDir);
  await run();
  expectUnchanged(before);
  await expectStillServing();
}
