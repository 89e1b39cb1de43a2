/**
 * Finding requirements in the text of source files and templates, without running them: a
 * requirement counts when its names are string literals; any other is reported as not checked.
 * Comments are not told apart from code: a commented-out requirement still counts.
 */

/** What a file says it needs at one place. */
export interface Found {
  line: number;
  /** String-literal names. */
  names: string[];
  /** The source of a requirement whose names are not all literals: it cannot be checked. */
  dynamic?: string;
}

// `requireAsset(s)(...)` anywhere (handlers, locals in EJS and Pug), `.needs(...)`, and the
// nunjucks tag in either delimiter style: `{% requireAsset "a" %}`, `<% requireAsset "a" %>`.
const REQUIREMENT =
  /(?<![\w$])requireAssets?\s*\(|(?<=\.\s*)needs\s*\(|(?:\{%|<%)-?\s*requireAsset(?![\w$]|\s*\()/g;
const CLOSE_TAG = /^-?%[}>]/;
const DECLARATION = /\bfunction\s*$/;

/** The requirements written in one file's text. Only string literals are names. */
export function findRequirements(text: string): Found[] {
  const found: Found[] = [];
  for (const match of text.matchAll(REQUIREMENT)) {
    const start = match.index + match[0].length;
    if (DECLARATION.test(text.slice(Math.max(0, match.index - 12), match.index))) continue;
    const isTag = !match[0].endsWith('(');
    const closer = (i: number) =>
      isTag ? CLOSE_TAG.exec(text.slice(i, i + 3))?.[0] : text[i] === ')' ? ')' : undefined;
    const end = scan(text, start, (i) => closer(i) !== undefined);
    const names: string[] = [];
    let dynamic = false;
    for (const argument of split(text.slice(start, end))) {
      const items = /^\[[\s\S]*\]$/.test(argument) ? split(argument.slice(1, -1)) : [argument];
      for (const item of items) {
        const name = literal(item);
        if (name === undefined) dynamic = true;
        else names.push(name);
      }
    }
    const line = text.slice(0, match.index).split('\n').length;
    const source = text.slice(match.index, end + (closer(end)?.length ?? 0)).replace(/\s+/g, ' ');
    const shown = source.length > 100 ? `${source.slice(0, 99)}…` : source;
    found.push({ line, names, ...(dynamic ? { dynamic: shown } : {}) });
  }
  return found;
}

/** Index of the first place at depth 0, outside strings, where `stop` holds (or the end). */
function scan(text: string, from: number, stop: (i: number) => boolean): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const char = text[i];
    if (depth === 0 && stop(i)) return i;
    if (char === '"' || char === "'" || char === '`') i = closingQuote(text, i);
    else if ('([{'.includes(char)) depth++;
    else if (')]}'.includes(char)) depth--;
  }
  return text.length;
}

function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === text[open]) return i;
  }
  return text.length;
}

/** Arguments split at top-level commas, trimmed, empty ones (a trailing comma) left out. */
function split(list: string): string[] {
  const parts: string[] = [];
  for (let from = 0; from <= list.length;) {
    const comma = scan(list, from, (i) => list[i] === ',');
    parts.push(list.slice(from, comma).trim());
    from = comma + 1;
  }
  return parts.filter(Boolean);
}

/** The value of a whole string literal, or undefined for anything else (`'a' + b`, `${x}`). */
function literal(source: string): string | undefined {
  const quote = source[0];
  if (!`"'\``.includes(quote) || closingQuote(source, 0) !== source.length - 1) return undefined;
  const body = source.slice(1, -1);
  if (quote === '`' && body.includes('${')) return undefined;
  return body.replace(/\\(.)/g, '$1');
}
