/**
 * The scanner's output order while files are hashed ahead: every output runs exactly once, in the
 * order it was produced, with at most `slots` hashes in flight and the queue's memory bounded
 * however long a directory is.
 */
import { describe, expect, it } from 'vitest';
import { InOrder } from '../../../src/scan/in-order.js';

describe('InOrder', () => {
  it('runs an output at once when nothing waits, and behind a pending hash otherwise', () => {
    const out: string[] = [];
    const o = new InOrder(4);
    o.emit(() => out.push('a'));
    expect(out).toEqual(['a']);
    o.waitFor(() => out.push('b (hashed)'));
    o.emit(() => out.push('c'));
    expect(out).toEqual(['a']);
    o.drain();
    expect(out).toEqual(['a', 'b (hashed)', 'c']);
    o.emit(() => out.push('d'));
    expect(out).toEqual(['a', 'b (hashed)', 'c', 'd']);
  });

  it('never has more than `slots` hashes in flight: room() completes the oldest, in order', () => {
    const out: number[] = [];
    const o = new InOrder(3);
    let inFlight = 0;
    let most = 0;
    for (let i = 0; i < 50; i++) {
      o.room();
      inFlight++;
      most = Math.max(most, inFlight);
      o.waitFor(() => {
        inFlight--;
        out.push(i);
      });
      o.emit(() => out.push(1000 + i));
    }
    o.drain();
    expect(most).toBe(3);
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => [i, 1000 + i]).flat());
  });

  it('lets go of what ran, even when the queue never empties (a directory of 100,000 files)', () => {
    const o = new InOrder(32);
    let ran = 0;
    for (let i = 0; i < 100_000; i++) {
      o.room();
      o.waitFor(() => ran++);
      o.emit(() => ran++);
    }
    const queued = (o as unknown as { q: unknown[] }).q.length;
    expect(queued).toBeLessThan(2 * 1024 + 64 * 2);
    o.drain();
    expect(ran).toBe(200_000);
  });
});
