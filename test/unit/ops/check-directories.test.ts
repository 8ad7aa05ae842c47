/**
 * The directories a compare collects (the daemon watches each one a full check finds) are copied
 * packed. The scanner's path Buffers are views of Node's 8 KiB pool slabs; kept to the end of a
 * full check, each held its slab, and the worker's structured clone copied every slab whole to the
 * main thread (measured on the daemon's benchmark tree: 2,000 directories in 1,425 slabs, 11.7 MB;
 * packed, 4 chunks, 256 KB).
 */
import { describe, expect, it } from 'vitest';
import { packedCopies } from '../../../src/ops/check.js';

describe('packedCopies', () => {
  it('copies many small paths into a few 64 KiB chunks, bytes intact', () => {
    const pack = packedCopies();
    // Each source path a view of a slab of its own, as the scanner's are in a large walk.
    const sources = Array.from({ length: 2000 }, (_, i) => {
      const slab = Buffer.alloc(8192);
      const p = Buffer.from(`/srv/app/dir-${i}/sub-${i % 7}`);
      p.copy(slab, 100);
      return slab.subarray(100, 100 + p.length);
    });
    const copies = sources.map(pack);
    expect(copies.every((c, i) => c.equals(sources[i]!))).toBe(true);
    const held = new Set(copies.map((c) => c.buffer));
    const bytes = [...held].reduce((n, b) => n + b.byteLength, 0);
    expect(held.size).toBeLessThanOrEqual(2);
    expect(bytes).toBeLessThanOrEqual(128 * 1024);
    // A copy is not a view of its source: changing one leaves the other.
    sources[0]!.fill(0x41);
    expect(copies[0]!.toString()).toBe('/srv/app/dir-0/sub-0');
  });

  it('a path longer than a chunk gets a chunk of its own size', () => {
    const pack = packedCopies();
    const long = Buffer.alloc(100_000, 0x61);
    const c = pack(long);
    expect(c.equals(long)).toBe(true);
    expect(pack(Buffer.from('/x')).toString()).toBe('/x');
  });
});
