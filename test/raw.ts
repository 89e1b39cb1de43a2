import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import zlib from 'node:zlib';
import type { RequestListener } from 'node:http';

/** What a server sent back, read off the socket as bytes: nothing decoded, nothing normalized. */
export interface RawResponse {
  /** 0 when the server closed the connection without a status line. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Everything received, headers included. */
  bytes: Buffer;
}

export interface RawServer {
  port: number;
  /** Sends `GET <target>` (or `method`) with the given header lines, exactly as written. */
  request(
    target: string | Buffer,
    headers?: Record<string, string | Buffer>,
    method?: string,
  ): Promise<RawResponse>;
  /** Sends bytes as they are and reads the answer until the server closes the connection. */
  send(bytes: Buffer): Promise<RawResponse>;
  close(): Promise<void>;
}

/**
 * Serves `app` on loopback for requests written byte by byte: node's own client refuses (or
 * escapes) what a hostile client would send, like spaces, NUL bytes or bytes above 0x7f in the
 * request line.
 */
export async function listenRaw(app: RequestListener): Promise<RawServer> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const send = (bytes: Buffer) =>
    new Promise<RawResponse>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) =>
        // A server may reset a connection it refuses: that is an answer too, not a test failure.
        error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
      );
      socket.on('close', () => resolve(parseResponse(Buffer.concat(chunks))));
    });
  return {
    port,
    send,
    request(target, headers = {}, method = 'GET') {
      const lines: Buffer[] = [
        Buffer.concat([Buffer.from(`${method} `), Buffer.from(target), Buffer.from(' HTTP/1.1')]),
        Buffer.from('Host: localhost'),
        Buffer.from('Connection: close'),
        ...Object.entries(headers).map(([name, value]) =>
          Buffer.concat([Buffer.from(`${name}: `), Buffer.from(value)]),
        ),
      ];
      const crlf = Buffer.from('\r\n');
      return send(Buffer.concat([...lines.flatMap((line) => [line, crlf]), crlf]));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseResponse(bytes: Buffer): RawResponse {
  // Skip interim 1xx responses (103 Early Hints): the final one is what a client acts on.
  let start = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', start);
    if (end === -1) return { status: 0, headers: {}, body: Buffer.alloc(0), bytes };
    const [statusLine, ...lines] = bytes.subarray(start, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    if (status >= 100 && status < 200) {
      start = end + 4;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = bytes.subarray(end + 4);
    if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
    return { status, headers, body, bytes };
  }
}

function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const eol = data.indexOf('\r\n', at);
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!size) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** The body as the server meant it, its `Content-Encoding` undone. */
export function decodedBody(response: RawResponse): Buffer {
  switch (response.headers['content-encoding']) {
    case 'br':
      return zlib.brotliDecompressSync(response.body);
    case 'gzip':
      return zlib.gunzipSync(response.body);
    default:
      return response.body;
  }
}
