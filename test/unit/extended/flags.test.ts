/** Inode flags in lsattr's letters (the live comparison with lsattr is in e2e). */
import { describe, expect, it } from 'vitest';
import { encodeFlags, flagsEqual, flagsText } from '../../../src/extended/flags.js';

describe('inode flags', () => {
  it.each([
    [0x00000000, '(none)'],
    [0x00080000, 'e'],
    [0x00080010, 'ie'],
    [0x00080020, 'ae'],
    [0x000800f0, 'iadAe'],
    [0x00011000, 'DI'],
    [0x00800000, 'C'],
    [0x00100000, 'V'],
  ])('0x%s is %s', (flags, text) => {
    expect(flagsText(encodeFlags(flags))).toBe(text);
  });

  it('shows flags it does not know in hex; ext4 bookkeeping is not shown', () => {
    expect(flagsText(encodeFlags(0x80000000))).toBe('0x80000000');
    expect(flagsText(encodeFlags(0x00040000))).toBe('(none)');
  });

  it('compares all but what the file system sets on its own (I, N, bookkeeping)', () => {
    const e = encodeFlags(0x80000);
    expect(flagsEqual(e, encodeFlags(0x81000))).toBe(true); // I
    expect(flagsEqual(e, encodeFlags(0x10080000))).toBe(true); // N
    expect(flagsEqual(e, encodeFlags(0xc0000))).toBe(true); // huge file
    expect(flagsEqual(e, encodeFlags(0x80010))).toBe(false); // i
    expect(flagsEqual(e, encodeFlags(0x80020))).toBe(false); // a
    expect(flagsEqual(e, encodeFlags(0x80000000 | 0x80000))).toBe(false); // unknown: compared
  });
});
