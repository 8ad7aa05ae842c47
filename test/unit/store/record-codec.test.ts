/**
 * The record codec (src/store/record-codec.ts): any record the scanner can make goes into the record
 * table's columns and comes back equal, through a real SQLite file; a column that does not hold
 * what the codec wrote is refused, naming it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/errors.js';
import { ABSENT, presentValue, UNSUPPORTED } from '../../../src/extended/value.js';
import { pathToKey } from '../../../src/path-key.js';
import { recordFromStat } from '../../../src/scan/record.js';
import { RECORD_COLUMNS, recordToRow, rowToRecord, valuesToRecord } from '../../../src/store/record-codec.js';
import { Store } from '../../../src/store/store.js';
import { FILE_TYPES } from '../../../src/types.js';
import { Sandbox } from '../../helpers/fim.js';
import { inKeyOrder, record, recordArb, recordsArb, writeBaseline } from './fixture.js';

/** The row SQLite gives back for what recordToRow wrote: integers as bigints (safe integers). */
function asStored(r: ReturnType<typeof recordToRow>): Record<string, unknown> {
  return Object.fromEntries(
    RECORD_COLUMNS.map((c, i) => {
      const v = r[i];
      return [c, typeof v === 'number' ? BigInt(v) : v];
    }),
  );
}

describe('record codec', () => {
  it('round-trips any record through a real database: odd bytes, times beyond 2^53, null target and content', async () => {
    await using sb = new Sandbox('fim-store-codec-');
    const s = Store.open(sb.db, { create: true });
    try {
      fc.assert(
        fc.property(recordsArb, (records) => {
          const id = writeBaseline(s, records);
          const back = [...s.records(id)];
          expect(back.map((b) => b.record)).toEqual(inKeyOrder(records));
          for (const b of back) expect(b.key.equals(pathToKey(b.record.path))).toBe(true);
          // Scoped reads go through the same codec.
          const one = records[0];
          if (one) {
            const scoped = [...s.recordsUnderMany(id, [pathToKey(one.path)], 0)];
            expect(scoped[0]?.record).toEqual(one);
          }
        }),
        { numRuns: 150 },
      );
    } finally {
      s.close();
    }
  });

  it('survives the extremes the scanner can produce', async () => {
    await using sb = new Sandbox('fim-store-codec-');
    const s = Store.open(sb.db, { create: true });
    const extremes = [
      record('/', { type: 'dir', mode: 0o7777, content: null }),
      record(Buffer.from([0x2f, 0xff, 0xfe, 0x0a, 0x5c]), {
        uid: 0xffffffff,
        gid: 0,
        nlink: 0xffffffff,
        size: 2n ** 63n - 1n,
        mtime: -(2n ** 63n),
        ctime: 2n ** 53n + 1n,
        inode: 2n ** 63n - 1n,
        dev: 0n,
      }),
      record('/link', { type: 'symlink', target: Buffer.from([0xc3, 0x28]), content: null }),
      record('/unknown', { type: 'unknown', mode: 0, content: null }),
    ];
    const id = writeBaseline(s, extremes);
    expect([...s.records(id)].map((r) => r.record)).toEqual(inKeyOrder(extremes));
    s.close();
  });

  it('encodes each file type as its index in FILE_TYPES (the stored form: changing it breaks old baselines)', () => {
    for (const [i, type] of FILE_TYPES.entries()) {
      expect(recordToRow(record('/x', { type }))[0]).toBe(i);
    }
  });

  it('decodes a stored row to the same record, and nothing else', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        expect(rowToRecord(asStored(recordToRow(r)), pathToKey(r.path))).toEqual(r);
      }),
    );
  });

  // Each case: a column, a value SQLite could hand back for it, what makes it wrong.
  const bad: [string, unknown, string][] = [
    ['type', 8n, 'no such file type'],
    ['type', -1n, 'no such file type'],
    ['mode', 0o10000n, 'file-type bits in the mode'],
    ['mode', '0644', 'text'],
    ['uid', 2n ** 32n, 'beyond 32 bits'],
    ['gid', -1n, 'negative'],
    ['size', -5n, 'negative size'],
    ['size', 5, 'a real, not an integer (with safe integers every INTEGER is a bigint)'],
    ['mtime', null, 'NULL'],
    ['ctime', Buffer.from('x'), 'a blob'],
    ['inode', 1.5, 'a real'],
    // A time too far from 1970 for 64-bit nanoseconds is 12 bytes; any other blob is not a time,
    // and a time that fits has only the integer form.
    ['mtime', Buffer.alloc(12), 'the 12-byte form of a time that fits in 64 bits'],
    ['mtime', Buffer.from('0000000000000001ffffffff', 'hex'), 'nanoseconds past a second'],
    ['caps', Buffer.from([3]), 'an unknown tag'],
    ['caps', Buffer.from([1]), '"absent" as a blob (its one form is the integer 1)'],
    ['selinux', 2n, 'an integer that is no tag'],
    ['flags', Buffer.from([1, 0]), 'an absent tag with bytes after it'],
    ['acl', Buffer.alloc(0), 'an empty blob'],
    ['sha256', Buffer.alloc(31), 'a SHA-256 one byte short'],
    ['dev', 'sda1', 'text'],
    ['nlink', 1.5, 'a real'],
    ['target', 'abc', 'text, not a blob'],
    ['target', Buffer.alloc(0), 'an empty target'],
    ['content', Buffer.alloc(31), 'a hash one byte short'],
    ['content', Buffer.alloc(64), 'a hash of the wrong length'],
    ['content', 'ab'.repeat(32), 'hex text, not a blob'],
  ];
  it('reads a negative inode or device as the 64-bit number it stands for (SQLite integers are signed)', () => {
    const r = record('/srv/app/x.py', { inode: (1n << 64n) - 1n, dev: 1n << 63n });
    const row = asStored(recordToRow(r));
    expect(row.inode).toBe(-1n);
    expect(rowToRecord(row, pathToKey(r.path))).toEqual(r);
  });

  it('stores "unsupported" and "absent" as the integers 0 and 1 (no Buffer per row), present values as blobs', () => {
    const r = record('/srv/app/x.py', {
      caps: ABSENT,
      acl: UNSUPPORTED,
      flags: presentValue(Buffer.from('00080000', 'hex')),
    });
    const row = asStored(recordToRow(r));
    expect([row.caps, row.acl]).toEqual([1n, 0n]);
    expect(Buffer.isBuffer(row.flags)).toBe(true);
    expect(rowToRecord(row, pathToKey(r.path))).toEqual(r);
  });

  it('stores a time past 2262 or before 1677 as 12 bytes and reads it back exactly', () => {
    for (const t of [10413792000000000001n, -9999999999999000000000n, 67767976233316800000000000n]) {
      const r = record('/srv/app/x.py', { mtime: t, ctime: -t });
      const row = asStored(recordToRow(r));
      expect(Buffer.isBuffer(row.mtime) && (row.mtime as Buffer).length).toBe(12);
      expect(rowToRecord(row, pathToKey(r.path))).toEqual(r);
    }
  });

  it('decodes a row read as an array (after its name) to what the object form gives, in the scanner field order', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        const stored = asStored(recordToRow(r));
        const values = [Buffer.from('name'), ...RECORD_COLUMNS.map((c) => stored[c])];
        const got = valuesToRecord(values, 1, pathToKey(r.path));
        expect(got).toEqual(rowToRecord(stored, pathToKey(r.path)));
        // One hidden class for records scanned and records read back (record-codec.ts).
        const st = {
          type: 'file',
          mode: 0,
          uid: 0,
          gid: 0,
          nlink: 1,
          size: 0n,
          mtimeNs: 0n,
          ctimeNs: 0n,
          ino: 1n,
          dev: 1n,
        } as const;
        expect(Object.keys(got)).toEqual(Object.keys(recordFromStat(r.path, st)));
      }),
    );
    expect(() => valuesToRecord([Buffer.from('n')], 1, pathToKey(Buffer.from('/a')))).toThrow(StorageError);
  });

  for (const [column, value, why] of bad) {
    it(`refuses ${column} = ${String(value)} in a row read as an array, naming the column`, () => {
      const r = record('/srv/app/x.py');
      const stored = { ...asStored(recordToRow(r)), [column]: value };
      const values = [Buffer.from('x.py'), ...RECORD_COLUMNS.map((c) => stored[c])];
      expect(() => valuesToRecord(values, 1, pathToKey(r.path))).toThrow(
        `table record, column ${column} (path /srv/app/x.py)`,
      );
    });
    it(`refuses ${column} = ${String(value)} (${why}), naming the column and the path`, () => {
      const r = record('/srv/app/x.py');
      const row = { ...asStored(recordToRow(r)), [column]: value };
      let thrown: unknown;
      try {
        rowToRecord(row, pathToKey(r.path), { file: '/var/lib/fim/fim.db', table: 'record' });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(StorageError);
      const msg = (thrown as Error).message;
      expect(msg).toContain(`table record, column ${column} (path /srv/app/x.py)`);
      expect(msg).toContain('/var/lib/fim/fim.db');
      expect(msg).toMatch(/restore the database from backup or run "fim baseline"/);
    });
  }
});
