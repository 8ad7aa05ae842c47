/**
 * The attribute table's record fields. The root's canonical bytes are pinned to golden values made
 * by the v0.1 encoder: a change there would make every signed baseline in the field fail its
 * integrity check. (The SQL and journal codecs that read the same table are tested in
 * test/unit/store.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRecord, RECORD_FIELDS, reviveRecord } from '../../src/attributes.js';
import { FILE_TYPES, type FileRecord } from '../../src/types.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const arbRecord: fc.Arbitrary<FileRecord> = fc.record({
  path: bytes(40).map((b) => Buffer.concat([Buffer.from('/'), b])),
  type: fc.constantFrom(...FILE_TYPES),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: u32,
  gid: u32,
  size: u64,
  mtime: i64,
  ctime: i64,
  inode: u64,
  dev: u64,
  nlink: u32,
  target: fc.option(bytes(64), { nil: null }),
  content: fc.option(bytes(32), { nil: null }),
});

const GOLDEN: ReadonlyArray<readonly [FileRecord, string]> = [
  [
    {
      path: Buffer.from('/srv/app/tasks.py'),
      type: 'file',
      mode: 0o4755,
      uid: 0,
      gid: 1000,
      size: 1234n,
      mtime: 1764547200123456789n,
      ctime: -5n,
      inode: (1n << 63n) + 7n,
      dev: 2049n,
      nlink: 1,
      target: null,
      content: Buffer.alloc(32, 0xab),
    },
    '00000012002f7372762f6170702f7461736b732e707900000009ed00000000000003e80000000100000000000004d2187cee545cc4cd15fffffffffffffffb80000000000000070000000000000801ffffffff00000020abababababababababababababababababababababababababababababababab',
  ],
  [
    {
      path: Buffer.from([0x2f, 0xff, 0x0a]),
      type: 'symlink',
      mode: 0o777,
      uid: 4294967294,
      gid: 65534,
      size: 0n,
      mtime: 0n,
      ctime: 1n,
      inode: 1n,
      dev: 0n,
      nlink: 65000,
      target: Buffer.from('../x\n'),
      content: null,
    },
    '00000004002fff0a02000001fffffffffe0000fffe0000fde800000000000000000000000000000000000000000000000100000000000000010000000000000000000000052e2e2f780affffffff',
  ],
];

const keyOf = (r: FileRecord) => Buffer.concat([Buffer.from([0]), r.path]);

describe('canonical record (the bytes every signed root covers)', () => {
  it.each(GOLDEN)('is byte for byte the v0.1 encoding (%#)', (r, hex) => {
    expect(canonicalRecord(keyOf(r), r).toString('hex')).toBe(hex);
  });

  it('differs whenever any stored field differs', () => {
    fc.assert(
      fc.property(arbRecord, arbRecord, (a, b) => {
        const same = RECORD_FIELDS.every((f) => {
          const x = a[f.field];
          const y = b[f.field];
          return Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
        });
        const k = keyOf(a);
        expect(canonicalRecord(k, a).equals(canonicalRecord(k, b))).toBe(same);
      }),
    );
  });
});

describe('the worker revive', () => {
  it('gives Buffers back after a structured clone', () => {
    const r = GOLDEN[1]![0];
    const cloned = reviveRecord(structuredClone(r));
    expect(Buffer.isBuffer(cloned.path) && Buffer.isBuffer(cloned.target)).toBe(true);
    expect(cloned).toEqual(r);
  });
});

describe('the table', () => {
  it('stores every field of a FileRecord but the path and the growing prefix, once', () => {
    const sample = GOLDEN[0]![0];
    const stored = Object.keys(sample).filter((k) => k !== 'path' && k !== 'prefix');
    expect(RECORD_FIELDS.map((f) => f.field).sort()).toEqual(stored.sort());
    for (const key of ['column', 'json'] as const)
      expect(new Set(RECORD_FIELDS.map((f) => f[key])).size).toBe(RECORD_FIELDS.length);
  });
});
