import { SITE_FILES } from '../app';
import { decodedBody, type RawResponse } from '../raw';
import { CANARY, good, leavesGoodBuild, main, mainBody, server, useGoodBuild } from './badInput';

/**
 * Bad requests: traversals, NUL bytes, long paths, malformed Accept-Encoding, If-None-Match and
 * Range headers, and methods other than GET and HEAD. After each the build on disk is as it was
 * and the last good build still serves the same bytes.
 */

// Requests: answered by the library (404, 405, 304, 200) or by node itself (400, 431), never 5xx,
// never with a byte of a file outside the build.

interface RequestCase {
  target: string | Buffer | (() => string | Buffer);
  method?: string;
  headers?: Record<string, string | Buffer> | (() => Record<string, string>);
  /** The status the request must get, or a check of the whole response. */
  expect: number | ((response: RawResponse) => void);
}

const bundlePath = () => `/assets/${main.file}`;

const TRAVERSALS = [
  '/assets/../vendor/lib.js',
  '/assets/..%2fvendor/lib.js',
  '/assets/..%2Fvendor%2Flib.js',
  '/assets/%2e%2e/vendor/lib.js',
  '/assets/%2E%2e%2fvendor%2flib.js',
  '/assets/.%2e/vendor/lib.js',
  '/assets/%2e./vendor/lib.js',
  '/assets/%252e%252e%252fvendor%252flib.js',
  '/assets/%25252e%25252e/vendor/lib.js',
  '/assets/..\\vendor\\lib.js',
  '/assets/..%5cvendor%5clib.js',
  '/assets/%5c..%5c..%5ccanary.js',
  '/assets/....//vendor/lib.js',
  '/assets/..;/vendor/lib.js',
  '/assets/%c0%ae%c0%ae/vendor/lib.js',
  '/assets/%c0%ae%c0%ae%c0%afvendor%c0%aflib.js',
  '/assets/%e0%80%ae%e0%80%ae/vendor/lib.js',
  '/assets/%uff0e%uff0e/vendor/lib.js',
  '/assets/%ef%bc%8e%ef%bc%8e%ef%bc%8fcanary.js',
  '/assets/../canary.js',
  '/assets/../../package.json',
  '/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/assets/canary.txt',
  '/assets/manifest.json',
  '/assets/.cache/',
  '/assets/%2ecache/',
  '/assets/out/canary.txt',
  '/assets//etc/passwd',
  '/assets/file:///etc/passwd',
  '/assets/?../canary.js',
  '/assets/#/../canary.js',
  '//assets/../canary.js',
  '/../assets/../canary.js',
  'http://localhost/assets/../canary.js',
  '/assets/vendor/lib.js',
  '/assets/site/base.less',
];

const whole =
  (status = 200) =>
  (response: RawResponse) => {
    expect(response.status).toBe(status);
    expect(decodedBody(response).toString()).toBe(mainBody);
  };

const REQUEST_CASES: [string, RequestCase][] = [
  ...TRAVERSALS.flatMap((target): [string, RequestCase][] => [
    [`traversal: ${target}`, { target: Buffer.from(target, 'latin1'), expect: 404 }],
    [
      `traversal, br and gzip accepted: ${target}`,
      {
        target: Buffer.from(target, 'latin1'),
        headers: { 'Accept-Encoding': 'br, gzip' },
        expect: 404,
      },
    ],
  ]),
  ['a NUL byte escaped after the name', { target: () => `${bundlePath()}%00`, expect: 404 }],
  ['a NUL byte escaped before it', { target: () => `/assets/%00${main.file}`, expect: 404 }],
  ['a NUL byte escaped as a folder', { target: () => `/assets/%00/../${main.file}`, expect: 404 }],
  ['a raw NUL byte: node answers 400', { target: () => `${bundlePath()}\0.map`, expect: 400 }],
  ['a raw space: node answers 400', { target: '/assets/a b.js', expect: 400 }],
  ['a raw control byte: node answers 400', { target: '/assets/\x01.js', expect: 400 }],
  [
    'raw UTF-8 bytes (fullwidth dots): node answers 400',
    { target: Buffer.from('/assets/\uff0e\uff0e/vendor/lib.js'), expect: 400 },
  ],
  ['an 8,000-byte path', { target: `/assets/${'a'.repeat(8_000)}.js`, expect: 404 }],
  [
    'an 8,000-byte path of "../"',
    { target: `/assets/${'../'.repeat(2_600)}canary.js`, expect: 404 },
  ],
  [
    'a 20,000-byte path: node answers 431',
    { target: `/assets/${'a'.repeat(20_000)}`, expect: 431 },
  ],
  ['a 1 MB path: node answers 431', { target: `/assets/${'%2e'.repeat(350_000)}`, expect: 431 }],
  [
    'an 8,000-byte query after a good name',
    { target: () => `${bundlePath()}?${'x'.repeat(8_000)}`, expect: whole() },
  ],
  ...[
    'br;q=',
    ';;;',
    ',,,',
    'gzip;q=1.5',
    'br;q=-1',
    'br;q=abc, gzip;q=',
    '*;q=0',
    'identity;q=0',
    'br;q=0, gzip;q=0, identity;q=0, *;q=0',
    '*',
    'BR',
    'x-gzip',
    'gzip'.padEnd(8_000, ', gzip'),
    'br\t;\tq=0.5',
    '\xff\xfe',
  ].map((value): [string, RequestCase] => [
    `Accept-Encoding: ${value.slice(0, 40)}`,
    {
      target: bundlePath,
      headers: { 'Accept-Encoding': Buffer.from(value, 'latin1') },
      expect: whole(),
    },
  ]),
  [
    'If-None-Match: * matches any version',
    { target: bundlePath, headers: { 'If-None-Match': '*' }, expect: 304 },
  ],
  [
    'If-None-Match: the weak form of the ETag',
    {
      target: bundlePath,
      headers: () => ({ 'If-None-Match': `W/${good.current.files.get(main.file)!.etag}` }),
      expect: 304,
    },
  ],
  ...[
    '"',
    '"unterminated',
    'W/',
    'W/""',
    ',,,',
    '"a", "b", W/"c"',
    'x'.repeat(8_000),
    '"x",'.repeat(2_000),
    '\xff"',
  ].map((value): [string, RequestCase] => [
    `If-None-Match: ${value.slice(0, 40)}`,
    {
      target: bundlePath,
      headers: { 'If-None-Match': Buffer.from(value, 'latin1') },
      expect: whole(),
    },
  ]),
  ...[
    'bytes=0-10',
    'bytes=-5',
    'bytes=10-5',
    'bytes=abc',
    'bytes=999999999999-',
    'bytes=0-0,1-1,2-2',
    `bytes=${'0-0,'.repeat(2_000)}0-0`,
    'items=0-1',
  ].map((value): [string, RequestCase] => [
    `Range: ${value.slice(0, 40)} is ignored: the whole file`,
    { target: bundlePath, headers: { Range: value, 'If-Range': '"x"' }, expect: whole() },
  ]),
  ...['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK'].map(
    (method): [string, RequestCase] => [
      `${method} on a bundle`,
      {
        target: bundlePath,
        method,
        expect: (response) => {
          expect(response.status).toBe(405);
          expect(response.headers.allow).toBe('GET, HEAD');
        },
      },
    ],
  ),
  ['POST on no file', { target: '/assets/nothing.js', method: 'POST', expect: 404 }],
  [
    'HEAD: the headers, no body',
    {
      target: bundlePath,
      method: 'HEAD',
      expect: (response) => {
        expect(response.status).toBe(200);
        expect(response.headers['content-length']).toBe(String(Buffer.byteLength(mainBody)));
        expect(response.body.length).toBe(0);
      },
    },
  ],
  ['an unknown method: node answers 400', { target: '/assets/x.js', method: 'FOO', expect: 400 }],
  ['a lowercase method: node answers 400', { target: bundlePath, method: 'get', expect: 400 }],
  ['CONNECT: node closes the connection', { target: '/assets/x', method: 'CONNECT', expect: 0 }],
  ['OPTIONS *', { target: '*', method: 'OPTIONS', expect: 404 }],
];

async function runRequest(spec: RequestCase): Promise<void> {
  const target = typeof spec.target === 'function' ? spec.target() : spec.target;
  const headers = typeof spec.headers === 'function' ? spec.headers() : spec.headers;
  const response = await server.request(target, headers, spec.method);
  expect(response.status).toBeLessThan(500);
  if (typeof spec.expect === 'number') expect(response.status).toBe(spec.expect);
  else spec.expect(response);
  const received = response.bytes.toString('latin1');
  for (const secret of [CANARY, SITE_FILES['vendor/lib.js'], SITE_FILES['site/base.less']]) {
    expect(received).not.toContain(secret);
  }
}

useGoodBuild();

test.each(REQUEST_CASES.map(([label, spec]): [string, RequestCase] => [`HTTP: ${label}`, spec]))(
  'bad input: %s',
  (_label, spec) => leavesGoodBuild(() => runRequest(spec)),
);
