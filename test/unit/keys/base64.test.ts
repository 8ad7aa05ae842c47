/**
 * Keys, certificates and signatures are compared as decoded bytes: two texts must never decode to
 * one key. Strict decoding accepts exactly the canonical base64 of the right number of bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../../src/keys/ed25519.js';

describe('decodeBase64Strict', () => {
  it('gives back exactly the bytes of their canonical encoding', () => {
    fc.assert(
      fc.property(fc.constantFrom(32, 64), fc.integer({ min: 0, max: 255 }), (n, seed) => {
        const b = Buffer.from(Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff));
        return decodeBase64Strict(b.toString('base64'), n)?.equals(b) === true;
      }),
    );
  });

  it('refuses every other text: junk, the URL alphabet, whitespace, padding, trailing bits, length', () => {
    const key = Buffer.alloc(32, 0xfb); // encodes with "+" and "/"
    const good = key.toString('base64');
    expect(good).toMatch(/[+/]/);
    const bad = [
      good.replaceAll('+', '-').replaceAll('/', '_'), // base64url: Node decodes it to the same bytes
      `${good.slice(0, 10)} ${good.slice(11)}`, // a space for a character
      `${good.slice(0, 10)}\n${good.slice(10, -1)}`, // a newline in, the padding out
      good.slice(0, -1), // no padding
      `${good}=`, // extra padding
      `${good.slice(0, -2)}B=`, // the last character carries bits beyond the 32 bytes
      `${good.slice(0, 20)}*${good.slice(21)}`, // a character outside the alphabet
      Buffer.alloc(33).toString('base64'), // one byte too many
      Buffer.alloc(31).toString('base64'), // one too few
      '',
    ];
    for (const text of bad) expect(decodeBase64Strict(text, 32), JSON.stringify(text)).toBeNull();
    expect(decodeBase64Strict(Buffer.alloc(64, 1).toString('base64'), 64)?.length).toBe(64);
  });
});
