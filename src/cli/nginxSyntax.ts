/** Writing nginx configuration text: blocks, maps, comments, strings. */

/** A `map` block, with its comment; `variable` is named `$asset_registry_<variable>`. */
export function map(
  note: string,
  source: string,
  variable: string,
  entries: readonly (readonly [string, string])[],
  fallback?: string,
): string {
  const lines = [
    ...(fallback === undefined ? [] : [`default ${fallback};`]),
    ...entries.map(([key, value]) => `${key} ${value};`),
  ];
  const text = block(`map ${source} $asset_registry_${variable}`, lines).join('\n');
  return note ? `${comment(...note.split('\n'))}\n${text}` : text;
}

/** A block's lines, its contents indented by four spaces. */
export function block(head: string, lines: readonly string[]): string[] {
  return [
    `${head} {`,
    ...lines.flatMap((line) => line.split('\n')).map((line) => `    ${line}`),
    '}',
  ];
}

export function comment(...lines: string[]): string {
  return lines.map((line) => `# ${line}`).join('\n');
}

/**
 * A double-quoted nginx string. What goes in holds no quote (names are checked), and nginx keeps
 * a backslash as it is before anything but a quote, a backslash, t, r or n.
 */
export function quote(text: string): string {
  return `"${text}"`;
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
