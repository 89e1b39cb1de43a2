import express5 from 'express';
import type { Express } from 'express';
import { defineAssets } from '../src';
import type { AssetOptions } from '../src';
import type { AssetRegistry } from '../src/assets';
import { tempDir, writeFiles } from './helpers';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- Express 4 installed as an alias
const express4 = require('express4') as typeof express5;

/** Both Express majors, for `describe.each`: the middleware must behave the same under each. */
export const EXPRESSES: [string, typeof express5][] = [
  ['Express 5', express5],
  ['Express 4', express4],
];

/** A small site's assets on disk: jquery-like vendor file, widgets, styles, an admin bundle. */
export const SITE_FILES: Record<string, string> = {
  'vendor/lib.js': 'window.lib = { version: 1 };\n',
  'site/widgets.js': 'window.widgets = lib.version + 1;\n',
  'site/base.less': '@color: #336699;\nbody { color: @color; }\n',
  'site/widgets.less': '.widget { border: 1px solid red; }\n',
  'admin/editor.js': 'window.editor = widgets + 1;\n',
  'admin/editor.css': '.editor { margin: 0; }\n',
};

export const SITE_ASSETS: AssetOptions['assets'] = [
  'vendor/lib.js',
  'site/base.less',
  { path: 'site/widgets.less', deps: ['site/base.less'] },
  { path: 'site/widgets.js', deps: ['vendor/lib.js', 'site/widgets.less'] },
  { path: 'admin/editor.js', deps: ['site/widgets.js', 'admin/editor.css'], bundle: 'admin' },
  { path: 'admin/editor.css', bundle: 'admin' },
];

/** Defines and builds the site's registry in a fresh temp folder. */
export async function builtSite(options: Partial<AssetOptions> = {}): Promise<AssetRegistry> {
  const root = tempDir();
  writeFiles(root, SITE_FILES);
  const assets = defineAssets({
    root,
    outDir: `${root}/out`,
    assets: SITE_ASSETS,
    mode: 'production',
    ...options,
  });
  await assets.build();
  return assets;
}

/** An app with the middleware and an error handler that shows the error's code. */
export function appWith(express: typeof express5, assets: AssetRegistry): Express {
  const app = express();
  app.use(assets.middleware());
  return app;
}

export function errorHandler(
  error: Error & { code?: string },
  _req: express5.Request,
  res: express5.Response,
  _next: express5.NextFunction,
): void {
  res.status(500).json({ code: error.code, name: error.name, message: error.message });
}
