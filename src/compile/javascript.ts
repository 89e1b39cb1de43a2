import * as acorn from 'acorn';
import { AssetBuildError } from '../registry/errors';
import { terser } from './compilers';
import type { Compiled, CompileSettings, SourceMap } from './types';

/**
 * Minifies one script with terser so that it keeps its own meaning inside a bundle: a strict
 * file runs in a strict wrapper (a directive in the middle of a bundle means nothing, and at its
 * top it would make every other file strict), and its top-level names are still set on the
 * global object for the files after it.
 */
export async function compileScript(
  name: string,
  source: string,
  settings: CompileSettings,
): Promise<Compiled> {
  const program = parse(name, source);
  if (!settings.minify) return { code: source, inputs: [], copies: [] };
  const result = await terser()
    .minify(
      { [name]: source },
      {
        compress: { passes: 2 },
        mangle: true,
        format: { comments: 'some' },
        sourceMap: { includeSources: true },
      },
    )
    .catch((error: { message: string; line?: number; col?: number }) => {
      throw new AssetBuildError(error.message, name, name, error.line, (error.col ?? 0) + 1);
    });
  const map = typeof result.map === 'string' ? (JSON.parse(result.map) as SourceMap) : undefined;
  const code = result.code ?? '';
  if (!isStrict(program)) return { code, map, inputs: [], copies: [] };
  const globals = topLevelNames(program).map((id) => `this.${id}=${id};`);
  return {
    code: `(function(){\n${code}\n${globals.join('')}}).call(this);`,
    map: map && { ...map, mappings: `;${map.mappings}` },
    inputs: [],
    copies: [],
  };
}

/** Parses with acorn so a syntax error names its line and column, minified or not. */
function parse(name: string, source: string): acorn.Program {
  try {
    return acorn.parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowHashBang: true,
    });
  } catch (error) {
    const { message, loc } = error as SyntaxError & { loc?: { line: number; column: number } };
    const reason = message.replace(/ \(\d+:\d+\)$/, '');
    throw new AssetBuildError(reason, name, name, loc?.line, loc && loc.column + 1);
  }
}

function isStrict(program: acorn.Program): boolean {
  for (const statement of program.body) {
    if (statement.type !== 'ExpressionStatement' || !('directive' in statement)) return false;
    if (statement.directive === 'use strict') return true;
  }
  return false;
}

/** Names a script declares at its top level, which are globals when the script runs alone. */
function topLevelNames(program: acorn.Program): string[] {
  const names: string[] = [];
  for (const statement of program.body) {
    if (statement.type === 'FunctionDeclaration' || statement.type === 'ClassDeclaration') {
      names.push(statement.id.name);
    } else if (statement.type === 'VariableDeclaration') {
      for (const declaration of statement.declarations) collectIdentifiers(declaration.id, names);
    }
  }
  return names;
}

function collectIdentifiers(pattern: acorn.Pattern, names: string[]): void {
  switch (pattern.type) {
    case 'Identifier':
      names.push(pattern.name);
      break;
    case 'ObjectPattern':
      for (const property of pattern.properties) {
        collectIdentifiers(property.type === 'RestElement' ? property : property.value, names);
      }
      break;
    case 'ArrayPattern':
      for (const element of pattern.elements) if (element) collectIdentifiers(element, names);
      break;
    case 'RestElement':
      collectIdentifiers(pattern.argument, names);
      break;
    case 'AssignmentPattern':
      collectIdentifiers(pattern.left, names);
      break;
    default:
      break;
  }
}
