/** Base64 VLQ, the number encoding of source maps' `mappings`. */

export const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** One value, base64 VLQ encoded. */
export function vlq(value: number): string {
  // Bit operations while the doubled value fits 31 bits (any line or column of a real file).
  if (value > SMALL || value < -SMALL) return largeVlq(value);
  let rest = value < 0 ? (-value << 1) | 1 : value << 1;
  let text = '';
  do {
    let digit = rest & 31;
    rest >>>= 5;
    if (rest > 0) digit |= 32;
    text += BASE64[digit];
  } while (rest > 0);
  return text;
}

const SMALL = 2 ** 30 - 1;

function largeVlq(value: number): string {
  let rest = value < 0 ? -value * 2 + 1 : value * 2;
  let text = '';
  do {
    const digit = rest % 32;
    rest = Math.floor(rest / 32);
    text += BASE64[rest > 0 ? digit + 32 : digit];
  } while (rest > 0);
  return text;
}
