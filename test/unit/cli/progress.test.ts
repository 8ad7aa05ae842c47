/** The progress line: percentages and time left from the baseline's totals, never wider than the terminal. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../src/cli/progress.js';
import type { ScanStats } from '../../../src/scan/scan.js';

const stats = (recorded: number, bytes: bigint): ScanStats => ({
  entries: recorded,
  recorded,
  files: recorded,
  bytes,
  hashedBytes: bytes,
  errors: 0,
});

describe('progressLine', () => {
  it('shows the share of entries and bytes done and the time left', () => {
    const line = progressLine(stats(250, 500_000_000n), 10, 200, { entries: 1000, bytes: 2_000_000_000n });
    expect(line).toBe('checking: 25% of 1000 entries, 25% of 2000 MB, 30 s left');
  });

  it('never says 100% before the end, and estimates nothing from almost nothing', () => {
    expect(
      progressLine(stats(1000, 2_000_000_000n), 10, 200, { entries: 1000, bytes: 2_000_000_000n }),
    ).toContain('99% of 1000 entries, 99% of 2000 MB');
    expect(progressLine(stats(1, 1n), 1, 200, { entries: 1000, bytes: 2_000_000_000n })).toContain(
      'estimating',
    );
  });

  it('follows entries when the baseline holds no bytes', () => {
    expect(progressLine(stats(500, 0n), 4, 200, { entries: 1000, bytes: 0n })).toContain(
      '50% of 1000 entries, 50% of 0 MB, 4 s left',
    );
  });

  it('gives a narrow terminal the short form, time left included', () => {
    expect(progressLine(stats(250, 500_000_000n), 10, 40, { entries: 1000, bytes: 2_000_000_000n })).toBe(
      'checking: 25%, 30 s left',
    );
  });

  it('fits any terminal width, with the last column left free', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(10_000_000), fc.boolean(), (width, n, known) => {
        const line = progressLine(
          stats(n, BigInt(n) * 1000n),
          3,
          width,
          known ? { entries: n + 1, bytes: 1n << 40n } : undefined,
        );
        expect(line.length).toBeLessThanOrEqual(Math.max(1, width - 1));
      }),
    );
  });
});
