/**
 * The attribute table's record fields (src/fields.ts). The root's canonical bytes are pinned to
 * golden values: format 1 to those of the v0.1 encoder, format 2 to its own, since a change in
 * either would make every signed baseline in the field fail its integrity check. (The SQL and
 * journal codecs that read the same table are tested in test/unit/store.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ABSENT, presentValue, UNSUPPORTED } from '../../src/extended/value.js';
import {
  canonicalRecord,
  RECORD_FIELDS,
  readCanonical,
  reviveFinding,
  reviveRecord,
} from '../../src/fields.js';
import { keyToPath } from '../../src/path-key.js';
import { FILE_TYPES, type FileRecord, type Finding } from '../../src/types.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** Any time a kernel timespec holds: 64-bit seconds, so nanoseconds past 64 bits. */
const anyTime = fc
  .tuple(i64, fc.integer({ min: 0, max: 999_999_999 }))
  .map(([s, n]) => s * 1_000_000_000n + BigInt(n));
const taggedArb = fc.option(
  fc.oneof(fc.constant(UNSUPPORTED), fc.constant(ABSENT), bytes(40).map(presentValue)),
  { nil: null },
);
const NEW_FIELDS = { sha256: null, caps: null, acl: null, selinux: null, xattrs: null, flags: null } as const;

const arbRecord: fc.Arbitrary<FileRecord> = fc.record({
  path: bytes(40).map((b) => Buffer.concat([Buffer.from('/'), b])),
  type: fc.constantFrom(...FILE_TYPES),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: u32,
  gid: u32,
  size: u64,
  mtime: fc.oneof(i64, anyTime),
  ctime: fc.oneof(i64, anyTime),
  inode: u64,
  dev: u64,
  nlink: u32,
  target: fc.option(bytes(64), { nil: null }),
  content: fc.option(bytes(32), { nil: null }),
  sha256: fc.option(bytes(32), { nil: null }),
  caps: taggedArb,
  acl: taggedArb,
  selinux: taggedArb,
  xattrs: taggedArb,
  flags: taggedArb,
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
      ...NEW_FIELDS,
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
      ...NEW_FIELDS,
    },
    '00000004002fff0a02000001fffffffffe0000fffe0000fde800000000000000000000000000000000000000000000000100000000000000010000000000000000000000052e2e2f780affffffff',
  ],
];

const keyOf = (r: FileRecord) => Buffer.concat([Buffer.from([0]), r.path]);

/** Format 2: a file past 2262 with SHA-256, a capability, an absent ACL and label, flags. */
const GOLDEN_2: FileRecord = {
  ...GOLDEN[0]![0],
  mtime: 10413792000000000001n, // 2300-01-01T00:00:00.000000001Z
  ctime: -2208988800000000000n, // 1900-01-01
  sha256: Buffer.alloc(32, 0xcd),
  caps: presentValue(Buffer.from('0100000280000000000000000000000000000000', 'hex')),
  acl: ABSENT,
  selinux: ABSENT,
  xattrs: UNSUPPORTED,
  flags: presentValue(Buffer.from('00080010', 'hex')),
};
const GOLDEN_2_HEX =
  '00000012002f7372762f6170702f7461736b732e707900000009ed00000000000003e80000000100000000000004d2' +
  '000000026cb5db0000000001ffffffff7c55818000000000' +
  '80000000000000070000000000000801ffffffff00000020abababababababababababababababababababababababababababababababab' +
  '00000020' +
  'cd'.repeat(32) +
  '00000015020100000280000000000000000000000000000000' +
  '0000000101' +
  '0000000101' +
  '0000000100' +
  '000000050200080010';

describe('reading format 2 canonical bytes back (how a check gets its rows from their reader)', () => {
  it('gives back every stored field and the key, at any offset, and says where the record ends', () => {
    fc.assert(
      fc.property(arbRecord, bytes(30), bytes(20), (r, key, before) => {
        const one = canonicalRecord(key, r, 2);
        const buf = Buffer.concat([before, one, Buffer.from([0xee])]);
        const got = readCanonical(buf, new DataView(buf.buffer, buf.byteOffset, buf.length), before.length);
        expect(got.end).toBe(before.length + one.length);
        expect(got.key.equals(key)).toBe(true);
        expect(got.record).toEqual({ ...r, path: keyToPath(key) });
        // Every field the table stores, and nothing else.
        expect(Object.keys(got.record).sort()).toEqual(['path', ...RECORD_FIELDS.map((f) => f.field)].sort());
      }),
    );
  });

  it('refuses bytes cut short instead of reading past them', () => {
    const r = GOLDEN_2;
    const one = canonicalRecord(keyOf(r), r, 2);
    for (const cut of [2, 10, 30, one.length - 1]) {
      const buf = Buffer.from(one.subarray(0, cut));
      expect(() => readCanonical(buf, new DataView(buf.buffer, buf.byteOffset, buf.length), 0)).toThrow(
        RangeError,
      );
    }
  });
});

describe('canonical record (the bytes every signed root covers)', () => {
  it.each(GOLDEN)('is byte for byte the v0.1 encoding in format 1 (%#)', (r, hex) => {
    expect(canonicalRecord(keyOf(r), r, 1).toString('hex')).toBe(hex);
  });

  it('is byte for byte its own encoding in format 2, times as seconds and nanoseconds', () => {
    expect(canonicalRecord(keyOf(GOLDEN_2), GOLDEN_2, 2).toString('hex')).toBe(GOLDEN_2_HEX);
  });

  it('in format 2 writes a time past 64-bit seconds as 0 s and 0xffffffff ns, which no real time has', () => {
    // The store refuses such a time (row-check.ts); the bytes still must not wrap into a real one.
    const far = {
      ...GOLDEN_2,
      mtime: (1n << 64n) * 1_000_000_000n + 5n,
      ctime: -(1n << 64n) * 1_000_000_000n,
    };
    const hex = canonicalRecord(keyOf(far), far, 2).toString('hex');
    const times = GOLDEN_2_HEX.indexOf('000000026cb5db0000000001ffffffff7c55818000000000');
    expect(hex.slice(times, times + 48)).toBe(`0000000000000000ffffffff`.repeat(2));
    expect(hex.slice(0, times)).toBe(GOLDEN_2_HEX.slice(0, times));
    expect(hex.slice(times + 48)).toBe(GOLDEN_2_HEX.slice(times + 48));
  });

  it('in format 1 leaves out what format 2 added (old baselines verify as they did)', () => {
    const r = GOLDEN[0]![0];
    const more = { ...r, sha256: Buffer.alloc(32), caps: ABSENT, flags: UNSUPPORTED };
    expect(canonicalRecord(keyOf(r), more, 1).toString('hex')).toBe(GOLDEN[0]![1]);
    expect(canonicalRecord(keyOf(r), more, 2).equals(canonicalRecord(keyOf(r), r, 2))).toBe(false);
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

  it('gives a finding its Buffers back: path, record and manifest (the scan worker and a split scan)', () => {
    const record = GOLDEN[1]![0];
    const f: Finding = {
      kind: 'changed',
      path: record.path,
      rule: 'app',
      severity: 'high',
      changes: [],
      record,
      explanation: {
        source: 'pip',
        strength: 'pip-record',
        manifest: Buffer.from('/srv/venv/lib/x.dist-info/RECORD'),
        package: 'x',
        version: '1',
        verdict: 'matches',
        digest: 'sha256',
      },
    };
    const cloned = structuredClone(f);
    expect(Buffer.isBuffer(cloned.path)).toBe(false);
    const back = reviveFinding(cloned);
    expect(Buffer.isBuffer(back.path) && Buffer.isBuffer(back.record.path)).toBe(true);
    expect(Buffer.isBuffer(back.explanation?.manifest)).toBe(true);
    expect(back).toEqual(f);
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
