/**
 * How a bench runs and reports: its arguments and checks, timings, medians and spreads, turns,
 * markdown tables and the results file it writes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `median (min-max)` of `values`, each written by `format`: `1.02x (0.98-1.10x)`. */
export function spread(values: number[], format: (value: number) => string): string {
  const [mid, low, high] = [median(values), Math.min(...values), Math.max(...values)].map(format);
  const unit = /[^\d]*$/.exec(mid)![0];
  const bare = (text: string) => (unit && text.endsWith(unit) ? text.slice(0, -unit.length) : text);
  return `${mid} (${bare(low)}-${high})`;
}

export const ms = (value: number) => `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
export const times = (value: number) => `${value.toFixed(2)}x`;
export const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/** Items in order on even rounds, reversed on odd ones, so none always goes first. */
export function turns<T>(items: readonly T[], round: number): T[] {
  return round % 2 ? [...items].reverse() : [...items];
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(): string {
  const load = os
    .loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
  return (
    `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average ${load}`
  );
}

/** Prints the report and writes it to bench/results-<name>.md, replacing the last run's. */
export function writeResults(name: string, lines: string[]): void {
  const text = [
    `# bench/${name}`,
    '',
    `\`npm run bench:${name}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC;`,
    `${machine()} at the end. Ratios are taken within the run: the machine is shared.`,
    '',
    ...lines,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(__dirname, `results-${name}.md`), text);
  console.log(`\n${text}`);
}

export function argument(name: string, fallback: number): number {
  const found = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
}

export function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`bench: ${what}`);
}

/** Runs `main`, printing its error and setting the exit code. */
export function run(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
