import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import fresh from 'fresh';
import { smallestFirst } from '../build/loaded';
import { BuildsOnDisk } from '../build/onDisk';
import type { Build, ServedFile } from '../build/loaded';
import { EncodingNegotiation } from './negotiation';
import type { PublicUrl } from '../registry/options';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** A bundle's file name: `<group>.<hash>.<kind>`. */
const BUNDLE_NAME = /^([A-Za-z0-9_-]+)\.[0-9a-f]{12}\.(js|css)$/;

/** A file's three representations, with their headers made once. */
interface Variant {
  body: Buffer;
  headers: OutgoingHttpHeaders;
  notModified: OutgoingHttpHeaders;
  etag: string;
}

/**
 * Serves the files of the current build from memory under the path of `publicPath`. Only names
 * the build (or, in production, the manifest on disk) lists are served, by exact match, so no
 * request can reach any other file: encoded dots, slashes or NUL bytes simply name nothing.
 */
export function createFileServer(
  currentBuild: () => Build | undefined,
  publicUrl: PublicUrl,
  immutable: boolean,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const prefix = publicUrl.path;
  const cacheControl = immutable ? IMMUTABLE : REVALIDATE;
  // Tags for another origin carry `crossorigin`, and fonts are always fetched with CORS: without
  // this header a browser refuses what the CDN pulled from here.
  const cors = publicUrl.crossOrigin ? { 'Access-Control-Allow-Origin': '*' } : {};
  const variants = new WeakMap<ServedFile, Map<string, Variant>>();
  const negotiation = new EncodingNegotiation();
  let onDisk: BuildsOnDisk | undefined;

  /**
   * A file the build in memory does not hold: one it reads on its first request (a source map,
   * a `url()` copy, a kept build's file) or, in production, a file of a build another process
   * wrote into `outDir` (a rolling deploy).
   */
  function elsewhere(build: Build | undefined, name: string): Promise<ServedFile | undefined> {
    const later = build?.fileOnRequest?.(name);
    const outDir = immutable ? build?.outDir : undefined;
    if (!outDir) return later ?? Promise.resolve(undefined);
    const disk = onDisk?.outDir === outDir ? onDisk : (onDisk = new BuildsOnDisk(outDir));
    return later ? later.then((file) => file ?? disk.find(name)) : disk.find(name);
  }

  /**
   * `Use-As-Dictionary` for a bundle: the browser keeps it as a dictionary for later versions of
   * the same bundle (same group and kind, any hash). A structured-field list for match-dest:
   * Chromium ignores a bare string.
   */
  function dictionaryUse(name: string): OutgoingHttpHeaders {
    const bundle = immutable ? BUNDLE_NAME.exec(name) : null;
    if (!bundle) return {};
    const [, group, kind] = bundle;
    const destination = kind === 'js' ? 'script' : 'style';
    return {
      'Use-As-Dictionary': `match="${prefix}${group}.*.${kind}", match-dest=("${destination}")`,
    };
  }

  function variantOf(file: ServedFile, name: string, encoding: string): Variant {
    let table = variants.get(file);
    if (!table) {
      table = new Map();
      const vary = file.dictionaries ? 'Accept-Encoding, Available-Dictionary' : 'Accept-Encoding';
      const extra = { ...cors, ...dictionaryUse(name) };
      for (const [coding, body] of [
        ['identity', file.body],
        ['br', file.br],
        ['gzip', file.gzip],
      ] as const) {
        // A tiny file's twin can outweigh it (gzip adds 18 bytes of framing): send the smaller.
        if (!body || (coding !== 'identity' && body.length >= file.body.length)) continue;
        const etag = coding === 'identity' ? file.etag : `${file.etag.slice(0, -1)}-${coding}"`;
        table.set(coding, makeVariant(file, body, coding, etag, vary, extra));
      }
      for (const [hash, bodies] of file.dictionaries ?? []) {
        for (const coding of smallestFirst(bodies)) {
          const id = `${coding}-${hash.slice(0, 11).replace(/[+/]/g, '_')}`;
          const etag = `${file.etag.slice(0, -1)}-${id}"`;
          const body = bodies[coding]!;
          table.set(`${coding}:${hash}`, makeVariant(file, body, coding, etag, vary, extra));
        }
      }
      variants.set(file, table);
    }
    return table.get(encoding) ?? table.get('identity')!;
  }

  function makeVariant(
    file: ServedFile,
    body: Buffer,
    encoding: string,
    etag: string,
    vary: string,
    extra: OutgoingHttpHeaders,
  ): Variant {
    const notModified: OutgoingHttpHeaders = {
      'Cache-Control': cacheControl,
      ETag: etag,
      Vary: vary,
      ...extra,
    };
    const headers: OutgoingHttpHeaders = {
      ...notModified,
      'Content-Type': file.type,
      'Content-Length': body.length,
    };
    if (encoding !== 'identity') headers['Content-Encoding'] = encoding;
    return { body, headers, notModified, etag };
  }

  return function serveAsset(req, res) {
    const url = req.url ?? '';
    if (!url.startsWith(prefix)) return false;
    const query = url.indexOf('?', prefix.length);
    const name = url.slice(prefix.length, query === -1 ? undefined : query);
    const build = currentBuild();
    const file = build?.files.get(name);
    if (file) send(req, res, name, file);
    else
      elsewhere(build, name).then(
        (found) => send(req, res, name, found),
        () => send(req, res, name, undefined),
      );
    return true;
  };

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    file: ServedFile | undefined,
  ): void {
    if (!file) {
      res.writeHead(404, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
      });
      res.end('Not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Method not allowed');
      return;
    }
    const encoding = negotiation.encodingOf(req, file);
    const variant = variantOf(file, name, encoding);
    if (req.headers['if-none-match'] && fresh(req.headers, { etag: variant.etag })) {
      res.writeHead(304, withEarlierVary(res, variant.notModified));
      res.end();
      return;
    }
    res.writeHead(200, withEarlierVary(res, variant.headers));
    res.end(req.method === 'HEAD' ? undefined : variant.body);
  }
}

/**
 * The headers to write, keeping the fields of a `Vary` that an earlier middleware set (cors sets
 * `Vary: Origin`): a header given to writeHead replaces the one set before, and a shared cache
 * that lost `Origin` would hand one origin's CORS answer to another.
 */
function withEarlierVary(res: ServerResponse, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const earlier = res.getHeader('Vary');
  if (earlier === undefined) return headers;
  const fields = [earlier].flat().join(', ');
  const present = new Set(fields.toLowerCase().split(/\s*,\s*/));
  if (present.has('*')) return { ...headers, Vary: '*' };
  const added = String(headers.Vary)
    .split(', ')
    .filter((field) => !present.has(field.toLowerCase()));
  return { ...headers, Vary: [fields, ...added].join(', ') };
}
