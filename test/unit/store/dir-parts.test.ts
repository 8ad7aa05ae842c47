/**
 * Directory runs gather their records' bytes in a batch and hash a batch at a time: the digest of a
 * run must be the digest of its records' bytes one after the other, wherever a batch ends, and
 * whether a record's bytes came as a Buffer or were written into the batch.
 */
import { describe, expect, it } from 'vitest';
import { canonicalRecord } from '../../../src/fields.js';
import { Blake3 } from '../../../src/hash/blake3.js';
import { pathToKey } from '../../../src/path-key.js';
import { DEPLOY_BYTES, deployBytes } from '../../../src/store/deploy-digest.js';
import { type DirPart, DirRuns } from '../../../src/store/dir-parts.js';
import { rootRuns } from '../../../src/store/root.js';
import type { FileRecord } from '../../../src/types.js';
import { fileRecord } from '../../helpers/records.js';

/** Two directories; the first holds more than three batches of bytes and one record bigger than a batch. */
function records(): FileRecord[] {
  const out: FileRecord[] = [];
  for (let i = 0; i < 900; i++) {
    const name = `/srv/a/f${String(i).padStart(4, '0')}`;
    const big = i === 450 ? Buffer.alloc(70_000, 7) : i % 97 === 0 ? Buffer.alloc(1_000 + i, 3) : null;
    out.push(
      big
        ? fileRecord(name, { type: 'symlink', target: big })
        : fileRecord(name, {
            content: Buffer.alloc(32, i & 0xff),
            size: BigInt(i),
            mtime: BigInt(i) * 10n ** 17n,
          }),
    );
  }
  out.push(fileRecord('/srv/b/x', { content: Buffer.alloc(32, 9) }));
  return out;
}

/** Each directory's digest as one update per record would give it. */
function expected(rs: FileRecord[], bytes: (key: Buffer, r: FileRecord) => Buffer): Map<string, string> {
  const by = new Map<string, Buffer[]>();
  for (const r of rs) {
    const dir = r.path.subarray(0, r.path.lastIndexOf(0x2f)).toString();
    by.set(dir, [...(by.get(dir) ?? []), bytes(pathToKey(r.path), r)]);
  }
  const out = new Map<string, string>();
  for (const [dir, list] of by) {
    const h = new Blake3();
    for (const b of list) h.update(b);
    out.set(dir, h.digest().toString('hex'));
  }
  return out;
}

const digests = (parts: DirPart[]) => parts.map((p) => [p.count, p.digest.toString('hex')]);

describe('directory runs', () => {
  const rs = records();
  const total = rs.reduce((n, r) => n + canonicalRecord(pathToKey(r.path), r, 3).length, 0);

  it('the test crosses batches: more bytes than three batches, one record larger than a batch', () => {
    expect(total).toBeGreaterThan(3 * (1 << 15) + 70_000);
  });

  it('a root run is the digest of its records canonical bytes, wherever the batches end', () => {
    const parts: DirPart[] = [];
    const runs = rootRuns((p) => parts.push(p));
    for (const r of rs) runs.add(pathToKey(r.path), r);
    runs.flush();
    const want = expected(rs, (k, r) => canonicalRecord(k, r, 3));
    expect(digests(parts)).toEqual([
      [900, want.get('/srv/a')],
      [1, want.get('/srv/b')],
    ]);
  });

  it('bytes given as Buffers and bytes written into the batch hash alike', () => {
    const given: DirPart[] = [];
    const written: DirPart[] = [];
    const a = new DirRuns((p) => given.push(p));
    const b = new DirRuns((p) => written.push(p));
    for (const r of rs) {
      const key = pathToKey(r.path);
      // Mixed: a run whose records come both ways still hashes them in order.
      if (r.size % 3n === 0n) a.add(key, deployBytes(key, r));
      else a.addRecord(key, r, DEPLOY_BYTES);
      b.addRecord(key, r, DEPLOY_BYTES);
    }
    a.flush();
    b.flush();
    const want = expected(rs, deployBytes);
    expect(digests(given)).toEqual([
      [900, want.get('/srv/a')],
      [1, want.get('/srv/b')],
    ]);
    expect(digests(written)).toEqual(digests(given));
  });

  it('refuses a key out of order without hashing it', () => {
    const runs = new DirRuns(() => {});
    const [x, y] = [rs[1]!, rs[0]!];
    runs.addRecord(pathToKey(x.path), x, DEPLOY_BYTES);
    expect(() => runs.addRecord(pathToKey(y.path), y, DEPLOY_BYTES)).toThrow(/out of key order/);
    expect(runs.pending).toBe(1);
  });
});
