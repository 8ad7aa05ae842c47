/** Times of any year: ISO text without Date's range, and the split the store uses. */
import { describe, expect, it } from 'vitest';
import { nsToIso, splitTime } from '../../src/ns-time.js';

describe('nsToIso', () => {
  it.each([
    [0n, '1970-01-01T00:00:00.000000000Z'],
    [1764547200123456789n, '2025-12-01T00:00:00.123456789Z'],
    [-1n, '1969-12-31T23:59:59.999999999Z'],
    [-2208988800000000000n, '1900-01-01T00:00:00.000000000Z'],
    [-2147483648000000000n, '1901-12-13T20:45:52.000000000Z'],
    [10413792000000000000n, '2300-01-01T00:00:00.000000000Z'],
    // ext4's last second (what `touch -d @99999999999999` leaves there)
    [15032385535999999999n, '2446-05-10T22:38:55.999999999Z'],
    // tmpfs keeps 64-bit seconds: what `ls --full-time` printed for these
    [9999999999999000000000n, '+318857-05-20T17:46:39.000000000Z'],
    [-9999999999999000000000n, '-314918-08-13T06:13:21.000000000Z'],
    [67767976233316800000000000n, '+2147483647-12-29T12:00:00.000000000Z'],
    [-62135596800000000000n, '0001-01-01T00:00:00.000000000Z'],
    [-62167219200000000001n, '-000001-12-31T23:59:59.999999999Z'],
  ])('%s ns is %s', (ns, iso) => {
    expect(nsToIso(ns)).toBe(iso);
  });

  it('agrees with Date wherever Date reaches', () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor((Math.random() * 2 - 1) * 8.64e15);
      const expected = new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
      expect(nsToIso(BigInt(ms) * 1_000_000n)).toBe(expected);
    }
  });
});

describe('splitTime', () => {
  it('floors: a time before 1970 counts its nanoseconds forward from the second before', () => {
    expect(splitTime(-1n)).toEqual({ sec: -1n, nsec: 999_999_999 });
    expect(splitTime(1_500_000_000n)).toEqual({ sec: 1n, nsec: 500_000_000 });
  });

  it('refuses what no 64-bit second count holds', () => {
    expect(splitTime((1n << 63n) * 1_000_000_000n)).toBeUndefined();
    expect(splitTime(((1n << 63n) - 1n) * 1_000_000_000n)).toBeDefined();
  });
});
