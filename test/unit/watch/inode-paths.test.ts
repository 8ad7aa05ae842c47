/**
 * The fanotify backend's covered files by inode (src/watch/inode-paths.ts): every path given comes
 * back for its inode, hard links inside the tree too, nothing twice, inode numbers beyond 2^53
 * exact; and 50,000 files fit in a few MB (a map of path Buffers held 40 MB of the daemon).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { InodePaths, inoKey } from '../../../src/watch/inode-paths.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const texts = (ps: Buffer[]) => ps.map((p) => p.toString('latin1')).sort();

describe('InodePaths', () => {
  it('gives back every path of an inode, once, with its bytes', () => {
    const t = new InodePaths();
    expect(t.add(7, b('/srv/app/a.py'))).toBe(true);
    expect(t.add(7, b('/srv/app/a.py'))).toBe(false);
    expect(t.add(7, b('/srv/other/\xff.py'))).toBe(false); // a hard link: not new to the reader
    expect(t.add(8, b('/top'))).toBe(true);
    expect(texts(t.paths(7))).toEqual(['/srv/app/a.py', '/srv/other/\xff.py']);
    expect(texts(t.paths(8))).toEqual(['/top']);
    expect(t.paths(9)).toEqual([]);
    expect(t.size).toBe(2);
    expect([...t.keys()].sort()).toEqual([7, 8]);
    // The caller's Buffer may change later: the table holds copies.
    const p = b('/srv/app/c.py');
    t.add(10, p);
    p.fill(0x41);
    expect(texts(t.paths(10))).toEqual(['/srv/app/c.py']);
  });

  it('keeps inode numbers past 2^53 exact', () => {
    const big = (1n << 64n) - 1n;
    expect(inoKey(big)).toBe(big.toString());
    expect(inoKey(big - 1n)).not.toBe(inoKey(big));
    expect(inoKey(12345n)).toBe(12345);
    const t = new InodePaths();
    t.add(inoKey(big), b('/a'));
    expect(t.has(inoKey(big - 1n))).toBe(false);
    expect(texts(t.paths(inoKey(big)))).toEqual(['/a']);
  });

  it('holds 50,000 files in 2,000 directories in a few MB, pinning no pool slab', async () => {
    // A collection, to measure what stays alive (`--expose-gc` set at run time, for this test).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const t = new InodePaths();
    for (let i = 0; i < 50_000; i++) {
      // Each path a view of Node's buffer pool, other allocations between them, as the paths the
      // daemon reads from its database are: a copy in a Buffer of its own pinned a slab each.
      t.add(1_000_000 + i, b(`/tmp/fim-bench/watch/tree/cache_1/broker_4/tasks_${i % 2000}/events${i}.py`));
      Buffer.from('garbage'.repeat(500));
    }
    // Array buffers are freed by a sweeper after the collection: give it a turn or two.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    const held = process.memoryUsage().arrayBuffers - before;
    expect(held).toBeLessThan(3 << 20);
    expect(texts(t.paths(1_000_000 + 49_999))).toEqual([
      '/tmp/fim-bench/watch/tree/cache_1/broker_4/tasks_1999/events49999.py',
    ]);
    t.clear();
    expect(t.size).toBe(0);
  });
});
