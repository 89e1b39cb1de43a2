/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball into fresh apps.
 * Used by package.test.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = path.resolve(__dirname, '..');

/** npm's cache for the apps' installs, kept between runs so that only the first one downloads. */
const NPM_CACHE = path.join(REPO, 'node_modules', '.cache', 'package-test-npm');

/** Not copied to the folder that is packed: installs, build outputs, git's own folder. */
const NOT_COPIED = new Set([
  '.git',
  'dist',
  'coverage',
  'test/tmp',
  'example-app/public/gen',
  'bench/out',
]);

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command in `cwd`, never rejecting on a non-zero exit code. The npm variables of an
 * enclosing `npm test` are dropped, so that an npm started here sees only its own folder.
 */
export async function command(
  file: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Result> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(npm_|INIT_CWD$|JEST_WORKER_ID$|NODE_ENV$)/i.test(name),
    ),
  );
  try {
    const { stdout, stderr } = await run(file, [...args], {
      cwd,
      env: { ...inherited, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** {@link command}, rejecting with both outputs when it fails. */
export async function succeed(
  file: string,
  args: readonly string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<Result> {
  const result = await command(file, args, cwd, env);
  if (result.code !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited with ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/**
 * Packs a copy of the working tree with `npm pack` (which runs `prepack`, the build) into `work`.
 * The copy keeps the pack's build away from the `dist/` that other test files run, and starts
 * without a `dist/`, so that the tarball holds only what `prepack` made.
 * Resolves with the tarball's path and its files, as `tar tzf` lists them.
 */
export async function packRepository(work: string): Promise<{ tarball: string; files: string[] }> {
  const source = path.join(work, 'source');
  fs.cpSync(REPO, source, {
    recursive: true,
    filter: (file) => {
      const name = path.relative(REPO, file).split(path.sep).join('/');
      return !NOT_COPIED.has(name) && path.basename(file) !== 'node_modules';
    },
  });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  const { stdout } = await succeed('npm', ['pack', '--json', '--pack-destination', work], source);
  const tarball = path.join(work, (JSON.parse(stdout) as { filename: string }[])[0].filename);
  const listed = await succeed('tar', ['tzf', tarball], work);
  const files = listed.stdout
    .split('\n')
    .filter((line) => line && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''));
  return { tarball, files: files.sort() };
}

/**
 * Installs the tarball and `packages` into the app in `dir` (made with a package.json when it
 * has none), as a user would, but without install scripts: the package must work without any.
 */
export async function installApp(
  dir: string,
  tarball: string,
  packages: readonly string[],
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const manifest = path.join(dir, 'package.json');
  if (!fs.existsSync(manifest)) {
    fs.writeFileSync(
      manifest,
      JSON.stringify({ name: path.basename(dir), private: true }, null, 2),
    );
  }
  await succeed(
    'npm',
    [
      'install',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--cache',
      NPM_CACHE,
      tarball,
      ...packages,
    ],
    dir,
  );
}

/** A path as an example block names its file: relative, with an extension, no `..`. */
const RELATIVE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[\w.@-]+(?:\/[\w.@-]+)*\.\w+$/;
const FILE_COMMENTS = [
  /^\/\/\s*(.+?)\s*$/,
  /^\/\*\s*(.+?)\s*\*\/$/,
  /^\{#\s*(.+?)\s*#\}$/,
  /^<!--\s*(.+?)\s*-->$/,
  /^#\s*(.+?)\s*$/,
];

/** A fenced code block: the lines of its fences and of its content. */
interface CodeBlock {
  open: number;
  close: number;
  content: string[];
}

function codeBlocks(lines: readonly string[]): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (let open = 0; open < lines.length; open++) {
    const fence = /^(\s*)(`{3,}|~{3,})/.exec(lines[open]);
    if (!fence) continue;
    const closing = new RegExp(`^\\s*${fence[2][0]}{${fence[2].length},}\\s*$`);
    let close = open + 1;
    while (close < lines.length && !closing.test(lines[close])) close++;
    const content = lines.slice(open + 1, close).map((line) => line.slice(fence[1].length));
    blocks.push({ open, close, content });
    open = close;
  }
  return blocks;
}

/**
 * The files of a README section's example: every fenced block whose first line is a comment
 * holding only a relative path (`// app/assets.ts`, `{# app/views/home.njk #}`) is that file,
 * without the comment line. Blocks that do not start so (output, shell commands) are skipped.
 */
export function exampleFiles(markdown: string, heading: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const { content } of codeBlocks(sectionLines(markdown, heading))) {
    const name = FILE_COMMENTS.map((pattern) => pattern.exec(content[0]?.trim() ?? '')?.[1]).find(
      (candidate) => candidate !== undefined && RELATIVE_PATH.test(candidate),
    );
    if (!name) continue;
    if (files.has(name)) throw new Error(`two blocks of "${heading}" are ${name}`);
    files.set(name, `${content.slice(1).join('\n')}\n`);
  }
  return files;
}

/**
 * What a README section's shell commands set up: the packages of its `npm install` lines
 * (dev dependencies included) and the fields of its `npm pkg set name=value` lines.
 */
export function exampleSetup(
  markdown: string,
  heading: string,
): { packages: string[]; fields: Record<string, string> } {
  const commands = codeBlocks(sectionLines(markdown, heading))
    .flatMap(({ content }) => content)
    .flatMap((line) => line.split('&&'))
    .map((line) => line.trim().split(/\s+/));
  const packages = commands
    .filter(([npm, verb]) => npm === 'npm' && ['install', 'i', 'add'].includes(verb))
    .flatMap((words) => words.slice(2).filter((word) => !word.startsWith('-')));
  const fields = commands
    .filter(([npm, verb, action]) => npm === 'npm' && verb === 'pkg' && action === 'set')
    .flatMap((words) => words.slice(3).map((pair) => pair.split('=') as [string, string]));
  return { packages, fields: Object.fromEntries(fields) };
}

function sectionLines(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = lines.findIndex((line, index) => index > start && /^##\s/.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/**
 * The relative link targets of a markdown file (`[text](target)`, `[label]: target`,
 * `href="..."`, `src="..."`), outside code, without `#fragment` or `?query`.
 */
export function relativeLinks(markdown: string): string[] {
  const lines = markdown.split('\n');
  const inCode = new Set(codeBlocks(lines).flatMap(({ open, close }) => range(open, close)));
  const prose = lines
    .filter((_, index) => !inCode.has(index))
    .join('\n')
    .replace(/`[^`\n]*`/g, '');
  const targets = [
    ...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g),
    ...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?([^\s>]+)>?/gm),
    ...prose.matchAll(/\b(?:href|src)="([^"]+)"/g),
  ].map((match) => match[1]);
  return targets
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => decodeURIComponent(target.replace(/[#?].*$/, '')))
    .filter(Boolean);
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

/**
 * `node` arguments that run a TypeScript file: none where this Node.js strips types itself,
 * else tsx's loader from the repository's devDependencies.
 */
export function typeScriptLoader(): string[] {
  if ((process.features as { typescript?: string | false }).typescript) return [];
  return [
    '--import',
    pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
  ];
}

/** A TCP port that is free on loopback now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every file under `dir`, as POSIX paths relative to it. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => fs.statSync(path.join(dir, name)).isFile())
    .map((name) => name.split(path.sep).join('/'));
}
