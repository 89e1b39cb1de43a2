import { createHash } from 'node:crypto';

/** The short content hash in output names: 12 hex digits of SHA-256 (48 bits). */
export function contentHash(data: string | Buffer): string {
  return sha256(data).slice(0, 12);
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A Subresource Integrity value for `integrity="..."`. */
export function integrity(data: Buffer): string {
  return `sha384-${createHash('sha384').update(data).digest('base64')}`;
}
