/**
 * The stored fields of a FileRecord, the second half of the attribute table (src/attributes.ts
 * holds the checkable attributes): each field's database column, its key in the journal's JSON, and
 * its kind, which fixes its codecs (SQL, JSON, the root's canonical bytes, the scan worker's
 * structured clone). The store, the root, the journal and the scan worker read records only
 * through this list and the codecs below.
 */
import { isTagged } from './extended/value.js';
import { splitTime } from './ns-time.js';
import { FILE_TYPES, type FileRecord, type FileType, type Finding } from './types.js';

/** The fields of a FileRecord that are stored (the path is the key; `prefix` is never stored). */
export type RecordField = Exclude<keyof FileRecord, 'path' | 'prefix'>;

/**
 * How a field is stored, which fixes its codecs: `type` a small integer code (its index in
 * FILE_TYPES), `u32` an unsigned 32-bit number, `u64` a 64-bit unsigned integer held as a bigint,
 * `time` nanoseconds since the epoch as a bigint of any size (a file system stores times from
 * before 1901 to past 2446, and tmpfs far beyond: nanoseconds then exceed 64 bits), `bytes` a byte
 * string or null.
 */
export type FieldKind = 'type' | 'u32' | 'u64' | 'time' | 'bytes';

export interface FieldSpec {
  field: RecordField;
  /** Column of the `record` table. */
  column: string;
  /** Key in the journal's JSON encoding of a record (store/record-blob.ts). */
  json: string;
  kind: FieldKind;
  /** `u32` and `u64` fields: the largest valid value, when less than the kind's own. */
  max?: bigint;
  /**
   * `bytes` fields: an exact length or a minimum, whether it is a tagged value
   * (src/extended/value.ts), and how the journal's JSON writes them.
   */
  bytes?: { length?: number; min?: number; tagged?: true; json: 'hex' | 'base64' };
  /** The first root format whose canonical bytes hold this field (absent: all of them). */
  since?: RootFormat;
}

/**
 * Root formats: 1 is v0.1's (twelve fields, times as signed 64-bit nanoseconds); 2 adds SHA-256,
 * capabilities, ACLs, the SELinux label, other xattrs and inode flags, and writes times as 64-bit
 * seconds plus 32-bit nanoseconds, so no year is out of range. A baseline keeps the format its root
 * was made in, and is verified in it. Format 3 has format 2's fields and canonical bytes, hashed
 * by directory (store/root.ts, store/dir-parts.ts): a scan split over threads hashes where it reads.
 */
export type RootFormat = 1 | 2 | 3;
export const ROOT_FORMAT: RootFormat = 3;
export const ROOT_FORMATS: readonly RootFormat[] = [1, 2, 3];

const tagged = { min: 1, tagged: true, json: 'base64' } as const;

/**
 * Every stored field, in the order of the baseline root's canonical form (canonicalRecord below).
 * That order is part of every signed root: a new field goes at the end, never in between, in a new
 * root format. The store (columns, store/record-codec.ts), the journal (JSON, store/record-blob.ts),
 * the root and the scan worker (reviveRecord) read records only through this list.
 */
export const RECORD_FIELDS: readonly FieldSpec[] = [
  { field: 'type', column: 'type', json: 't', kind: 'type' },
  // All 12 permission bits, never the file type's bits (the scan masks them off).
  { field: 'mode', column: 'mode', json: 'm', kind: 'u32', max: 0o7777n },
  { field: 'uid', column: 'uid', json: 'u', kind: 'u32' },
  { field: 'gid', column: 'gid', json: 'g', kind: 'u32' },
  { field: 'nlink', column: 'nlink', json: 'n', kind: 'u32' },
  // loff_t is signed: no size reaches 2^63. Inode and device numbers may use all 64 bits.
  { field: 'size', column: 'size', json: 's', kind: 'u64', max: (1n << 63n) - 1n },
  { field: 'mtime', column: 'mtime', json: 'mt', kind: 'time' },
  { field: 'ctime', column: 'ctime', json: 'ct', kind: 'time' },
  { field: 'inode', column: 'inode', json: 'i', kind: 'u64' },
  { field: 'dev', column: 'dev', json: 'd', kind: 'u64' },
  // readlink never returns an empty target.
  { field: 'target', column: 'target', json: 'l', kind: 'bytes', bytes: { min: 1, json: 'base64' } },
  // BLAKE3-256.
  { field: 'content', column: 'content', json: 'c', kind: 'bytes', bytes: { length: 32, json: 'hex' } },
  {
    field: 'sha256',
    column: 'sha256',
    json: 'h',
    kind: 'bytes',
    bytes: { length: 32, json: 'hex' },
    since: 2,
  },
  { field: 'caps', column: 'caps', json: 'cp', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'acl', column: 'acl', json: 'al', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'selinux', column: 'selinux', json: 'se', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'xattrs', column: 'xattrs', json: 'xa', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'flags', column: 'flags', json: 'fl', kind: 'bytes', bytes: tagged, since: 2 },
];

/** True when a stored byte string is well formed for its field (tagged values checked). */
export function bytesFieldValid(f: FieldSpec, b: Buffer): boolean {
  return !f.bytes?.tagged || isTagged(b);
}

const U32_MAX = 0xffff_ffff;
const FIELDS_OF: ReadonlyMap<RootFormat, readonly FieldSpec[]> = new Map(
  ROOT_FORMATS.map((v) => [v, RECORD_FIELDS.filter((f) => (f.since ?? 1) <= v)]),
);
const FIXED_BYTES: Record<Exclude<FieldKind, 'bytes' | 'time'>, number> = { type: 1, u32: 4, u64: 8 };

/**
 * The root's canonical bytes of one record in a root format: the key, length-prefixed, then each
 * field of that format in RECORD_FIELDS order: fixed-width big-endian integers, times (format 1:
 * signed 64-bit nanoseconds; format 2: signed 64-bit seconds and 32-bit nanoseconds), and byte
 * strings prefixed by their length (0xffffffff for null).
 */
export function canonicalRecord(key: Buffer, r: FileRecord, format: RootFormat = ROOT_FORMAT): Buffer {
  const fields = FIELDS_OF.get(format) ?? RECORD_FIELDS;
  const timeBytes = format === 1 ? 8 : 12;
  let size = 4 + key.length;
  for (const f of fields) {
    if (f.kind === 'bytes') size += 4 + ((r[f.field] as Buffer | null)?.length ?? 0);
    else size += f.kind === 'time' ? timeBytes : FIXED_BYTES[f.kind];
  }
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt32BE(key.length, 0);
  o += key.copy(out, o);
  for (const f of fields) {
    const v = r[f.field];
    switch (f.kind) {
      case 'type':
        o = out.writeUInt8(FILE_TYPES.indexOf(v as FileType) & 0xff, o);
        break;
      case 'u32':
        o = out.writeUInt32BE((v as number) >>> 0, o);
        break;
      case 'u64':
        o = out.writeBigUInt64BE(BigInt.asUintN(64, v as bigint), o);
        break;
      case 'time': {
        if (format === 1) {
          o = out.writeBigInt64BE(BigInt.asIntN(64, v as bigint), o);
          break;
        }
        // Times come from a kernel timespec (64-bit seconds); the store refuses anything else.
        const t = splitTime(v as bigint) ?? { sec: 0n, nsec: U32_MAX };
        o = out.writeBigInt64BE(t.sec, o);
        o = out.writeUInt32BE(t.nsec, o);
        break;
      }
      case 'bytes': {
        const b = v as Buffer | null;
        o = out.writeUInt32BE(b === null ? U32_MAX : b.length, o);
        if (b !== null) o += b.copy(out, o);
        break;
      }
    }
  }
  return out;
}

// Structured clone (worker threads) turns a Buffer into a plain Uint8Array: wrap it back, no copy.
export const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Restore the Buffers of a record that crossed a worker boundary. */
export function reviveRecord(r: FileRecord): FileRecord {
  r.path = asBuffer(r.path);
  for (const f of RECORD_FIELDS) {
    if (f.kind !== 'bytes') continue;
    const v = r[f.field] as Uint8Array | null;
    (r as unknown as Record<string, unknown>)[f.field] = v === null ? null : asBuffer(v);
  }
  if (r.prefix) r.prefix = { length: r.prefix.length, hash: asBuffer(r.prefix.hash) };
  return r;
}

/** Restore the Buffers of a finding that crossed a worker boundary (its path, record, manifest). */
export function reviveFinding(f: Finding): Finding {
  f.path = asBuffer(f.path);
  reviveRecord(f.record);
  if (f.explanation) f.explanation.manifest = asBuffer(f.explanation.manifest);
  return f;
}
