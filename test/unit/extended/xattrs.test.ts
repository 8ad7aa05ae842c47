/** Other extended attributes: names as bytes, values by digest, in name order. */
import { describe, expect, it } from 'vitest';
import { decodeXattrs, encodeXattrs, xattrsText } from '../../../src/extended/xattrs.js';

const d = (fill: number) => Buffer.alloc(32, fill);

describe('xattrs', () => {
  it('sorts by name bytes, so the order they were set in does not matter', () => {
    const a = encodeXattrs([
      { name: Buffer.from('user.b'), digest: d(2) },
      { name: Buffer.from('user.a'), digest: d(1) },
    ]);
    const b = encodeXattrs([
      { name: Buffer.from('user.a'), digest: d(1) },
      { name: Buffer.from('user.b'), digest: d(2) },
    ]);
    expect(a.equals(b)).toBe(true);
    expect(xattrsText(a)).toBe(`user.a#${'01'.repeat(8)}, user.b#${'02'.repeat(8)}`);
  });

  it('keeps a name that is not UTF-8 exact, and shows it in the display form', () => {
    const name = Buffer.from([0x75, 0x73, 0x65, 0x72, 0x2e, 0xff, 0x0a]);
    const v = encodeXattrs([{ name, digest: d(3) }]);
    expect(decodeXattrs(v)?.[0]?.name.equals(name)).toBe(true);
    expect(xattrsText(v)).toBe(`user.\\xff\\n#${'03'.repeat(8)}`);
  });

  it('refuses bytes encodeXattrs did not make', () => {
    expect(decodeXattrs(Buffer.from('0005757365', 'hex'))).toBeUndefined();
    expect(decodeXattrs(Buffer.from('0000', 'hex'))).toBeUndefined();
    expect(xattrsText(Buffer.from('00', 'hex'))).toMatch(/^invalid xattr data/);
  });
});
