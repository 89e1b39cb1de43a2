import fs from 'node:fs/promises';
import path from 'node:path';
import type { Registry } from '../registry/registry';
import { findRequirements } from './scanner';
import { bytes } from '../build/sizeTable';

export interface Place {
  /** Relative to the working folder, with "/". */
  file: string;
  line: number;
}

export interface AuditResult {
  /** How many files were read. */
  files: number;
  required: (Place & { asset: string })[];
  unknown: (Place & { asset: string; suggestions: string[] })[];
  unchecked: (Place & { source: string })[];
  /** Assets nothing requires, directly or as a dependency, with brotli bytes when built. */
  unused: { asset: string; brotli?: number }[];
}

/** Files that can hold requirements: source code and templates (nunjucks, EJS, Pug, HTML). */
export const SCANNED = ['.js', '.ts', '.mjs', '.cjs', '.njk', '.html', '.ejs', '.pug'];

/**
 * Reads every file under `targets` (skipping `node_modules`, dot folders and `skip`) and checks
 * each requirement against the registry.
 */
export async function audit(
  registry: Registry,
  targets: readonly string[],
  brotliOf: (asset: string) => number | undefined,
  skip: readonly string[] = [],
): Promise<AuditResult> {
  const result: AuditResult = { files: 0, required: [], unknown: [], unchecked: [], unused: [] };
  const skipped = new Set(skip.map((folder) => path.resolve(folder)));
  for (const target of targets) {
    for (const file of await filesUnder(path.resolve(target), skipped)) {
      result.files++;
      const where = path.relative(process.cwd(), file).split(path.sep).join('/');
      for (const { line, names, dynamic } of findRequirements(await fs.readFile(file, 'utf8'))) {
        for (const asset of names) {
          if (registry.has(asset)) result.required.push({ file: where, line, asset });
          else
            result.unknown.push({ file: where, line, asset, suggestions: registry.suggest(asset) });
        }
        if (dynamic) result.unchecked.push({ file: where, line, source: dynamic });
      }
    }
  }
  const needed = new Set(result.required.flatMap(({ asset }) => registry.closure(asset)));
  for (const { name } of registry.order) {
    if (!needed.has(name)) result.unused.push({ asset: name, brotli: brotliOf(name) });
  }
  return result;
}

async function filesUnder(target: string, skipped: ReadonlySet<string>): Promise<string[]> {
  if (!(await fs.stat(target)).isDirectory()) return [target];
  const entries = await fs.readdir(target, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = path.join(target, entry.name);
    if (entry.isDirectory()) {
      const excluded = entry.name === 'node_modules' || entry.name.startsWith('.');
      if (!excluded && !skipped.has(file)) files.push(...(await filesUnder(file, skipped)));
    } else if (entry.isFile() && SCANNED.includes(path.extname(entry.name))) {
      files.push(file);
    }
  }
  return files;
}

/** The audit for people: problems first, with file:line, then what nothing requires. */
export function formatAudit(result: AuditResult): string {
  const lines: string[] = [];
  for (const { file, line, asset, suggestions } of result.unknown) {
    const hint = suggestions.length
      ? ` (did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?)`
      : '';
    lines.push(`${file}:${line}: "${asset}" is not registered${hint}`);
  }
  for (const { file, line, source } of result.unchecked) {
    lines.push(`${file}:${line}: not checked, the name is not a string literal: ${source}`);
  }
  if (result.unused.length) {
    lines.push(`Registered but required by nothing (${result.unused.length}):`);
    for (const { asset, brotli } of result.unused) {
      lines.push(
        `  ${asset}  ${brotli === undefined ? 'size unknown (not built)' : `${bytes(brotli)} B brotli`}`,
      );
    }
  }
  const assets = new Set(result.required.map(({ asset }) => asset)).size;
  lines.push(
    `${result.files} files, ${result.required.length} requirements of ${assets} assets, ` +
      `${result.unknown.length} unknown, ${result.unchecked.length} not checked`,
  );
  return lines.join('\n');
}
