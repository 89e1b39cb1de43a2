import { FlattenMap, encodedMap } from '@jridgewell/trace-mapping';
import type { EncodedSourceMap, SectionedSourceMapXInput } from '@jridgewell/trace-mapping';
import { JsonBytes } from '../compile/types';
import type { SourceMap } from '../compile/types';
import type { Kind } from '../registry/options';
import { BASE64, vlq } from './vlq';

export interface Member {
  name: string;
  code: string;
  map?: SourceMap;
}

/** A member's code as it goes into the bundle, its map, and the line it starts at. */
interface Placed {
  map?: SourceMap;
  line: number;
  lines: number;
}

/**
 * Joins compiled members into one bundle and one source map. Each script ends with its own `;`
 * and a line break, so no statement runs into the next file (no ASI accidents); each member's
 * map is placed at the line where the member starts.
 */
export function concatenate(
  kind: Kind,
  members: readonly Member[],
  file: string,
): { code: string; map: SourceMap } {
  const parts: string[] = [];
  const placed: Placed[] = [];
  let line = 0;
  for (const member of members) {
    let code = member.code.replace(/\s+$/, '');
    if (kind === 'js' && code && !code.endsWith(';')) code += ';';
    const lines = countLines(code);
    placed.push({ map: member.map, line, lines });
    parts.push(code);
    line += lines;
  }
  const map = appendMaps(placed) ?? flattenMaps(placed, file);
  return { code: parts.join('\n'), map: { ...map, file } };
}

/** The general way: every segment of every member decoded, placed, and encoded again. */
function flattenMaps(placed: readonly Placed[], file: string): SourceMap {
  const sections: SectionedSourceMapXInput['sections'] = placed
    .filter((member) => member.map)
    .map(({ map, line }) => ({
      offset: { line, column: 0 },
      map: { ...map, sourcesContent: contentsOf(map!) } as EncodedSourceMap,
    }));
  return encodedMap(new FlattenMap({ version: 3, file, sections })) as unknown as SourceMap;
}

/**
 * Joins the members' maps by writing their `mappings` one after the other: a segment's source,
 * original line and column, and name are each relative to the segment before it, so only the
 * first segment of each member that has them is encoded again, relative to where the member
 * before ended. Decoding and encoding every segment (`flattenMaps`) cost 20-60 ms for the
 * bootstrap stylesheet's map alone, on the path of every rebuild. Undefined (the general way
 * then) for a map that is not a plain one.
 */
function appendMaps(placed: readonly Placed[]): SourceMap | undefined {
  const joined = {
    version: 3,
    sources: [] as string[],
    names: [] as string[],
    mappings: '',
  };
  const contents: ((string | null)[] | JsonBytes)[] = [];
  // Where the joined mappings are: their lines so far, and the last source, line, column, name.
  let lines = 0;
  const last = [0, 0, 0, 0];
  for (const { map, line, lines: memberLines } of placed) {
    if (!map) continue;
    const plain = map as SourceMap & {
      sections?: unknown;
      sourceRoot?: string;
      ignoreList?: unknown[];
      x_google_ignoreList?: unknown[];
    };
    if (plain.sections || plain.sourceRoot || typeof map.mappings !== 'string') return undefined;
    // Lists of sources to ignore would need their indexes moved: the general way does that.
    if (plain.ignoreList?.length || plain.x_google_ignoreList?.length) return undefined;
    const walked = walk(map.mappings);
    if (!walked || walked.lines >= memberLines) return undefined;
    const sourceBase = joined.sources.length;
    const nameBase = joined.names.length;
    let mappings = map.mappings;
    // The later edit first, so that the earlier one's offsets still hold.
    const edits: [Segment, 'source' | 'name'][] = [];
    const { firstSource, firstName } = walked;
    if (firstName && firstName !== firstSource) edits.push([firstName, 'name']);
    if (firstSource) edits.push([firstSource, 'source']);
    for (const [first, what] of edits) {
      const values = [...first.values];
      if (what === 'source') {
        values[1] += sourceBase - last[0];
        values[2] -= last[1];
        values[3] -= last[2];
      }
      if (values.length === 5) values[4] += nameBase - last[3];
      mappings =
        mappings.slice(0, first.start) + values.map(vlq).join('') + mappings.slice(first.end);
    }
    joined.mappings += ';'.repeat(line - lines) + mappings;
    lines = line + walked.lines;
    if (walked.firstSource) {
      last[0] = sourceBase + walked.end[0];
      last[1] = walked.end[1];
      last[2] = walked.end[2];
    }
    if (walked.firstName) last[3] = nameBase + walked.end[3];
    joined.sources.push(...map.sources);
    contents.push(map.sourcesContent instanceof JsonBytes ? map.sourcesContent : contentsOf(map));
    joined.names.push(...(map.names ?? []));
  }
  return { ...joined, sourcesContent: joinContents(contents) };
}

/** A map's sources' contents, one per source (null where it has none), decoded. */
function contentsOf(map: SourceMap): (string | null)[] {
  const { sources, sourcesContent } = map;
  const decoded =
    sourcesContent instanceof JsonBytes
      ? (sourcesContent.toJSON() as (string | null)[])
      : sourcesContent;
  return sources.map((_, i) => decoded?.[i] ?? null);
}

/** The members' sources' contents in one list: as JSON bytes when any member's were. */
function joinContents(
  parts: readonly ((string | null)[] | JsonBytes)[],
): (string | null)[] | JsonBytes {
  if (parts.every((part) => Array.isArray(part))) return parts.flat();
  // Each part is a JSON array: its items go between the joined array's brackets.
  const items = parts
    .map((part) => (part instanceof JsonBytes ? part.bytes : Buffer.from(JSON.stringify(part))))
    .map((json) => json.subarray(1, -1))
    .filter((json) => json.length > 0);
  const between = items.flatMap((json, i) => (i ? [COMMA, json] : [json]));
  return new JsonBytes(Buffer.concat([OPEN, ...between, CLOSE]));
}

const [OPEN, COMMA, CLOSE] = ['[', ',', ']'].map((text) => Buffer.from(text));

/**
 * A map's JSON bytes, its sources' contents last, so that the same map has the same bytes
 * whether they were held as JSON bytes (written as they are) or decoded.
 */
export function mapBytes(map: SourceMap): Buffer {
  const { sourcesContent, ...rest } = map;
  const head = JSON.stringify(rest);
  if (!sourcesContent) return Buffer.from(head);
  const contents =
    sourcesContent instanceof JsonBytes
      ? sourcesContent.bytes
      : Buffer.from(JSON.stringify(sourcesContent));
  return Buffer.concat([
    Buffer.from(`${head.slice(0, -1)}${head === '{}' ? '' : ','}"sourcesContent":`),
    contents,
    Buffer.from('}'),
  ]);
}

const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGITS[BASE64.charCodeAt(i)] = i;

interface Segment {
  start: number;
  end: number;
  /** As written: relative to the segment before, which for a member's first is absolute. */
  values: number[];
}

interface Walked {
  /** Line breaks (`;`) in the mappings. */
  lines: number;
  /** Source, original line, original column and name after the last segment. */
  end: number[];
  firstSource?: Segment;
  firstName?: Segment;
}

/**
 * Reads a `mappings` string through; undefined when it is not valid base64 VLQ. It runs once per
 * build, mostly before V8 has optimized it: small integers only (no -0, no fractions, no
 * allocation per segment), or each segment costs a deoptimization.
 */
function walk(mappings: string): Walked | undefined {
  const walked: Walked = { lines: 0, end: [0, 0, 0, 0] };
  const end = walked.end;
  // The segment being read: its start, its values so far, and the value being read.
  let start = 0;
  let fields = 0;
  let v1 = 0;
  let v2 = 0;
  let v3 = 0;
  let v4 = 0;
  let value = 0;
  let shift = 0;
  const length = mappings.length;
  for (let i = 0; i <= length; i++) {
    const code = i < length ? mappings.charCodeAt(i) : 59; // a final ';'
    if (code === 44 || code === 59) {
      // ',' or ';': the segment ends
      if (shift !== 0 || (fields !== 0 && fields !== 1 && fields !== 4 && fields !== 5)) {
        return undefined;
      }
      if (fields >= 4) {
        if (!walked.firstSource || (fields === 5 && !walked.firstName)) {
          const segment = { start, end: i, values: [0, v1, v2, v3, v4].slice(0, fields) };
          segment.values[0] = segmentColumn(mappings, start);
          walked.firstSource ??= segment;
          if (fields === 5) walked.firstName ??= segment;
        }
        end[0] += v1;
        end[1] += v2;
        end[2] += v3;
        if (fields === 5) end[3] += v4;
      }
      if (code === 59 && i < length) walked.lines++;
      start = i + 1;
      fields = 0;
      continue;
    }
    const digit = code < 128 ? DIGITS[code] : -1;
    if (digit < 0 || shift > 25) return undefined;
    value |= (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    const decoded = value & 1 ? 0 - (value >>> 1) : value >>> 1;
    if (fields === 1) v1 = decoded;
    else if (fields === 2) v2 = decoded;
    else if (fields === 3) v3 = decoded;
    else if (fields === 4) v4 = decoded;
    fields++;
    value = 0;
    shift = 0;
  }
  return walked;
}

/** The generated column of the segment at `start` (its first value), decoded again. */
function segmentColumn(mappings: string, start: number): number {
  let value = 0;
  let shift = 0;
  for (let i = start; ; i++) {
    const digit = DIGITS[mappings.charCodeAt(i)];
    value |= (digit & 31) << shift;
    if (!(digit & 32)) return value & 1 ? 0 - (value >>> 1) : value >>> 1;
    shift += 5;
  }
}

function countLines(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}
