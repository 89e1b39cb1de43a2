import { BASE64, vlq } from '../src/build/vlq';

/** A base64 VLQ value read back. */
function decode(text: string): number {
  let value = 0;
  let scale = 1;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) * scale;
    scale *= 32;
  }
  return value % 2 ? -(value - 1) / 2 : value / 2;
}

describe('vlq', () => {
  test.each([
    0,
    1,
    -1,
    15,
    16,
    -16,
    1000,
    -1000,
    2 ** 30 - 1,
    -(2 ** 30 - 1),
    2 ** 30,
    -(2 ** 30),
    2 ** 40,
  ])('%d is read back as itself', (value) => {
    const text = vlq(value);
    expect(decode(text)).toBe(value);
    // Every digit but the last has the continuation bit.
    expect([...text].map((char) => BASE64.indexOf(char) >= 32)).toEqual([
      ...Array<boolean>(text.length - 1).fill(true),
      false,
    ]);
  });

  test('the spec examples', () => {
    expect([0, 1, -1, 16, 123456789].map(vlq)).toEqual(['A', 'C', 'D', 'gB', 'qxmvrH']);
  });
});
