import { FlattenMap, encodedMap } from '@jridgewell/trace-mapping';
import type { EncodedSourceMap, SectionedSourceMapXInput } from '@jridgewell/trace-mapping';
import type { SourceMap } from './compile/types';
import type { Kind } from './options';

export interface Member {
  name: string;
  code: string;
  map?: SourceMap;
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
  const sections: SectionedSourceMapXInput['sections'] = [];
  let line = 0;
  for (const member of members) {
    let code = member.code.replace(/\s+$/, '');
    if (kind === 'js' && code && !code.endsWith(';')) code += ';';
    if (member.map) {
      sections.push({
        offset: { line, column: 0 },
        map: member.map as EncodedSourceMap,
      });
    }
    parts.push(code);
    line += countLines(code);
  }
  const flat = new FlattenMap({ version: 3, file, sections });
  const map = encodedMap(flat) as unknown as SourceMap;
  return { code: parts.join('\n'), map: { ...map, file } };
}

function countLines(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}
