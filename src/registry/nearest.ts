import path from 'node:path';
import type * as Levenshtein from 'fastest-levenshtein';

/**
 * The candidates closest to `name`, best first (at most three): a candidate with the same last
 * path segment first, then by edit distance, up to a third of the name's length (at least 2).
 * What "did you mean" says for an unknown asset, dependency or option.
 */
export function nearestNames(name: string, candidates: Iterable<string>): string[] {
  // Loaded on a first mistake: a server that makes none never loads it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { distance } = require('fastest-levenshtein') as typeof Levenshtein;
  const base = path.posix.basename(name);
  const most = Math.max(2, Math.floor(name.length / 3));
  const scored = [...candidates]
    .map((candidate) => {
      if (path.posix.basename(candidate) === base) {
        return { candidate, score: candidate === name ? 0 : 1 };
      }
      // The length difference bounds the distance from below: skipping those candidates keeps
      // a long name (a page may pass a visitor's string) from costing seconds per request.
      if (Math.abs(candidate.length - name.length) > most) return { candidate, score: Infinity };
      return { candidate, score: distance(name, candidate) };
    })
    .filter(({ score }) => score <= most)
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate));
  return scored.slice(0, 3).map(({ candidate }) => candidate);
}
