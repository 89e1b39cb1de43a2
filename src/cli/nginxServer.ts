/**
 * server.conf: the `location` for publicPath's path, which checks the name and sends the request
 * on to the internal location of the representation the maps chose; those set the headers.
 */
import path from 'node:path';
import type { Build } from '../build/loaded';
import { contentTypeOf } from '../build/output';
import type { ResolvedOptions } from '../registry/options';
import { block, comment, quote } from './nginxSyntax';

const IMMUTABLE = 'public, max-age=31536000, immutable';

export function serverConf(
  build: Build,
  options: Pick<ResolvedOptions, 'outDir' | 'publicUrl'>,
  prefix: string,
): string {
  const internal = `/.asset-registry${prefix}`;
  const types = new Map<string, string>();
  for (const name of build.files.keys()) {
    const extension = path.extname(name).slice(1).toLowerCase();
    if (extension) types.set(extension, contentTypeOf(name));
  }
  // Each representation's own location, as only the URI tells nginx which file to send.
  const representation = (route: string, lines: string[]) =>
    block(`location ^~ ${internal}${route}/`, [
      'internal;',
      `alias ${quote(`${options.outDir}/`)};`,
      ...lines,
    ]);
  const dictionary = (coding: string, kind: string) =>
    representation(`${coding}-${kind}`, [
      ...block('types', []),
      `default_type ${quote(contentTypeOf(`x.${kind}`))};`,
    ]);
  const plain = (status: number, text: string, header: string) =>
    block(`location = ${internal}${status}`, [
      'internal;',
      'default_type "text/plain; charset=utf-8";',
      `add_header ${header} always;`,
      `return ${status} ${quote(text)};`,
    ]);
  const location = [
    comment(
      `server.conf: include it in the server block that answers for ${prefix}, with http.conf in`,
      "the http block, and brotli in nginx's main context (Debian: libnginx-mod-http-brotli-static):",
      '  load_module modules/ngx_http_brotli_static_module.so;',
      'Made by `asset-registry nginx`: after each build, make it again and reload nginx.',
    ),
    ...block(`location ^~ ${prefix}`, [
      '# A map matches regardless of case; names do not.',
      ...block(`if ($asset_registry_path != ${quote(`${prefix}$asset_registry_name`)})`, [
        `rewrite ^ ${internal}404 last;`,
      ]),
      `rewrite ^ ${internal}$asset_registry_route last;`,
    ]),
    '',
    ...block(`location ^~ ${internal}`, [
      'internal;',
      ...block(
        'types',
        [...types].sort().map(([extension, type]) => `${quote(type)} ${extension};`),
      ),
      'default_type application/octet-stream;',
      '# Only what the middleware does: no compression per request, no Last-Modified, no ranges.',
      'charset off;',
      'gzip off;',
      'expires off;',
      'etag on;',
      'if_modified_since off;',
      'max_ranges 0;',
      `add_header Cache-Control ${quote(IMMUTABLE)};`,
      'add_header Vary $asset_registry_vary;',
      'add_header Use-As-Dictionary $asset_registry_use_as_dictionary;',
      ...(options.publicUrl.crossOrigin ? ['add_header Access-Control-Allow-Origin "*";'] : []),
      'add_header Content-Encoding $asset_registry_dictionary_encoding;',
      'add_header Last-Modified "";',
      ...representation('identity', []),
      ...representation('br', ['brotli_static always;']),
      ...representation('gzip', ['gzip_static always;']),
      ...['dcz', 'dcb'].flatMap((coding) => [
        ...dictionary(coding, 'js'),
        ...dictionary(coding, 'css'),
      ]),
      ...plain(404, 'Not found', 'Cache-Control no-store'),
      ...plain(405, 'Method not allowed', 'Allow "GET, HEAD"'),
    ]),
  ];
  return `${location.join('\n')}\n`;
}
