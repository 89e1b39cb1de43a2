#!/usr/bin/env node
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { audit, formatAudit } from './audit';
import { build } from '../build/build';
import { withSourceMaps } from '../build/loaded';
import { AssetError } from '../registry/errors';
import { readManifest } from '../build/manifest';
import type { ResolvedOptions } from '../registry/options';
import { loadRegistry, ModuleLoadError, UsageError } from './registryModule';
import { nginxConfig, writeNginxConfig } from './nginx';
import { assetSizes, formatReport, sizeReport } from './report';
import { sizeTable } from '../build/sizeTable';

const USAGE = `Usage: asset-registry <command> <registry-module> [options]

Commands:
  build    Build outDir and manifest.json (run it at deploy; servers then start from it)
           and print the size table. Ignores requirePrebuilt; fails over budget.
  report   Sizes per bundle and per asset (source, min, gzip, brotli) and budgets.
           Builds first when outDir is not up to date.
  audit    Find every requirement in source files and templates: names that are not
           registered fail; registered assets nothing requires are listed.
  nginx    The nginx configuration that serves outDir as the middleware does (twins,
           immutable headers, dcz): http.conf for the http block, server.conf for a
           server block. Builds first when outDir is not up to date. Make it again after
           each build and reload nginx.

Options:
  --scan <dir...>  (audit) folders or files to scan: .js .ts .mjs .cjs .njk .html .ejs .pug
  --json           (report, audit) print JSON for machines
  --out <dir>      (nginx) write http.conf and server.conf there instead of printing them
  -h, --help       print this help

<registry-module> is loaded with require() from the working folder and must export the
result of defineAssets() as default, as "assets", or as its only registry. Node 22.18+ and
24+ load a TypeScript module as it is, when it uses only syntax that type stripping erases
(no enum, namespace or parameter property); other runtimes, or such syntax, need a loader:
  node --import tsx node_modules/.bin/asset-registry build app/assets.ts
NODE_ENV is "production" unless set.

Exit codes: 0 ok, 1 a check failed (build error, over budget, unknown asset), 2 usage error.`;

/** Runs one command line; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const { command, values, targets } = parseCommandLine(argv);
    if (!command) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.env.NODE_ENV ??= 'production';
    const assets = await loadRegistry(targets[0]);
    if (command === 'audit') {
      const manifest = await readManifest(assets.options.outDir);
      const sizes = manifest ? await assetSizes(manifest, assets.options) : new Map();
      const brotliOf = (asset: string) => sizes.get(asset)?.brotli;
      const scanned = [...(values.scan ?? []), ...targets.slice(1)];
      const result = await audit(assets.registry, scanned, brotliOf, [assets.options.outDir]);
      print(values.json ? JSON.stringify(result, null, 2) : formatAudit(result));
      return result.unknown.length ? 1 : 0;
    }
    // `build` is what makes the prebuilt manifest, so requirePrebuilt cannot apply to it;
    // `report` shows a bundle over budget rather than failing on it (budgets change no byte).
    const settings: Partial<ResolvedOptions> = {
      requirePrebuilt: false,
      log: () => {},
      ...(command === 'report' ? { budget: {} } : {}),
    };
    const done = await build(assets.registry, { ...assets.options, ...settings });
    if (command === 'nginx') {
      const config = nginxConfig(await withSourceMaps(done), assets.options);
      if (!values.out) process.stdout.write(`${config.http}\n${config.server}`);
      else await writeNginxConfig(values.out, config);
      return 0;
    }
    if (command === 'build') {
      print(sizeTable(done.manifest));
      process.stderr.write(
        `${done.reused ? 'Up to date' : 'Built'}: ${path.relative('.', assets.options.outDir) || '.'}\n`,
      );
      return 0;
    }
    const report = await sizeReport(done.manifest, assets.options);
    print(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.withinBudgets ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`asset-registry: ${error.message}\nRun "asset-registry --help".\n`);
      return 2;
    }
    // A library error, or a registry module's own load failure, says all a user needs;
    // anything else keeps its stack.
    const said = error instanceof AssetError || error instanceof ModuleLoadError;
    const text = said ? error.message : ((error as Error)?.stack ?? error);
    process.stderr.write(`asset-registry: ${text}\n`);
    return 1;
  }
}

function parseCommandLine(argv: readonly string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        scan: { type: 'string', multiple: true },
        out: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...targets] = positionals;
  if (values.help) return { command: undefined, values, targets };
  if (!command) throw new UsageError('missing the command: build, report, audit or nginx');
  if (!['build', 'report', 'audit', 'nginx'].includes(command)) {
    throw new UsageError(`unknown command "${command}": use build, report, audit or nginx`);
  }
  if (!targets.length) throw new UsageError(`missing the registry module: ${command} <module>`);
  if (command !== 'audit' && (values.scan || targets.length > 1)) {
    throw new UsageError(`${command} takes one registry module; --scan is for audit`);
  }
  if ((command === 'build' || command === 'nginx') && values.json) {
    throw new UsageError('--json is for report and audit');
  }
  if (command !== 'nginx' && values.out) throw new UsageError('--out is for nginx');
  if (command === 'audit') {
    const scanned = [...(values.scan ?? []), ...targets.slice(1)];
    if (!scanned.length) throw new UsageError('audit needs the folders to scan: --scan <dir...>');
    const missing = scanned.find((target) => !existsSync(target));
    if (missing) throw new UsageError(`cannot scan "${missing}": no such file or folder`);
  }
  return { command, values, targets };
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
