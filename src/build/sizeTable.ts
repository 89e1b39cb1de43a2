import { bytes } from '../registry/errors';
import { dcbUnavailable } from './dcb';
import { dczUnavailable } from './dictionaries';
import type { Manifest } from './manifest';

/**
 * The table printed after a build: one row per bundle, with a row per dcz and dcb body under it,
 * and a last line when older versions are kept but this Node.js makes no dcz (or no dcb) bodies,
 * saying why.
 */
export function sizeTable(manifest: Manifest): string {
  const header = ['bundle', 'members', 'source', 'min', 'gzip', 'brotli'];
  // For a returning visitor who holds an older version: the new one as dcz (and dcb) against it.
  const dictionaryRow = (coding: string, from: string, count: number) => [
    `  ${coding} vs ${from}`,
    '',
    '',
    '',
    '',
    bytes(count),
  ];
  const rows = manifest.bundles.flatMap((bundle) => [
    [
      bundle.file,
      String(bundle.members.length),
      ...[bundle.sizes.source, bundle.sizes.min, bundle.sizes.gzip, bundle.sizes.brotli].map(bytes),
    ],
    ...(bundle.dictionaries ?? []).flatMap((entry) => [
      dictionaryRow('dcz', entry.from, entry.bytes),
      ...(entry.dcb ? [dictionaryRow('dcb', entry.from, entry.dcb.bytes)] : []),
    ]),
  ]);
  const table = columns(header, rows);
  if (!manifest.previous.length) return table;
  const noDcz = dczUnavailable();
  if (noDcz) return `${table}\ndcz: not made on this Node.js (${noDcz})`;
  const noDcb = dcbUnavailable();
  return noDcb ? `${table}\ndcb: not made on this Node.js (${noDcb})` : table;
}

/** Rows of cells as aligned text: the first column left-aligned, the others (numbers) right. */
export function columns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export { bytes } from '../registry/errors';
