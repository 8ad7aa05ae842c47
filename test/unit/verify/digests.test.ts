/** RecentDigests: a session's recent message digests in one byte array, as the Map of hex strings it replaced behaved. */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { RecentDigests } from '../../../src/verify/digests.js';

const hex = (n: number) => createHash('sha256').update(String(n)).digest('hex');

describe('RecentDigests', () => {
  test('keeps each digest by sequence number, oldest first, and drops the oldest past its bound', () => {
    const d = new RecentDigests(5);
    for (let seq = 1; seq <= 8; seq++) expect(d.set(seq, hex(seq))).toBe(true);
    expect(d.size).toBe(5);
    expect(d.get(3)).toBeUndefined();
    expect(d.get(4)).toBe(hex(4));
    expect(d.get(8)).toBe(hex(8));
    expect(d.entries()).toEqual([4, 5, 6, 7, 8].map((s) => [s, hex(s)]));
  });

  test('sequence numbers beyond 2^32 and out of order (late arrivals) are kept exactly', () => {
    const d = new RecentDigests(32);
    const seqs = [2 ** 40 + 7, 3, 2 ** 32, 2 ** 53 - 1, 1];
    for (const s of seqs) d.set(s, hex(s));
    for (const s of seqs) expect(d.get(s)).toBe(hex(s));
    expect(d.entries().map(([s]) => s)).toEqual(seqs);
  });

  test('refuses what is not a SHA-256 in lowercase hex, and keeps nothing for it', () => {
    const d = new RecentDigests(4);
    for (const bad of ['', 'ab', hex(1).toUpperCase(), `${hex(1)}00`, 'z'.repeat(64)])
      expect(d.set(1, bad)).toBe(false);
    expect(d.set(-1, hex(1))).toBe(false);
    expect(d.size).toBe(0);
    expect(d.get(1)).toBeUndefined();
  });
});
