import { FlattenMap, encodedMap } from '@jridgewell/trace-mapping';
import type { EncodedSourceMap, SectionedSourceMapXInput } from '@jridgewell/trace-mapping';
import { JsonBytes } from '../compile/types';
import type { SourceMap } from '../compile/types';
import type { Kind } from '../registry/options';

export interface Member {
  name: string;
  code: string;
  map?: SourceMap;
}

/** A member's map and the line of the bundle where the member starts. */
interface Section {
  offset: { line: number; column: 0 };
  map: SourceMap;
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
  const sections: Section[] = [];
  let line = 0;
  for (const member of members) {
    let code = member.code.replace(/\s+$/, '');
    if (kind === 'js' && code && !code.endsWith(';')) code += ';';
    if (member.map) sections.push({ offset: { line, column: 0 }, map: member.map });
    parts.push(code);
    line += countLines(code);
  }
  return { code: parts.join('\n'), map: joinMaps(sections, file) };
}

/**
 * The members' maps as one plain map, which every browser and tool reads: an index map (the
 * source map format's own way of placing maps at offsets in a file), flattened by
 * trace-mapping. The sources' contents are joined beside it as they are, so those read back
 * from the compile cache as JSON bytes are written without being decoded and encoded again.
 */
function joinMaps(sections: readonly Section[], file: string): SourceMap {
  const index: SectionedSourceMapXInput = {
    version: 3,
    file,
    sections: sections.map(({ offset, map }) => ({
      offset,
      map: { ...map, sourcesContent: undefined } as EncodedSourceMap,
    })),
  };
  const { version, sources, names, mappings, ignoreList } = encodedMap(new FlattenMap(index));
  return {
    version,
    sources: sources as string[],
    names,
    mappings,
    ...(ignoreList?.length ? { ignoreList } : {}),
    sourcesContent: joinContents(sections.map(({ map }) => contentsOf(map))),
    file,
  };
}

/** A map's sources' contents, one per source (null where it has none): JSON bytes kept so. */
function contentsOf({ sources, sourcesContent }: SourceMap): (string | null)[] | JsonBytes {
  if (sourcesContent instanceof JsonBytes) return sourcesContent;
  return sources.map((_, i) => sourcesContent?.[i] ?? null);
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

function countLines(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}
