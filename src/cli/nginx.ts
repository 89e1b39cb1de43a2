/**
 * `asset-registry nginx`: the nginx configuration that serves a build's `outDir` as the
 * middleware (src/express/serve.ts) serves it: the same files by exact name, the same bytes, the
 * same headers. Everything that depends on the build (which names exist, which twins are worth
 * sending, which dcz or dcb body answers which dictionary) is a `map` written from the build, so a new
 * build means a new configuration and `nginx -s reload`. test/e2e/nginx.test.ts holds nginx and
 * the middleware to the same answers.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { smallestFirst } from '../build/loaded';
import type { Build } from '../build/loaded';
import type { ResolvedOptions } from '../registry/options';
import { negotiationMaps } from './nginxNegotiation';
import { serverConf } from './nginxServer';
import { comment, escapeRegex, map, quote } from './nginxSyntax';
import { UsageError } from './registryModule';

/** The two files: `http.conf` for nginx's `http` block, `server.conf` for a `server` block. */
export interface NginxConfig {
  http: string;
  server: string;
}

/** As the middleware: a bundle's file name, `<group>.<hash>.<kind>`, says it is a dictionary. */
const BUNDLE_NAME = /^([A-Za-z0-9_-]+)\.[0-9a-f]{12}\.(js|css)$/;
/**
 * Names that stand in nginx's strings and URIs as they are: a URL path's own characters, without
 * the "$" of nginx's variables, the quote, and the "%" of escapes nginx would decode.
 */
const PLAIN = /^[A-Za-z0-9._~!&()*+,;=:@/-]*$/;

/** The configuration that serves `build` from `options.outDir` under `options.publicPath`. */
export function nginxConfig(
  build: Build,
  options: Pick<ResolvedOptions, 'outDir' | 'publicUrl' | 'mode'>,
): NginxConfig {
  if (options.mode !== 'production') {
    throw new UsageError('nginx serves production builds: the registry is in development mode');
  }
  const prefix = options.publicUrl.path;
  const names = [...build.files.keys()].sort();
  const unfit = [prefix.slice(1, -1), ...names].find((name) => !PLAIN.test(name));
  if (unfit) throw new Error(`"${unfit}" cannot be named in an nginx configuration: rename it`);
  const files = names.map((name) => ({
    name,
    path: prefix + name,
    served: build.files.get(name)!,
  }));
  const dictionaryBodies = build.bundles.flatMap((bundle) =>
    (bundle.dictionaries ?? []).flatMap((entry): [string, string][] => {
      const bodies = build.files.get(bundle.file)?.dictionaries?.get(entry.hash);
      if (!bodies) return [];
      const files = { dcz: entry.file, dcb: entry.dcb?.file };
      const routes = smallestFirst(bodies).map(
        (coding) => `${coding}-${bundle.kind}/${files[coding]}`,
      );
      return [[`~^${escapeRegex(`${prefix}${bundle.file} :${entry.hash}:`)}$`, routes.join(' ')]];
    }),
  );
  const http = [
    comment(
      `http.conf: include it in nginx's http block. Made by \`asset-registry nginx\` for ${prefix}`,
      `from ${path.join(options.outDir, 'manifest.json')}: after each build, make it again`,
      'and reload nginx (nginx -s reload). Never edit it by hand.',
    ),
    map(
      'The request path as the client sent it, without the query: names are matched on it, as\n' +
        'the middleware does, not on the decoded and normalized $uri.',
      '$request_uri',
      'path',
      [['"~^([^?]*)"', '$1']],
    ),
    map(
      "The files of the kept builds, by path; any other path is 404. (A map's strings ignore\n" +
        'case: server.conf checks the path against the name it found.)',
      '$asset_registry_path',
      'name',
      files.map((file) => [file.path, file.name]),
      '""',
    ),
    map(
      'The twins smaller than the file, as the middleware sends no twin that does not save bytes.',
      '$asset_registry_path',
      'twins',
      files.flatMap((file) => {
        const twins = (['br', 'gzip'] as const).filter(
          (coding) => (file.served[coding]?.length ?? Infinity) < file.served.body.length,
        );
        return twins.length ? [[file.path, quote(twins.join(' '))]] : [];
      }),
      '""',
    ),
    map(
      'Bundles with dcz or dcb bodies vary on the dictionary a request names too.',
      '$asset_registry_path',
      'vary',
      files.flatMap((file) =>
        file.served.dictionaries ? [[file.path, '"Accept-Encoding, Available-Dictionary"']] : [],
      ),
      '"Accept-Encoding"',
    ),
    map(
      'A bundle is the dictionary for the later versions of the same group and kind.',
      '$asset_registry_path',
      'use_as_dictionary',
      files.flatMap((file) => {
        const [, group, kind] = BUNDLE_NAME.exec(file.name) ?? [];
        if (!group) return [];
        const destination = kind === 'js' ? 'script' : 'style';
        return [
          [file.path, `'match="${prefix}${group}.*.${kind}", match-dest=("${destination}")'`],
        ];
      }),
      '""',
    ),
    map(
      'The dcz and dcb bodies of a bundle against the older version the request names in\n' +
        'Available-Dictionary (RFC 9842), smallest first. Regular expressions: hashes are\n' +
        'case-sensitive.',
      '"$asset_registry_path $http_available_dictionary"',
      'dictionary_bodies',
      dictionaryBodies.map(([key, value]) => [quote(key), quote(value)]),
      '""',
    ),
    ...negotiationMaps(),
  ];
  return { http: `${http.join('\n\n')}\n`, server: serverConf(build, options, prefix) };
}

/** Writes `dir/http.conf` and `dir/server.conf`, making `dir` if needed. */
export async function writeNginxConfig(dir: string, config: NginxConfig): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'http.conf'), config.http);
  await fs.writeFile(path.join(dir, 'server.conf'), config.server);
}
