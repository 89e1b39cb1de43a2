/**
 * The middleware's choice of representation (src/express/serve.ts), as nginx maps: what
 * Accept-Encoding accepts, whether a dictionary may be used, and so which file answers. They read
 * the per-build maps of nginx.ts: `$asset_registry_name`, `_twins` and `_dictionary_bodies`.
 */
import { map } from './nginxSyntax';

export function negotiationMaps(): string[] {
  const prefix = '$asset_registry_';
  return [
    ...(['br', 'gzip', 'dcz', 'dcb'] as const).map(acceptsMap),
    map(
      'RFC 9842: no dictionary for a cross-site no-cors fetch, whose response the page cannot read.',
      '"$http_sec_fetch_mode $http_sec_fetch_site"',
      'dictionary_allowed',
      [['"~^no-cors cross-site$"', '""']],
      '1',
    ),
    map(
      'The representation the middleware picks: when a dictionary may be used, the first (the\n' +
        'smallest) of the dictionary bodies whose coding is accepted; else br, then gzip, as\n' +
        'accepted, when the file has that twin; else the file itself.',
      `"${prefix}dictionary_allowed${prefix}accepts_dcb${prefix}accepts_dcz ` +
        `${prefix}dictionary_bodies ${prefix}accepts_br:${prefix}accepts_gzip:${prefix}twins"`,
      'encoding',
      [
        ['"~^1dcb\\S* (dcb-\\S+)"', '$1'],
        ['"~^1\\S*dcz (dcz-\\S+)"', '$1'],
        ['"~^1dcb\\S* \\S+ (dcb-\\S+)"', '$1'],
        ['"~^1\\S*dcz \\S+ (dcz-\\S+)"', '$1'],
        ['"~ br:[^:]*:.*br"', 'br'],
        ['"~ :gzip:.*gzip"', 'gzip'],
      ],
      'identity',
    ),
    map(
      'A dictionary body says so in Content-Encoding (nginx knows nothing of dcz and dcb); a 304\n' +
        'sends none.',
      '"$status $asset_registry_encoding"',
      'dictionary_encoding',
      [['"~^200 (dc[bz])-"', '$1']],
      '""',
    ),
    map(
      'Where server.conf sends the request: 404 for a name not served (whatever the method),\n' +
        '405 for methods other than GET and HEAD, else the location of the representation.',
      '"$asset_registry_name $request_method $asset_registry_encoding"',
      'route',
      [
        ['"~^ "', '404'],
        ['"~^\\S+ (GET|HEAD) (dc[bz]-\\S+)$"', '$2'],
        ['"~^(\\S+) (GET|HEAD) (\\S+)$"', '$3/$1'],
      ],
      '405',
    ),
  ];
}

/**
 * Whether Accept-Encoding accepts a coding, as the middleware's negotiator reads it: named with
 * q=0 is no, named is yes, else "*" decides. (nginx's own gzip_static and brotli_static know
 * neither "*" nor a file's missing twin, so server.conf uses them with `always`.)
 */
function acceptsMap(coding: string): string {
  const refused = (token: string) => `"~*(^|,)\\s*${token}\\s*;\\s*q=0(\\.0*)?\\s*(,|$)"`;
  const named = (token: string) => `"~*(^|,)\\s*${token}\\s*(;|,|$)"`;
  return map(
    coding === 'br'
      ? 'What Accept-Encoding accepts: named with q=0 is no, named is yes, else "*".'
      : '',
    '$http_accept_encoding',
    `accepts_${coding}`,
    [
      [refused(coding), '""'],
      [named(coding), coding],
      [refused('\\*'), '""'],
      [named('\\*'), coding],
    ],
    '""',
  );
}
